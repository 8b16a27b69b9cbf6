"""Nudges and messaging: the email outbox (nudges, notifications and preferences grow here)."""
