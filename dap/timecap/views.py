"""The participant's side of the cap: the heartbeat, Explore, logging web time."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from dap import policy
from dap.clock import local_date, now_utc
from dap.content.library import current_library
from dap.core.forms import ConfirmForm, attempt
from dap.extensions import csrf, db
from dap.plans import queries as plan_queries
from dap.plans.models import GoalStatus
from dap.timecap import services
from dap.timecap.forms import WebActivityForm
from dap.timecap.gate import allowed_when_capped, current_balance, current_measured
from dap.timecap.models import ActivityKind, WebActivity

bp = Blueprint("timecap", __name__)


def _measured_or_404() -> services.Measured:
    """Only measured participants have platform time to balance."""
    found = current_measured()
    if found is None:
        abort(404)
    return found


@bp.post("/time/heartbeat")
@csrf.exempt  # checked below, after the session: signed out is a 401 before a 400
@policy.signed_in_lean
@allowed_when_capped
def heartbeat():
    """A visible page's beat (every 30 s). Answers this week's figures so the meter keeps
    up, and whether the participant is now capped. Not measured: 204, nothing stored.

    The hottest request there is: it does not load the user. Its first statement checks
    the session as the user loader would, and finds the cohort whose cap applies."""
    csrf.protect()
    try:
        figures = services.heartbeat(policy.session_identity())
    except services.SessionEndedError:
        abort(401)
    if figures is None:
        return "", 204
    return jsonify(**figures.figures(), explore_url=url_for("timecap.explore"))


@bp.get("/time/explore")
@policy.signed_in
@allowed_when_capped
def explore():
    found = _measured_or_404()
    return _explore_page(found, WebActivityForm(formdata=None, **_prefill()))


def _prefill() -> dict[str, str]:
    """The bookmarklet opens ``/time/log?url=…&title=…``: the page being read."""
    url = request.args.get("url", "")[:services.URL_MAX]
    title = request.args.get("title", "")[:services.TITLE_MAX]
    return {"url": url, "title": title} if url or title else {}


def _goal_choices(found: services.Measured) -> list[SelectChoice]:
    plan = plan_queries.plan_of(current_user.id, found.cohort.id)
    goals = [g for g in plan_queries.goals_of(plan)
             if g.status in (GoalStatus.ACTIVE, GoalStatus.PLANNED)] if plan else []
    return [SelectChoice("", "None in particular")] + [
        SelectChoice(str(g.id), g.title) for g in goals]


def _explore_page(found: services.Measured, form: WebActivityForm, *, status: int = 200,
                  template: str = "timecap/explore.html"):
    form.goal.choices = _goal_choices(found)
    figures = current_balance()
    activities = services.week_activities(current_user.id, found.cohort)
    return render_template(
        template, form=form, cohort=found.cohort, balance=figures, activities=activities,
        deletable={a.id for a in activities if services.can_delete(a)}, confirm=ConfirmForm(),
        challenge=services.challenge_for(current_user.id, found.cohort, current_library()),
        bookmarklet=_bookmarklet(), today=local_date(now_utc(), found.cohort.timezone),
    ), status


def _bookmarklet() -> str:
    """A bookmark that opens the log form for the page being read."""
    target = url_for("timecap.log", _external=True)
    return ("javascript:(function(){window.open('" + target + "?url='+encodeURIComponent("
            "location.href)+'&title='+encodeURIComponent(document.title),'_blank');})();")


@bp.route("/time/log", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def log():
    found = _measured_or_404()
    if request.method == "GET":
        return _explore_page(found, WebActivityForm(formdata=None, **_prefill()),
                             template="timecap/log.html")
    form = WebActivityForm()
    form.goal.choices = _goal_choices(found)
    was_capped = current_balance().capped
    if form.validate_on_submit():
        raw_goal = form.goal.data or ""
        goal_id = int(raw_goal) if raw_goal.isdigit() and len(raw_goal) <= 10 else None
        if raw_goal and goal_id is None:
            form.goal.errors = ["Choose one of your goals that is under way."]
        elif attempt(form, lambda: services.log_web_activity(
                current_user, found.cohort, actor=current_user, kind=_kind(form.kind.data),
                title=form.title.data or "", url=form.url.data or "",
                minutes=form.minutes.data, goal_id=goal_id, note=form.note.data or "",
                day=form.day.data)):
            after = services.balance(current_user.id, found.cohort, exempt=found.exempt)
            if was_capped and not after.capped:
                flash(f"Logged {form.minutes.data} minutes on the web. That opens the "
                      "platform again — welcome back.", "success")
                return redirect(url_for("core.index"), code=303)
            flash(f"Logged {form.minutes.data} minutes on the web.", "success")
            return redirect(url_for("timecap.explore"), code=303)
    return _explore_page(found, form, status=400, template="timecap/log.html")


def _kind(raw: str | None) -> ActivityKind | None:
    return ActivityKind(raw) if raw in {k.value for k in ActivityKind} else None


@bp.post("/time/activities/<int:activity_id>/delete")
@policy.signed_in
@allowed_when_capped
def delete_activity(activity_id: int):
    """Take back web time logged in the last 24 hours (one's own only: others' are 404)."""
    found = _measured_or_404()
    activity = db.session.get(WebActivity, activity_id)
    if activity is None or activity.user_id != current_user.id or activity.cohort_id != found.cohort.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if attempt(None, lambda: services.delete_web_activity(activity)):
        flash("Taken back.", "success")
    return redirect(url_for("timecap.explore", _anchor="this-week"), code=303)
