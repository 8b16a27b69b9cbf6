"""Accounts: users, sign-in, sessions, password reset, profile."""
