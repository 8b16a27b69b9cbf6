"""After a 1:1 session (rules in dap.support.sessions): the facilitator's private notes,
action points added and removed by facilitators, shared with patrons and made goals by the
participant (or by a facilitator for a managed participant).

The routes share the support blueprint. A booking or action point of another cohort, or
one the viewer may not see, is a 404; private notes are a 404 for everyone but the
cohort's facilitators and admins.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from dap import policy
from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.content.render import render_markdown
from dap.core.forms import ConfirmForm, attempt
from dap.extensions import db
from dap.plans.models import PlanGoal
from dap.support import sessions
from dap.support.forms import ActionPointForm, SessionNotesForm
from dap.support.models import ActionPoint, SupportBooking
from dap.support.views import _slot_page, bp
from dap.timecap.gate import allowed_when_capped

BOOKING = "/cohorts/<int:cohort_id>/support/bookings/<int:booking_id>"
POINT = "/cohorts/<int:cohort_id>/support/action-points/<int:point_id>"
NO_STORE = {"Cache-Control": "private, no-store"}


# --- loading with scope -------------------------------------------------------------------------


def _booking(cohort: Cohort, booking_id: int) -> SupportBooking:
    """A booking of one of ``cohort``'s slots; anything else is a 404."""
    booking = db.session.get(SupportBooking, booking_id)
    if booking is None or booking.slot.cohort_id != cohort.id:
        abort(404)
    return booking


def _point(cohort: Cohort, point_id: int) -> tuple[ActionPoint, SupportBooking]:
    point = db.session.get(ActionPoint, point_id)
    if point is None:
        abort(404)
    return point, _booking(cohort, point.booking_id)


def _sees(cohort: Cohort, booking: SupportBooking) -> bool:
    """The cohort's managers, and the person the booking is for."""
    return booking.participant_id == current_user.id or policy.can_manage_cohort(current_user,
                                                                                 cohort)


def acts_for(user: Any, cohort: Cohort, participant: User) -> bool:
    """Who shares a participant's action points and makes them goals: the participant, or a
    facilitator of the cohort for a managed participant (as with their plan)."""
    return user.id == participant.id or (participant.is_managed
                                         and policy.can_manage_cohort(user, cohort))


def _require_facilitator(cohort: Cohort, booking: SupportBooking) -> None:
    """Facilitators add and remove action points: 404 for anyone who cannot see the booking,
    403 for its participant and for managers of an archived cohort."""
    if not _sees(cohort, booking):
        abort(404)
    if not policy.can_edit_cohort(current_user, cohort):
        abort(403)


def _require_acting_for(cohort: Cohort, booking: SupportBooking) -> None:
    if not _sees(cohort, booking):
        abort(404)
    if not acts_for(current_user, cohort, booking.participant):
        abort(403)


def _slot_url(booking: SupportBooking, anchor: str = "action-points") -> str:
    return url_for("support.slot", cohort_id=booking.slot.cohort_id, slot_id=booking.slot_id,
                   _anchor=anchor)


def _back(booking: SupportBooking) -> str:
    """Where a button sends the person back: the 1:1 page's list (``back=index``) or the
    session's page."""
    if request.form.get("back") == "index":
        return url_for("support.index", cohort_id=booking.slot.cohort_id, _anchor="points-heading")
    return _slot_url(booking)


def _refused(cohort: Cohort, booking: SupportBooking):
    """A rule said no (its message is flashed): the session's page, with a 400."""
    return _slot_page(cohort, booking.slot, status=400)


# --- what the slot page and the 1:1 page show ---------------------------------------------------


def goal_links(cohort: Cohort, participant: User, goals: dict[int, PlanGoal],
               *, own: bool) -> dict[int, str]:
    """The address of each goal in the participant's plan, as the viewer reaches it."""
    if not goals:
        return {}
    membership_id = None
    if not own:
        membership_id = db.session.scalar(select(Membership.id).where(
            Membership.cohort_id == cohort.id, Membership.user_id == participant.id,
            Membership.role == CohortRole.PARTICIPANT))
        if membership_id is None:
            return {}
    return {goal_id: url_for("plans.goal", cohort_id=cohort.id, membership_id=membership_id,
                             goal_id=goal_id) for goal_id in goals}


def slot_sections(cohort: Cohort, booking: SupportBooking | None, *, manages: bool, mine: bool,
                  point_form: ActionPointForm | None = None) -> dict[str, Any]:
    """The slot page's "after the session" part: ``after`` is None when the viewer has no
    business with it (no booking, or someone else's)."""
    if booking is None or not (manages or mine):
        return {"after": None}
    points = sessions.points_of(booking.id)
    goals = sessions.goals_of(points)
    notes = sessions.notes_of(booking.id) if manages else None
    editable = not cohort.is_archived
    return {"after": {
        "booking": booking, "points": points, "goals": goals,
        "goal_links": goal_links(cohort, booking.participant, goals, own=mine),
        "notes": notes, "notes_html": render_markdown(notes.body) if notes else "",
        "writes_points": manages and policy.can_edit_cohort(current_user, cohort),
        "acts": editable and acts_for(current_user, cohort, booking.participant),
        "own": mine, "started": sessions.has_started(booking),
        "point_form": point_form or ActionPointForm(formdata=None), "confirm": ConfirmForm(),
    }}


