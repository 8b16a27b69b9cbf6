"""Reads of 1:1 support for pages outside the support domain (the patron home)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select

from dap.clock import now_utc
from dap.extensions import db
from dap.support.models import BookingStatus, SlotStatus, SupportBooking, SupportSlot


def next_session_starts(people: Iterable[tuple[int, int]]) -> dict[tuple[int, int], datetime]:
    """``(cohort id, participant id)`` → when that participant's next booked 1:1 session in
    that cohort starts (one not over yet). Only the time: never the note, the facilitator or
    anything said in it. One query, whatever the number of people."""
    wanted = set(people)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(SupportSlot.cohort_id, SupportBooking.participant_id, func.min(SupportSlot.starts_at))
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .where(SupportBooking.status == BookingStatus.BOOKED,
               SupportSlot.status == SlotStatus.OPEN, SupportSlot.ends_at > now_utc(),
               SupportSlot.cohort_id.in_(list({cohort_id for cohort_id, _ in wanted})),
               SupportBooking.participant_id.in_(list({user_id for _, user_id in wanted})))
        .group_by(SupportSlot.cohort_id, SupportBooking.participant_id)
    ).all()
    return {(cohort_id, user_id): starts for cohort_id, user_id, starts in rows
            if (cohort_id, user_id) in wanted and starts is not None}
