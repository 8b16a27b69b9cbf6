"""The JSON API, version 1 (``/api/v1``): personal access tokens, the same services as the
web pages, problem details for errors, and an OpenAPI document generated from the code.
See docs/API.md."""

from __future__ import annotations

from flask import Blueprint


def blueprint() -> Blueprint:
    """The API blueprint with every view module's routes on it."""
    from dap.api import (  # noqa: F401 - they add their routes
        event_views,
        notification_views,
        patron_views,
        plan_views,
        time_views,
        views,
    )
    from dap.api.routing import bp

    return bp
