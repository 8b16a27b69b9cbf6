"""Reads of events for pages outside the events domain (the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import contains_eager

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort, Membership, MembershipStatus
from dap.events.models import Event, EventStatus, Rsvp, RsvpStatus
from dap.extensions import db


@dataclass(frozen=True)
class Upcoming:
    event: Event
    answer: RsvpStatus | None


def upcoming_for(person: User, *, limit: int = 5) -> list[Upcoming]:
    """The next events (not over, not cancelled) of the cohorts ``person`` is an active
    member of, soonest first, each with their answer. One query."""
    rows = db.session.execute(
        select(Event, Rsvp.status)
        .join(Membership, and_(Membership.cohort_id == Event.cohort_id,
                               Membership.user_id == person.id,
                               Membership.status == MembershipStatus.ACTIVE))
        .join(Event.cohort).options(contains_eager(Event.cohort))
        .outerjoin(Rsvp, and_(Rsvp.event_id == Event.id, Rsvp.user_id == person.id))
        .where(Event.ends_at > now_utc(), Event.status == EventStatus.SCHEDULED,
               Cohort.is_archived.is_(False))
        .order_by(Event.starts_at, Event.id).limit(limit)
    ).all()
    return [Upcoming(event=event, answer=status) for event, status in rows]
