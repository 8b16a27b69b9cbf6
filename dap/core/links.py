"""Absolute links for emails and calendars: always from ``DAP_BASE_URL``, never from the
request's Host header (which a client chooses)."""

from __future__ import annotations

from flask import current_app


def base_url() -> str:
    """The public address, without a trailing slash."""
    return current_app.config["BASE_URL"].rstrip("/")
