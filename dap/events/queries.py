"""Reads of events for pages outside the events domain (the dashboard, the patron home)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select
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


def next_going(people: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Event]:
    """``(cohort id, user id)`` → the next event (not over, not cancelled) of that cohort
    the person is going to, for people across cohorts (a patron's). One query, whatever the
    number of people."""
    wanted = set(people)
    if not wanted:
        return {}
    ranked = (
        select(Event.id.label("event_id"), Rsvp.user_id.label("user_id"),
               func.row_number().over(partition_by=(Event.cohort_id, Rsvp.user_id),
                                      order_by=(Event.starts_at, Event.id)).label("n"))
        .join(Rsvp, Rsvp.event_id == Event.id)
        .where(Rsvp.status == RsvpStatus.GOING, Event.status == EventStatus.SCHEDULED,
               Event.ends_at > now_utc(),
               Event.cohort_id.in_(list({cohort_id for cohort_id, _ in wanted})),
               Rsvp.user_id.in_(list({user_id for _, user_id in wanted})))
        .subquery()
    )
    rows = db.session.execute(
        select(Event, ranked.c.user_id).join(ranked, ranked.c.event_id == Event.id)
        .where(ranked.c.n == 1)
    ).all()
    return {(event.cohort_id, user_id): event for event, user_id in rows
            if (event.cohort_id, user_id) in wanted}
