"""Errors as RFC 9457 problem details (``application/problem+json``) with stable codes.

Every error the API gives has ``type``, ``title``, ``status``, ``code`` (stable: clients
branch on it) and usually ``detail``; validation errors list each field in ``errors``.
The codes are listed in docs/API.md.
"""

from __future__ import annotations

from typing import Any

from flask import Response, json, request

PROBLEM_TYPE = "about:blank"
MIMETYPE = "application/problem+json"

#: the stable code and title for an HTTP status that has no more specific code
BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be read"),
    401: ("unauthenticated", "A valid token is needed"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("too_large", "The request is too large"),
    415: ("unsupported_media_type", "Send JSON"),
    422: ("validation_failed", "Some values were not accepted"),
    429: ("rate_limited", "Too many requests"),
    500: ("server_error", "Something went wrong on our side"),
    503: ("unavailable", "DAP is unavailable for a moment"),
}


class ApiError(Exception):
    """An error to answer as problem details. ``extra`` members are added to the body
    (``errors`` for validation); ``headers`` to the response."""

    def __init__(self, status: int, code: str | None = None, detail: str | None = None, *,
                 title: str | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        default_code, default_title = BY_STATUS.get(status, ("error", "Error"))
        super().__init__(detail or title or default_title)
        self.status = status
        self.code = code or default_code
        self.title = title or default_title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE, "title": error.title, "status": error.status,
                            "code": error.code}
    if error.detail:
        body["detail"] = error.detail
    body.update(error.extra)
    response = Response(json.dumps(body), status=error.status, mimetype=MIMETYPE)
    response.headers.update(error.headers)
    return response


def problem(status: int, code: str | None = None, detail: str | None = None,
            **extra: Any) -> Response:
    return problem_response(ApiError(status, code, detail, **extra))


def field_error(field: str, message: str, code: str = "invalid") -> dict[str, str]:
    """One entry of a validation problem's ``errors``."""
    return {"field": field, "message": message, "code": code}


def validation_failed(errors: list[dict[str, str]], detail: str | None = None) -> ApiError:
    return ApiError(422, "validation_failed",
                    detail or "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                    errors=errors)


def is_api_request() -> bool:
    """Whether this request is for the API or a device's offline sync (errors answer as
    problem details)."""
    return (request.path == "/api" or request.path.startswith("/api/")
            or request.path.startswith("/sync/"))
