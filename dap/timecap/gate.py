"""The cap at the door: every request of a measured participant counts as a beat, and when
this week's allowance is used up, pages send them out to Explore.

Views that stay open while capped declare it with ``@allowed_when_capped``: logging web
time, Explore itself, account and privacy pages, signing out (and, as they land,
nudges, workshop and 1:1 pages). POSTs are never turned away — the form was loaded while
allowed, and what was typed is not lost; the page after it is Explore.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, jsonify, redirect, request, url_for
from flask_login import current_user

from dap.extensions import db
from dap.timecap import services

F = TypeVar("F", bound=Callable[..., Any])
ALLOWED_ATTR = "_dap_allowed_when_capped"
NOT_A_PAGE_ATTR = "_dap_not_a_page"
#: endpoints that are not pages of the platform
NOT_PAGES = frozenset({"static", "core.healthz"})


def allowed_when_capped(view: F) -> F:
    """Mark a view as open to participants who have used this week's platform time."""
    setattr(view, ALLOWED_ATTR, True)
    return view


def not_a_page(view: F) -> F:
    """Mark a view whose answers are parts of pages (a photo, say), not pages: requesting
    one is no beat, and it is served while capped (the page holding it was allowed)."""
    setattr(view, NOT_A_PAGE_ATTR, True)
    return view


def no_beat() -> None:
    """This request is no time spent on the platform, whatever it asks for (a device
    fetching a page in the background to keep it for offline use)."""
    g.timecap_no_beat = True


def is_a_page(endpoint: str | None) -> bool:
    if endpoint is None or endpoint in NOT_PAGES:
        return False
    return not getattr(current_app.view_functions.get(endpoint), NOT_A_PAGE_ATTR, False)


def is_allowed_when_capped(endpoint: str | None) -> bool:
    if not is_a_page(endpoint):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, ALLOWED_ATTR, False))


def current_measured() -> services.Measured | None:
    """Who the signed-in person is measured as (memoised per request), or None."""
    if "timecap_measured" not in g:
        found = services.measured(current_user) if current_user.is_authenticated else None
        g.timecap_measured = found
        g.timecap_user_id = current_user.id if found is not None else None
    return g.timecap_measured


def current_balance() -> services.Balance | None:
    """This week's balance of the signed-in participant (memoised per request), or None
    for anyone who is not measured."""
    if "timecap_balance" not in g:
        found = current_measured()
        g.timecap_balance = (services.balance(g.timecap_user_id, found.cohort, exempt=found.exempt)
                             if found is not None else None)
    return g.timecap_balance


def _wants_json() -> bool:
    """Scripts and API clients get an answer they can read, not a redirect."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.path.startswith("/api/") or best == "application/json"


def cap_reached_problem(found: services.Balance):
    """RFC 9457 problem details with the stable code ``platform_cap_reached`` (403)."""
    body = {
        "type": "about:blank", "title": "This week's platform time is used up",
        "status": 403, "code": "platform_cap_reached",
        "detail": "Spend some time learning on the wider web and log it: that opens DAP again.",
        "platform_minutes": found.platform_minutes, "allowance_minutes": found.allowance_minutes,
        "web_minutes": found.web_minutes, "explore_url": url_for("timecap.explore"),
        "log_url": url_for("timecap.log"),
    }
    response = jsonify(body)
    response.status_code = 403
    response.mimetype = "application/problem+json"
    return response


def register(app: Flask) -> None:
    @app.before_request
    def send_out_when_capped():
        if not is_a_page(request.endpoint) or request.endpoint == "timecap.heartbeat":
            return None  # the heartbeat measures and answers for itself
        found = current_balance()
        if found is None or not found.capped or request.method not in ("GET", "HEAD"):
            return None
        if is_allowed_when_capped(request.endpoint):
            return None
        if _wants_json():
            return cap_reached_problem(found)
        return redirect(url_for("timecap.explore"), code=303)

    @app.after_request
    def count_the_request(response):
        """A page request is a beat (the heartbeat counts its own). Whatever the view left
        uncommitted is its choice not to keep, so it is rolled back first."""
        measured = g.get("timecap_measured")
        if (measured is not None and is_a_page(request.endpoint)
                and request.endpoint != "timecap.heartbeat" and response.status_code < 500
                and not g.get("timecap_no_beat")):
            db.session.rollback()
            services.beat(g.timecap_user_id, measured.cohort)
            db.session.commit()
        return response

    @app.context_processor
    def time_meter() -> dict[str, Any]:
        if not has_request_context():  # emails rendered by jobs and the CLI
            return {"time_meter": None, "capped_ok": True}
        return {"time_meter": g.get("timecap_balance"),
                "capped_ok": is_allowed_when_capped(request.endpoint)}
