"""Larger request bodies for the few routes that take uploads.

``DAP_MAX_UPLOAD_MB`` (``MAX_CONTENT_LENGTH``) caps every request. A view that takes files
raises its own cap with ``@allows_upload(bytes)``; ``apply_upload_limit`` runs before any
other ``before_request`` hook (CSRF protection reads the form), so the body is measured
against the view's cap, and a larger one gets 413 before it is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request

F = TypeVar("F", bound=Callable)


def allows_upload(max_bytes: int) -> Callable[[F], F]:
    """Let this view take a request body of up to ``max_bytes``. Innermost decorator: the
    outer ones copy the mark with ``functools.wraps``."""
    def mark(view: F) -> F:
        view.max_content_length = max_bytes  # type: ignore[attr-defined]
        return view
    return mark


def apply_upload_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_content_length", None)
    if limit:
        request.max_content_length = max(limit, current_app.config["MAX_CONTENT_LENGTH"] or 0)