def my_points(cohort: Cohort) -> dict[str, Any]:
    """The 1:1 page's "My action points", for the signed-in participant (two queries)."""
    rows = sessions.points_of_participant(cohort.id, current_user.id)
    goals = sessions.goals_of([p for p, _ in rows])
    return {"my_points": rows, "point_goals": goals,
            "point_goal_links": goal_links(cohort, current_user, goals, own=True),
            "points_editable": not cohort.is_archived}


# --- private notes ------------------------------------------------------------------------------


@bp.route(BOOKING + "/notes", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def notes(cohort_id: int, booking_id: int):
    """The facilitator's private notes on a session: read and write (once it has started)."""
    cohort = policy.load_cohort(current_user, cohort_id)
    if not policy.can_manage_cohort(current_user, cohort):
        abort(404)  # the participant, their patrons, anyone else: as if there were none
    booking = _booking(cohort, booking_id)
    if booking.participant_id == current_user.id:
        abort(404)  # never one's own, not even for an admin who booked as a participant
    form = SessionNotesForm()
    if request.method == "POST":
        if not policy.can_edit_cohort(current_user, cohort):
            abort(403)
        kept: list = []
        if form.validate_on_submit() and attempt(form, lambda: kept.append(sessions.save_notes(
                booking, actor=current_user, body=form.body.data))):
            flash("Notes saved. Only the cohort’s facilitators see them." if kept[0]
                  else "Notes removed.", "success")
            return redirect(_slot_url(booking, "notes-heading"), code=303)
        return _notes_page(cohort, booking, form, status=400)
    return _notes_page(cohort, booking, None)


def _notes_page(cohort: Cohort, booking: SupportBooking, form: SessionNotesForm | None,
                *, status: int = 200):
    current = sessions.notes_of(booking.id)
    form = form or SessionNotesForm(formdata=None, data={"body": current.body if current else ""})
    return render_template(
        "support/notes.html", cohort=cohort, booking=booking, slot=booking.slot, form=form,
        notes=current, notes_html=render_markdown(current.body) if current else "",
        writer=db.session.get(User, current.updated_by_id) if current and current.updated_by_id
        else None,
        can_write=policy.can_edit_cohort(current_user, cohort) and booking.is_active
        and sessions.has_started(booking),
        started=sessions.has_started(booking),
    ), status, NO_STORE


# --- action points ------------------------------------------------------------------------------


@bp.post(BOOKING + "/action-points")
@policy.signed_in
@allowed_when_capped
def add_action_point(cohort_id: int, booking_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    booking = _booking(cohort, booking_id)
    _require_facilitator(cohort, booking)
    form = ActionPointForm()
    if form.validate_on_submit() and attempt(form, lambda: sessions.add_point(
            booking, actor=current_user, text=form.text.data)):
        flash("Action point added: the participant sees it.", "success")
        return redirect(_slot_url(booking), code=303)
    return _slot_page(cohort, booking.slot, point_form=form, status=400)


@bp.post(POINT + "/remove")
@policy.signed_in
@allowed_when_capped
def remove_action_point(cohort_id: int, point_id: int):
    cohort = policy.load_cohort(current_user, cohort_id)
    point, booking = _point(cohort, point_id)
    _require_facilitator(cohort, booking)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not attempt(None, lambda: sessions.remove_point(point, actor=current_user)):
        return _refused(cohort, booking)
    flash("Action point removed.", "success")
    return redirect(_slot_url(booking), code=303)


@bp.post(POINT + "/share")
@policy.signed_in
@allowed_when_capped
def share_action_point(cohort_id: int, point_id: int):
    """Share with the participant's patrons (``share=1``) or stop sharing (``share=0``)."""
    cohort = policy.load_cohort(current_user, cohort_id)
    point, booking = _point(cohort, point_id)
    _require_acting_for(cohort, booking)
    if not ConfirmForm().validate_on_submit() or request.form.get("share") not in ("0", "1"):
        abort(400)
    shared = request.form["share"] == "1"
    if not attempt(None, lambda: sessions.share_point(point, actor=current_user, shared=shared)):
        return _refused(cohort, booking)
    whose = "your" if booking.participant_id == current_user.id else "their"
    flash(f"Shared with {whose} patrons." if shared else f"No longer shared with {whose} patrons.",
          "success")
    return redirect(_back(booking), code=303)


@bp.post(POINT + "/goal")
@policy.signed_in
@allowed_when_capped
def action_point_goal(cohort_id: int, point_id: int):
    """"Make it a goal": one press, one goal (pressing again changes nothing)."""
    cohort = policy.load_cohort(current_user, cohort_id)
    point, booking = _point(cohort, point_id)
    _require_acting_for(cohort, booking)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    made: list = []
    if not attempt(None, lambda: made.append(sessions.make_goal(point, actor=current_user))):
        return _refused(cohort, booking)
    goal, new = made[0]
    whose = "your" if booking.participant_id == current_user.id else f"{booking.participant.name}’s"
    if new:
        flash(f"“{goal.title}” is a goal in {whose} plan.", "success")
    else:
        flash(f"This action point is already a goal in {whose} plan.", "info")
    return redirect(_back(booking), code=303)
