"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_login import current_user

from dap import policy


def localtime(value: datetime | None, tz: str | None = None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """Format an aware datetime in ``tz`` (default: the signed-in user's time zone)."""
    if value is None:
        return ""
    zone_name = tz or (current_user.timezone if current_user.is_authenticated else "Europe/London")
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime(fmt)


def unread_count(user) -> int:
    """The header's unread-notification count (one query per page, signed in only)."""
    from dap.nudges.notify import unread_count as count  # local: nudges imports models

    return count(user)


def register(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["roles_of"] = policy.roles_of
    app.jinja_env.globals["unread_count"] = unread_count
    app.jinja_env.globals["is_admin"] = policy.is_admin
    app.jinja_env.globals["is_facilitator"] = policy.is_facilitator
    app.jinja_env.globals["request_id"] = lambda: g.get("request_id", "")
