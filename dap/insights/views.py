"""The facilitators' insights pages for a cohort: the dashboard (funnel, skills change,
stories), the people with their measures (one-click nudge for the silent), activity by week,
channels compared, and two cohorts side by side."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dap import policy
from dap.accounts.views import safe_next
from dap.baseline import reports as baseline_reports
from dap.clock import now_utc
from dap.cohorts import services as cohort_services
from dap.cohorts.models import Cohort, CohortRole, Membership, Team
from dap.community.queries import stories
from dap.content.baseline import current_baseline
from dap.content.nudges import nudge_template
from dap.core.csv import csv_stream
from dap.core.forms import ConfirmForm
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.insights import channels, dashboard, weekly
from dap.insights.activity import CHANNEL_LABELS
from dap.insights.silence import silence_of
from dap.nudges import nudging
from dap.nudges.models import NotificationKind

bp = Blueprint("insights", __name__)

#: the ready-made message the one-click nudge sends someone who has gone quiet
SILENT_NUDGE = "been-a-while"
#: an id or page number in a query string: ASCII digits only (not "٣", not "1e3")
WHOLE_NUMBER = re.compile(r"[0-9]{1,12}")
#: how many featured stories the dashboard shows
STORIES = 3


def _cohort(cohort_id: int) -> Cohort:
    return policy.load_cohort(current_user, cohort_id, manage=True)


def _team(cohort: Cohort) -> Team | None:
    """The ``team`` filter: one of the cohort organisation's teams, or none.

    :raise 400: not a whole number. :raise 404: not a team of the organisation.
    """
    raw = request.args.get("team", "").strip()
    if not raw:
        return None
    if not WHOLE_NUMBER.fullmatch(raw):
        abort(400, description="Choose a team from the list.")
    team = db.session.get(Team, int(raw))
    if team is None or team.organisation_id != cohort.organisation_id:
        abort(404)
    return team


def _common(cohort: Cohort, team: Team | None) -> dict:
    return {"cohort": cohort, "team": team, "team_id": team.id if team else None,
            "teams": baseline_reports.teams_with_participants(cohort),
            "ended": dashboard.has_ended(cohort)}


@bp.get("/cohorts/<int:cohort_id>/insights", endpoint="dashboard")
@policy.signed_in
def dashboard_page(cohort_id: int):
    cohort = _cohort(cohort_id)
    team = _team(cohort)
    baseline = current_baseline()
    skills = None
    if baseline.is_available:
        skills = baseline_reports.cohort_report(cohort, baseline,
                                                team_id=team.id if team else None)
        if db.session.new:
            db.session.commit()  # the baseline checkpoint, made on first need
    facts = dashboard.cohort_facts(cohort, team_id=team.id if team else None,
                                   now=dashboard.as_of(cohort))
    return render_template(
        "insights/dashboard.html", **_common(cohort, team), facts=facts,
        funnel=dashboard.funnel(facts), skills=skills,
        stories=stories(cohort, featured_only=True, limit=STORIES),
        silent=[p for p in facts.joined if p.silent_days is not None],
        active_days=dashboard.ACTIVE_DAYS)


def _roster_args() -> tuple[str, bool, bool]:
    sort = request.args.get("sort", "name")
    if sort not in dashboard.SORTS:
        abort(400, description="Sort by one of the columns.")
    return sort, request.args.get("desc") == "1", request.args.get("silent") == "1"


@bp.get("/cohorts/<int:cohort_id>/insights/people")
@policy.signed_in
def people(cohort_id: int):
    cohort = _cohort(cohort_id)
    team = _team(cohort)
    sort, descending, silent_only = _roster_args()
    facts = dashboard.cohort_facts(cohort, team_id=team.id if team else None,
                                   now=dashboard.as_of(cohort))
    return render_template(
        "insights/people.html", **_common(cohort, team), facts=facts,
        lines=dashboard.roster_lines(facts, sort=sort, descending=descending,
                                     silent_only=silent_only),
        sort=sort, descending=descending, silent_only=silent_only, labels=CHANNEL_LABELS,
        form=ConfirmForm(),
        can_nudge=policy.can_edit_cohort(current_user, cohort) and not facts.has_ended)


ROSTER_HEADER = ["name", "email", "team", "baseline sent", "goals open", "goals done",
                 "last activity", "last activity channel", "streak (weeks)",
                 "platform minutes this week", "web minutes this week", "events attended",
                 "1:1 sessions held", "silent (days)", "plan paused", "patrons"]


def _roster_row(person: dashboard.Person) -> list:
    activity = person.activity
    return [person.user.name, person.user.email or "", person.team.name if person.team else "",
            person.has_baseline, person.goals_open, person.goals_done,
            activity.at if activity else None, activity.label if activity else "",
            person.streak, person.platform_minutes, person.web_minutes,
            person.events_attended, person.sessions_held, person.silent_days,
            person.is_paused, "; ".join(person.patrons)]


@bp.get("/cohorts/<int:cohort_id>/insights/people.csv")
@policy.signed_in
def roster_csv(cohort_id: int):
    cohort = _cohort(cohort_id)
    team = _team(cohort)
    sort, descending, silent_only = _roster_args()
    facts = dashboard.cohort_facts(cohort, team_id=team.id if team else None,
                                   now=dashboard.as_of(cohort))
    lines = dashboard.roster_lines(facts, sort=sort, descending=descending,
                                   silent_only=silent_only)
    return csv_stream([_roster_row(p) for p in lines], ROSTER_HEADER,
                      f"dap-cohort-{cohort.id}-roster-{now_utc().date()}.csv")


@bp.post("/cohorts/<int:cohort_id>/insights/people/<int:membership_id>/nudge")
@limiter.limit("60 per hour", key_func=lambda: f"nudge:{getattr(current_user, 'id', 'anon')}")
@policy.signed_in
def nudge(cohort_id: int, membership_id: int):
    """One click: the ready-made "been a while" nudge from the facilitator to someone silent.
    Once per silence: the same click again (or a co-facilitator's) within the same episode
    sends nothing more."""
    cohort = _cohort(cohort_id)
    if not policy.can_edit_cohort(current_user, cohort):
        abort(403)
    membership = policy.load_membership(cohort, membership_id)
    if membership.role is not CohortRole.PARTICIPANT:
        abort(404)
    back = redirect(safe_next(request.form.get("back"))
                    or url_for("insights.people", cohort_id=cohort.id, silent="1"), 303)
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form had expired. Please try again.")
    if dashboard.has_ended(cohort):
        flash("The cohort has ended, so nothing was sent.", "info")
        return back
    silence = silence_of(cohort, membership, now=now_utc())
    if silence is None:
        flash(f"{membership.user.name} is not silent now, so nothing was sent.", "info")
        return back
    template = nudge_template(SILENT_NUDGE)
    try:
        sent = nudging.send_nudge(
            patron=current_user._get_current_object(), participant=membership.user,
            cohort=cohort, membership=membership, kind=NotificationKind.NUDGE,
            template=template, message="" if template else _fallback(membership),
            token=f"silent-{int(silence.since.timestamp())}")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return back
    db.session.commit()
    flash(nudging.sent_note(sent, membership.user), "success")
    return back


def _fallback(membership: Membership) -> str:
    """The message when the ready-made one is missing from content/nudges."""
    return (f"Hi {membership.user.first_name}, it's been a little while. Pick one small step "
            "from your plan and give it fifteen minutes this week.")


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    if not WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= 100_000:
        abort(400, description="The page number must be a whole number from 1.")
    return int(raw)


@bp.get("/cohorts/<int:cohort_id>/insights/activity")
@policy.signed_in
def activity(cohort_id: int):
    cohort = _cohort(cohort_id)
    team = _team(cohort)
    team_id = team.id if team else None
    return render_template(
        "insights/activity.html", **_common(cohort, team),
        heatmap=weekly.heat_map(cohort, team_id=team_id, page=_page_arg()),
        heatmap_args={"cohort_id": cohort.id, "team": team_id},
        balance=weekly.balance(cohort, team_id=team_id))


@bp.get("/cohorts/<int:cohort_id>/insights/channels", endpoint="channels")
@policy.signed_in
def channels_page(cohort_id: int):
    cohort = _cohort(cohort_id)
    team = _team(cohort)
    return render_template(
        "insights/channels.html", **_common(cohort, team),
        table=channels.channel_table(cohort, team_id=team.id if team else None,
                                     now=dashboard.as_of(cohort)),
        window_days=channels.WINDOW_DAYS)


#: the most cohorts offered for comparing (newest first)
COMPARE_CHOICES = 500


def _managed_cohorts() -> list[Cohort]:
    """The cohorts the current user manages, archived ones too (admins: every cohort)."""
    manager = None if policy.is_admin(current_user) else current_user
    return cohort_services.list_cohorts(manager=manager, archived=None,
                                        per_page=COMPARE_CHOICES)[0]


def _cohort_arg(name: str) -> Cohort | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not WHOLE_NUMBER.fullmatch(raw):
        abort(400, description="Choose two cohorts from the lists.")
    return _cohort(int(raw))


@bp.get("/insights/compare")
@policy.signed_in
def compare():
    choices = _managed_cohorts()
    if not choices:
        abort(404)
    first, second = _cohort_arg("a"), _cohort_arg("b")
    chosen = [c for c in (first, second) if c is not None]
    tables = [channels.channel_table(c, now=dashboard.as_of(c)) for c in chosen]
    funnels = [dashboard.funnel(dashboard.cohort_facts(c, now=dashboard.as_of(c)))[0]
               for c in chosen]
    return render_template("insights/compare.html", choices=choices,
                           first=first, second=second, tables=tables, funnels=funnels,
                           window_days=channels.WINDOW_DAYS)
