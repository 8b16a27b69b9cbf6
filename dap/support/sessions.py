"""After a 1:1 session: the facilitator's private notes, and the action points shared with
the participant (and with their patrons when the participant allows), any of which can
become a goal in their plan.

Private notes are for the cohort's facilitators only: no function here hands them to
anyone else, and what the audit log records of them is nothing. Action points belong to a
booked session (not a cancelled one); facilitators may add some before it starts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.errors import DomainError
from dap.extensions import db
from dap.plans import services as plans
from dap.plans.models import PlanGoal, Visibility
from dap.support.models import (
    ActionPoint,
    BookingStatus,
    SessionNotes,
    SupportBooking,
    SupportSlot,
)
from dap.text import clean_text

NOTES_MAX = 10_000
POINT_MAX = 300
#: a goal's title holds at most this much of an action point (the whole point goes in "why")
GOAL_TITLE_MAX = plans.TITLE_MAX


def _require_booked(booking: SupportBooking) -> None:
    if booking.status is not BookingStatus.BOOKED:
        raise DomainError("This booking was cancelled: there is no session to add to.")


def has_started(booking: SupportBooking, *, at: datetime | None = None) -> bool:
    return booking.slot.starts_at <= (at or now_utc())


# --- private notes ------------------------------------------------------------------------------


def notes_of(booking_id: int) -> SessionNotes | None:
    """The private notes on a booking, if any. Only for the cohort's facilitators' pages."""
    return db.session.scalar(select(SessionNotes).where(SessionNotes.booking_id == booking_id))


def save_notes(booking: SupportBooking, *, actor: User, body: str | None) -> SessionNotes | None:
    """Set the private notes on a booked session, once it has started; empty notes remove
    them. Returns the notes, or None when removed. Not audited (the log would outlive the
    words' privacy), but ``updated_by_id`` says who wrote last.

    :raise DomainError: the booking was cancelled; the session has not started; the notes
        are longer than ``NOTES_MAX`` (field ``body``).
    """
    _require_booked(booking)
    if not has_started(booking):
        raise DomainError("You can write notes once the session has started.", field="body")
    text = clean_text(body, field="body", max_len=NOTES_MAX, label="notes")
    notes = notes_of(booking.id)
    if not text:
        if notes is not None:
            db.session.delete(notes)
            db.session.flush()
        return None
    if notes is None:
        notes = SessionNotes(booking_id=booking.id, body=text, updated_by_id=actor.id)
        db.session.add(notes)
    elif notes.body != text:
        notes.body = text
        notes.updated_at = now_utc()
        notes.updated_by_id = actor.id
    db.session.flush()
    return notes


# --- action points ------------------------------------------------------------------------------


def points_of(booking_id: int) -> list[ActionPoint]:
    """A booking's action points, oldest first (one query)."""
    return list(db.session.scalars(select(ActionPoint).where(ActionPoint.booking_id == booking_id)
                                   .order_by(ActionPoint.created_at, ActionPoint.id)))


def goals_of(points: list[ActionPoint]) -> dict[int, PlanGoal]:
    """The goals some of ``points`` became, by goal id (one query, none when there are
    none)."""
    ids = {p.goal_id for p in points if p.goal_id is not None}
    if not ids:
        return {}
    return {g.id: g for g in db.session.scalars(select(PlanGoal).where(PlanGoal.id.in_(ids)))}


def points_of_participant(cohort_id: int, participant_id: int, *,
                          shared_only: bool = False) -> list[tuple[ActionPoint, SupportSlot]]:
    """The action points of the participant's booked sessions in the cohort, with each
    session's slot, the latest session first (one query). ``shared_only``: only those they
    share with their patrons. Points of cancelled bookings are left out."""
    query = (select(ActionPoint, SupportSlot)
             .join(SupportBooking, SupportBooking.id == ActionPoint.booking_id)
             .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
             .where(SupportSlot.cohort_id == cohort_id,
                    SupportBooking.participant_id == participant_id,
                    SupportBooking.status == BookingStatus.BOOKED))
    if shared_only:
        query = query.where(ActionPoint.shared_with_patrons.is_(True))
    rows = db.session.execute(query.order_by(SupportSlot.starts_at.desc(),
                                             ActionPoint.created_at, ActionPoint.id)).all()
    return [(point, slot) for point, slot in rows]


def add_point(booking: SupportBooking, *, actor: User, text: str | None) -> ActionPoint:
    """Add an action point to a booked session, before or after it starts. Audited
    (``support.action_point_added``, ids only).

    :raise DomainError: the booking was cancelled; the cohort is archived; the text is
        empty or longer than ``POINT_MAX`` (field ``text``).
    """
    _require_booked(booking)
    cohort = booking.slot.cohort
    _require_open(cohort)
    words = clean_text(text, field="text", max_len=POINT_MAX, label="the action point",
                       required=True)
    point = ActionPoint(booking_id=booking.id, text=words, created_by_id=actor.id,
                        created_at=now_utc())
    db.session.add(point)
    db.session.flush()
    record("support.action_point_added", actor=actor, cohort=cohort,
           subject=booking.participant, booking=booking.id, action_point=point.id)
    return point


def remove_point(point: ActionPoint, *, actor: User) -> None:
    """Remove an action point (a goal made from it stays in the plan). Audited
    (``support.action_point_removed``).

    :raise DomainError: the cohort is archived.
    """
    booking = db.session.get(SupportBooking, point.booking_id)
    cohort = booking.slot.cohort
    _require_open(cohort)
    record("support.action_point_removed", actor=actor, cohort=cohort,
           subject=booking.participant, booking=booking.id, action_point=point.id,
           was_a_goal=point.goal_id is not None)
    db.session.delete(point)
    db.session.flush()


def share_point(point: ActionPoint, *, actor: User, shared: bool) -> None:
    """Share an action point with the participant's patrons, or stop sharing it: the
    participant's choice (or a facilitator's for a managed participant, which is audited).

    :raise DomainError: the booking was cancelled; the cohort is archived.
    """
    booking = db.session.get(SupportBooking, point.booking_id)
    _require_booked(booking)
    cohort = booking.slot.cohort
    _require_open(cohort)
    if point.shared_with_patrons == shared:
        return
    point.shared_with_patrons = shared
    db.session.flush()
    if actor.id != booking.participant_id:
        record("support.action_point_shared" if shared else "support.action_point_unshared",
               actor=actor, cohort=cohort, subject=booking.participant, booking=booking.id,
               action_point=point.id)


def _require_open(cohort: Cohort) -> None:
    if cohort.is_archived:
        raise DomainError("This cohort is archived: its 1:1 sessions and plans can no longer "
                          "change.")


def goal_title(text: str) -> str:
    """An action point's words as a goal title: whole, or cut at a word with "…" when
    longer than a title may be."""
    if len(text) <= GOAL_TITLE_MAX:
        return text
    cut = text[:GOAL_TITLE_MAX - 1]
    if " " in cut[GOAL_TITLE_MAX // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def make_goal(point: ActionPoint, *, actor: User) -> tuple[PlanGoal, bool]:
    """Turn an action point into a custom goal in the participant's plan (through
    ``dap.plans.services.write_goal``) and link it; ``actor`` is the participant, or a
    facilitator acting for a managed participant (the caller checks which). Returns the
    goal and whether it is new: doing it again gives the same goal. The action point's
    row is locked meanwhile, so two presses at once make one goal.

    The goal's title is the point's words (cut at a word, if longer than a title may be,
    with the whole point as its "why"). Patrons see it only if the point is shared with
    them; otherwise it is "only me". A paused plan takes the goal as plans do (a pause
    stops reminders, not goals). Audited (``support.action_point_goal``).

    :raise DomainError: the booking was cancelled; the cohort is archived.
    """
    locked = db.session.scalar(select(ActionPoint).where(ActionPoint.id == point.id)
                               .with_for_update().execution_options(populate_existing=True))
    if locked is None:
        raise DomainError("This action point has been removed.")
    booking = db.session.get(SupportBooking, locked.booking_id)
    _require_booked(booking)
    cohort = booking.slot.cohort
    _require_open(cohort)
    if locked.goal_id is not None:
        existing = db.session.get(PlanGoal, locked.goal_id)
        if existing is not None:
            return existing, False
    title = goal_title(locked.text)
    plan = plans.plan_for(cohort, booking.participant)
    goal = plans.write_goal(
        plan, actor=actor, title=title, why=locked.text if title != locked.text else "",
        visibility=Visibility.PATRONS if locked.shared_with_patrons else Visibility.PRIVATE)
    locked.goal_id = goal.id
    db.session.flush()
    record("support.action_point_goal", actor=actor, cohort=cohort, subject=booking.participant,
           booking=booking.id, action_point=locked.id, goal=goal.id)
    return goal, True
