"""Reminders before events: a day before and an hour before, to everyone going.

A scan (``remind_event_goers``, registered as the ``event_reminders`` job) finds the
reminders that are due and not yet sent in one query and sends them through the one door
for messages (dap.nudges.notify.send), so the number of statements does not grow with the
number of events or people. Each reminder has a dedup key naming the event, the person,
the lead and the start time, so a scan that runs twice (or two at once) sends it once, and
an event moved to another time is reminded again for its new time.

The windows are half-open and measured in elapsed time (UTC), so a clock change in the
cohort's time zone moves nothing: the day-before reminder goes exactly 24 hours before the
start, which on the Sunday the clocks change is 09:00 or 11:00 on the Saturday, local time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, exists, literal, select
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.elements import ColumnElement

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Membership, MembershipStatus
from dap.db import unix_seconds
from dap.events.models import Event, EventMode, EventStatus, Rsvp, RsvpStatus
from dap.events.services import when_line
from dap.extensions import db
from dap.nudges.governance import Priority
from dap.nudges.models import Notification, NotificationKind
from dap.nudges.notify import Message, send

#: the day-before reminder is due from this long before the start…
DAY_BEFORE = timedelta(hours=24)
#: …for this long: a scheduler that was down longer, or an event made less than 18 hours
#: ahead, gets no stale day-before reminder
DAY_BEFORE_FOR = timedelta(hours=6)
#: the hour-before reminder is due from this long before the start until the start
HOUR_BEFORE = timedelta(hours=1)


def day_before_due(starts_at: ColumnElement, now: datetime) -> ColumnElement:
    """SQL: the day-before reminder of something starting at ``starts_at`` is due at
    ``now``: ``starts_at - 24h <= now < starts_at - 18h``, and ``now < starts_at - 1h``."""
    return and_(starts_at <= now + DAY_BEFORE, starts_at > now + DAY_BEFORE - DAY_BEFORE_FOR,
                starts_at > now + HOUR_BEFORE)


def hour_before_due(starts_at: ColumnElement, now: datetime) -> ColumnElement:
    """SQL: the hour-before reminder is due at ``now``: ``starts_at - 1h <= now < starts_at``."""
    return and_(starts_at <= now + HOUR_BEFORE, starts_at > now)


def reminder_key(prefix: str, thing_id: ColumnElement, user_id: ColumnElement,
                 lead: ColumnElement | str, starts_at: ColumnElement) -> ColumnElement:
    """SQL: ``reminder:<prefix>:<id>:user:<user id>:<lead>:<start's unix seconds>``, the
    dedup key ``key`` builds in Python, so already-sent reminders are left out in SQL."""
    lead = literal(lead) if isinstance(lead, str) else lead
    return (literal(f"reminder:{prefix}:") + cast(thing_id, String) + literal(":user:")
            + cast(user_id, String) + literal(":") + lead + literal(":")
            + cast(unix_seconds(starts_at), String))


def key(prefix: str, thing_id: int, user_id: int, lead: str, starts_at: datetime) -> str:
    """A reminder's dedup key (see ``reminder_key``)."""
    return f"reminder:{prefix}:{thing_id}:user:{user_id}:{lead}:{int(starts_at.timestamp())}"


def day_word(starts_at: datetime, now: datetime, timezone: str) -> str:
    """"Today" or "Tomorrow" (or the weekday) for ``starts_at`` seen from ``now`` in
    ``timezone``."""
    zone = ZoneInfo(timezone)
    days = (starts_at.astimezone(zone).date() - now.astimezone(zone).date()).days
    return {0: "Today", 1: "Tomorrow"}.get(days, f"{starts_at.astimezone(zone):%A}")


def remind_event_goers(*, now: datetime, base_url: str) -> int:
    """Send each reminder due at ``now`` to the people going to an event: the day-before
    one (``event_reminder``, 24 hours before, for 6 hours; normal priority) and the
    hour-before one (for the last hour; high priority, so the daily cap does not hold it).

    Goes to everyone whose answer is "going" to a scheduled event of a cohort that is not
    archived, who is an active user and still an active member of the cohort; never to
    people waiting or who can't go. Dedup key
    ``reminder:event:<event id>:user:<user id>:<24h|1h>:<start's unix seconds>``; reminders
    already sent are left out in SQL. Each expires at the start (governance never emails
    one that would arrive later). One query plus ``send``'s fixed few, whatever the number
    of events and people. Flushes; the caller commits. Returns how many were sent.
    """
    lead = case((Event.starts_at <= now + HOUR_BEFORE, literal("1h")), else_=literal("24h"))
    sent = reminder_key("event", Event.id, Rsvp.user_id, lead, Event.starts_at)
    rows = db.session.execute(
        select(Event, User)
        .join(Event.cohort).options(contains_eager(Event.cohort))
        .join(Rsvp, Rsvp.event_id == Event.id)
        .join(User, User.id == Rsvp.user_id)
        .join(Membership, and_(Membership.cohort_id == Event.cohort_id,
                               Membership.user_id == Rsvp.user_id))
        .where(Event.status == EventStatus.SCHEDULED, Cohort.is_archived.is_(False),
               day_before_due(Event.starts_at, now) | hour_before_due(Event.starts_at, now),
               Rsvp.status == RsvpStatus.GOING, User.is_active.is_(True),
               User.deleted_at.is_(None), Membership.status == MembershipStatus.ACTIVE,
               ~exists().where(Notification.dedup_key == sent))
        .order_by(Event.starts_at, Event.id, User.id)
    ).all()
    return len(send([_message(event, person, now=now) for event, person in rows],
                    base_url=base_url))


def _message(event: Event, person: User, *, now: datetime) -> Message:
    timezone = event.cohort.timezone
    start = event.starts_at.astimezone(ZoneInfo(timezone))
    soon = event.starts_at <= now + HOUR_BEFORE
    online = event.mode is not EventMode.IN_PERSON
    body = f"{when_line(event)}."
    if online:
        body += (" Or online: the join link is on the event page." if event.venue
                 else " Online: the join link is on the event page.")
    if soon:
        title = f"In an hour: {event.title}"
        subject = f"Starting at {start:%H:%M}: {event.title}"
    else:
        title = f"{day_word(event.starts_at, now, timezone)}: {event.title}"
        subject = f"Reminder: {event.title}, {start:%A %-d %B at %H:%M}"
        body += " If you can no longer go, say so on the event page."
    lead = "1h" if soon else "24h"
    return Message(
        person=person, kind=NotificationKind.EVENT_REMINDER, title=title, body=body,
        dedup_key=key("event", event.id, person.id, lead, event.starts_at),
        link=f"/cohorts/{event.cohort_id}/events/{event.id}", cohort=event.cohort,
        priority=Priority.HIGH if soon else None, expires_at=event.starts_at,
        email_template="event_reminder", email_subject=subject,
        email_context={"event": event, "soon": soon, "online": online})
