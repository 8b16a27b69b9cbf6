"""Audit: who changed memberships, invitations, roles and records, and when."""
