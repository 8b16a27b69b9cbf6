"""Outgoing webhooks: organisations subscribe their own tools to a cohort's events."""
