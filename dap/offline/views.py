"""The offline routes (see the package docstring and docs/OFFLINE.md).

None of them is a page of the platform: fetching them is no platform time, and they answer
while the time cap is reached. A device sends what it queued offline whatever the cap
says (it was made away from DAP); the answer carries this week's figures, so the page can
say when the cap is reached.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from pydantic import AwareDatetime

from dap import policy
from dap.api import idempotency, schemas
from dap.api.plan_views import add_check_in
from dap.api.problems import ApiError, problem_response
from dap.api.routing import Reply, parse_body, respond
from dap.api.time_views import log_web_time
from dap.clock import local_date, now_utc
from dap.offline import services
from dap.plans.services import validate_made_at
from dap.timecap import gate
from dap.timecap.gate import not_a_page
from dap.timecap.services import CapRules

bp = Blueprint("offline", __name__)

#: pages a participant may read offline: their own plan, their goals, a library goal and
#: the web-time log (its form queues an entry offline)
KEPT_PAGES = frozenset({"plans.plan", "plans.goal", "library.goal", "timecap.log"})
KEEP_HEADER = "DAP-Offline"

MANIFEST = {
    "name": "DAP · Digital Action Plan",
    "short_name": "DAP",
    "description": "Your Digital Action Plan: little and often, online and offline.",
    "lang": "en-GB",
    "start_url": "/?source=home-screen",
    "scope": "/",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#1d4ed8",
}
ICONS = (("icons/icon-192.png", "192x192", "any"), ("icons/icon-512.png", "512x512", "any"),
         ("icons/icon-maskable-512.png", "512x512", "maskable"))


@bp.before_app_request
def background_fetch() -> None:
    """The service worker refreshing a kept page (``DAP-Offline: fetch``) is nobody reading
    it: no platform time, and a message waiting to be read once stays for the next page the
    person opens."""
    if request.headers.get(KEEP_HEADER) == "fetch":
        gate.no_beat()
        request_ctx.flashes = []


@bp.after_app_request
def keep_for_offline(response: Response) -> Response:
    """Mark a page the service worker may keep: one of ``KEPT_PAGES``, a signed-in person's
    own (not someone else's plan), plain (no query string) and without a message that was
    meant to be read once."""
    if (request.endpoint in KEPT_PAGES and request.method == "GET"
            and response.status_code == 200 and response.mimetype == "text/html"
            and not request.args and (request.view_args or {}).get("membership_id") is None
            and not getattr(request_ctx, "flashes", None)
            and current_user.is_authenticated):
        response.headers[KEEP_HEADER] = "keep"
    return response


# --- installing ---------------------------------------------------------------------------


@bp.get("/sw.js")
@policy.public
@not_a_page
def service_worker():
    """The service worker, from the root so that its scope is every page."""
    response = send_from_directory(current_app.static_folder, "js/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
@policy.public
@not_a_page
def manifest():
    document = dict(MANIFEST, icons=[
        {"src": url_for("static", filename=src), "sizes": sizes, "type": "image/png",
         "purpose": purpose} for src, sizes, purpose in ICONS])
    response = jsonify(document)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
@policy.public
@not_a_page
def offline_page():
    """What the service worker shows for a page it has not kept. Kept by every device, so
    it names nobody."""
    return render_template("offline/page.html", skip_db=True, offline_page=True)


# --- syncing ------------------------------------------------------------------------------


class QueuedCheckIn(schemas.CheckInCreate):
    """A check-in made offline: when it was made (with its UTC offset)."""

    made_at: AwareDatetime


class QueuedWebActivity(schemas.WebActivityCreate):
    """Web time logged offline: when it was logged (the day, when none is given)."""

    made_at: AwareDatetime


def _figures() -> dict[str, Any] | None:
    found = gate.current_balance()
    return found.figures() if found is not None else None


def _key() -> str:
    key = idempotency.presented_key()
    if key is None:
        raise ApiError(428, "idempotency_key_required", "Send each queued entry with an "
                       "Idempotency-Key (its own UUID), so a retry never saves it twice.",
                       title="An Idempotency-Key is required")
    return key


@bp.get("/sync/state")
@policy.signed_in_json
@not_a_page
def state():
    """What a device needs before sending its queue: who is signed in, a fresh CSRF token,
    the pages to keep for offline use and this week's figures."""
    response = jsonify(
        user=current_user.id, csrf_token=generate_csrf(),
        participant=gate.current_measured() is not None,
        keep=services.kept_urls(current_user.id), balance=_figures(),
        server_time=now_utc().isoformat())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/sync/check-ins")
@policy.signed_in_json
@not_a_page
def sync_check_in():
    key = _key()
    body = parse_body(QueuedCheckIn)
    missing = ApiError(404, "goal_not_found", "This goal is no longer in your plan (it was "
                       "removed, or the plan is not yours).")

    def call() -> Reply:
        entry = add_check_in(body, missing=missing, at=body.made_at)
        return Reply({"id": entry.id, "goal_id": entry.goal_id, "goal_title": entry.goal.title,
                      "made_at": entry.created_at.isoformat(),
                      "local_date": entry.local_date.isoformat(), "balance": _figures()}, 201)

    return respond(call, status=201, fields={}, write=True, key=key,
                   user_id=current_user.id)


@bp.post("/sync/web-activities")
@policy.signed_in_json
@not_a_page
def sync_web_activity():
    key = _key()
    body = parse_body(QueuedWebActivity)

    def made_on(cohort: CapRules) -> date:
        return local_date(validate_made_at(body.made_at, cohort), cohort.timezone)

    def call() -> Reply:
        activity = log_web_time(body, day=made_on)
        return Reply({"id": activity.id, "title": activity.title, "minutes": activity.minutes,
                      "day": activity.local_date.isoformat(), "balance": _figures()}, 201)

    return respond(call, status=201, fields={"goal": "goal_id"}, write=True, key=key,
                   user_id=current_user.id)


# --- errors: problem details, for the device's script ---------------------------------------


@bp.errorhandler(ApiError)
def sync_problem(error: ApiError) -> Response:
    return problem_response(error)


@bp.errorhandler(CSRFError)
def sync_csrf_failed(error: CSRFError) -> Response:
    return problem_response(ApiError(400, "csrf_failed", "The page's security token has "
                                     "expired: fetch /sync/state for a new one."))
