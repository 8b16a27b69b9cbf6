"""Styled error pages; a database outage becomes a 503 page, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from dap.api.problems import ApiError, is_api_request, problem_response
from dap.extensions import db, login_manager

log = logging.getLogger(__name__)

TITLES = {
    400: "That request did not make sense",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    413: "That upload is too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "DAP is unavailable for a moment",
}


def _forget_user() -> None:
    """Render the page as for a signed-out visitor: Flask-Login's template context would
    otherwise try to load the user from the database that has just failed."""
    g._login_user = login_manager.anonymous_user()


def _render(code: int, message: str | None = None):
    if request_ctx.url_adapter is None:
        # The Host header was not one we serve (TRUSTED_HOSTS): no URL can be built, and
        # nothing from the forged host may be echoed back.
        return f"{TITLES.get(code, 'Error')}\n", code, {"Content-Type": "text/plain; charset=utf-8"}
    template = f"errors/{code}.html" if code in {400, 403, 404, 429, 500, 503} else "errors/generic.html"
    return render_template(template, code=code, title=TITLES.get(code, "Error"),
                           message=message), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(400, "The form had expired or was sent from somewhere else. "
                            "Go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400 or error.response is not None:
            return error
        # A description given to abort() is meant for the reader; Werkzeug's stock one is not.
        custom = error.description if error.description != type(error).description else None
        if is_api_request():
            return _api_problem(error, custom)
        response = _render(error.code, custom)
        if error.code == 429:
            return response[0], 429
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(error: Exception):
        log.error("database error on %s %s: %s", request.method, request.path, error)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the database is already failing; keep the 503
            log.debug("rollback after database error failed", exc_info=True)
        _forget_user()
        if is_api_request():
            return problem_response(ApiError(503, headers={"Retry-After": "30"}))
        return render_template("errors/503.html", code=503, title=TITLES[503],
                               message=None, skip_db=True), 503, {"Retry-After": "30"}

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            log.debug("rollback after error failed", exc_info=True)
        _forget_user()
        if is_api_request():
            return problem_response(ApiError(500))
        return render_template("errors/500.html", code=500, title=TITLES[500], message=None,
                               skip_db=True), 500


def _api_problem(error: HTTPException, detail: str | None):
    """An HTTP error on an API path, as problem details (with its ``Allow`` or
    ``Retry-After``)."""
    headers = {}
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    code = None
    if error.code == 401 and request.path.startswith("/sync/"):  # a device's queue waits
        code, detail = "signed_out", "Sign in again to send what is waiting on this device."
    return problem_response(ApiError(error.code, code, detail=detail, headers=headers))
