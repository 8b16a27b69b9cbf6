"""Privacy rules for 1:1 support: what a person's export holds of their bookings and action
points, and what deleting their account erases from it. The facilitators' private notes
are never exported to the participant: they are the facilitators' working notes.

``export_collections`` reads; ``erase`` writes with one bulk UPDATE and never commits
(``dap.accounts.privacy.delete_account`` owns the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans.models import PlanGoal
from dap.support.models import ActionPoint, SupportBooking, SupportSlot

#: the support collections of the export; their CSV columns are in
#: ``dap.accounts.privacy.COLLECTIONS``
NAMES = ("support_bookings", "support_action_points")


def _other(name: str | None, person_id: int | None, user: User) -> str | None:
    """Someone else's name; None when it was ``user`` themselves (or nobody)."""
    return None if person_id is None or person_id == user.id else name


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """The 1:1 sessions ``user`` booked (or that were booked for them) and the action points
    of those sessions. Two queries whatever the number of rows."""
    facilitator, booked_by, cancelled_by = aliased(User), aliased(User), aliased(User)
    bookings = db.session.execute(
        select(SupportBooking, SupportSlot, Cohort.name, facilitator.name, booked_by.name,
               cancelled_by.name)
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .join(Cohort, Cohort.id == SupportSlot.cohort_id)
        .join(facilitator, facilitator.id == SupportSlot.facilitator_id)
        .outerjoin(booked_by, booked_by.id == SupportBooking.booked_by_id)
        .outerjoin(cancelled_by, cancelled_by.id == SupportBooking.cancelled_by_id)
        .where(SupportBooking.participant_id == user.id)
        .order_by(SupportSlot.starts_at, SupportBooking.id)).all()
    author = aliased(User)
    points = db.session.execute(
        select(ActionPoint, SupportSlot.starts_at, Cohort.name, PlanGoal.title, author.name)
        .join(SupportBooking, SupportBooking.id == ActionPoint.booking_id)
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .join(Cohort, Cohort.id == SupportSlot.cohort_id)
        .outerjoin(PlanGoal, PlanGoal.id == ActionPoint.goal_id)
        .outerjoin(author, author.id == ActionPoint.created_by_id)
        .where(SupportBooking.participant_id == user.id)
        .order_by(SupportSlot.starts_at, ActionPoint.created_at, ActionPoint.id)).all()
    return {
        "support_bookings": [
            {"cohort": cohort, "starts_at": slot.starts_at, "ends_at": slot.ends_at,
             "facilitator": facilitator_name, "mode": slot.mode.value, "place": slot.place,
             "note": b.note, "status": b.status.value, "booked_at": b.created_at,
             "booked_by": _other(booker, b.booked_by_id, user),
             "cancelled_at": b.cancelled_at,
             "cancelled_by": _other(canceller, b.cancelled_by_id, user),
             "cancel_message": b.cancel_message}
            for b, slot, cohort, facilitator_name, booker, canceller in bookings],
        "support_action_points": [
            {"cohort": cohort, "session_starts_at": starts, "text": p.text,
             "shared_with_patrons": p.shared_with_patrons,
             "goal": goal,
             "added_by": _other(added_by, p.created_by_id, user), "added_at": p.created_at}
            for p, starts, cohort, goal, added_by in points],
    }


def erase(user: User) -> None:
    """The words of their bookings ("what I'd like help with"). Kept: the bookings
    themselves (the facilitators' records and counts), the facilitators' messages, notes
    and action points."""
    db.session.execute(update(SupportBooking).where(SupportBooking.participant_id == user.id)
                       .values(note=""))
