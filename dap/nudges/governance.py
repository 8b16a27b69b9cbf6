"""Governance: whether, and when, a notification's email copy goes out.

People's most common complaint about learning platforms is too many emails. Every message
that is not an account message (a password reset, an invitation) passes through ``decide``:

- the person's preference for its category (dap.nudges.preferences): at once, in the daily
  digest, or not by email at all (in-app always);
- a participant whose plan in the message's cohort is paused gets no email (it waits in
  their inbox), unless the message is urgent;
- quiet hours: nothing but urgent messages between 20:00 and 08:00 in the person's time
  zone; the email waits for 08:00;
- caps: at most the cohort's ``emails_per_day_max`` a day and ``emails_per_week_max`` a
  week to one person, from the system, facilitators and patrons together, counted by the
  time each email is planned to go. A normal message past a cap folds into the next daily
  digest; high and urgent messages always go (and count).

The caps are counted in bulk for a batch of messages (one query for everyone in it), with
each recipient's row locked first on PostgreSQL, so two concurrent senders cannot both
take the last place of the day.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from dap.accounts.models import User
from dap.extensions import db
from dap.nudges.models import EmailState, NotificationKind, OutboxMessage
from dap.nudges.preferences import Category, Delivery

#: quiet hours in the recipient's own time zone: [start, end) wraps past midnight
QUIET_START = time(20, 0)
QUIET_END = time(8, 0)


class Priority(enum.IntEnum):
    """How much a message may push past quiet hours and caps."""

    NORMAL = 0  #: waits out quiet hours; past a cap it folds into the daily digest
    HIGH = 1  #: waits out quiet hours; counts towards the caps but is never held by them
    URGENT = 2  #: goes at once: a change to something the person has booked or is going to


#: each kind's priority unless the sender says otherwise
PRIORITY_OF: dict[NotificationKind, Priority] = {
    NotificationKind.EVENT_INVITATION: Priority.HIGH,
    NotificationKind.REVIEW_REQUESTED: Priority.HIGH,
    NotificationKind.NEED_HELP: Priority.HIGH,
    NotificationKind.PATRON_DIGEST: Priority.HIGH,
    NotificationKind.EVENT_CHANGED: Priority.URGENT,
    NotificationKind.EVENT_CANCELLED: Priority.URGENT,
    NotificationKind.EVENT_PROMOTED: Priority.URGENT,
    NotificationKind.SUPPORT_BOOKED: Priority.URGENT,
    NotificationKind.SUPPORT_CANCELLED: Priority.URGENT,
}


def priority_of(kind: NotificationKind) -> Priority:
    return PRIORITY_OF.get(kind, Priority.NORMAL)


def zone_of(person: User) -> ZoneInfo:
    try:
        return ZoneInfo(person.timezone or "Europe/London")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/London")


def after_quiet_hours(now: datetime, zone: ZoneInfo) -> datetime:
    """``now``, or the end of quiet hours when ``now`` falls inside them (in ``zone``)."""
    local = now.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return now
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    wake = datetime.combine(day, QUIET_END, tzinfo=zone)
    return wake.astimezone(now.tzinfo)


def mailable(person: User) -> bool:
    """Whether email can reach ``person`` at all."""
    return (bool(person.email) and person.is_active and person.deleted_at is None
            and not person.is_managed)


@dataclass
class Caps:
    per_day: int
    per_week: int


@dataclass
class Ledger:
    """What each person in a batch has been planned to get: the planned times of their
    counted emails, from the database plus this batch so far."""

    planned: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))

    def counts(self, user_id: int, at: datetime, zone: ZoneInfo) -> tuple[int, int]:
        """Emails planned for ``user_id`` on ``at``'s local day and in its local week."""
        day = at.astimezone(zone).date()
        monday = day - timedelta(days=day.weekday())
        on_day = in_week = 0
        for planned in self.planned.get(user_id, ()):
            local: date = planned.astimezone(zone).date()
            if local == day:
                on_day += 1
            if monday <= local < monday + timedelta(days=7):
                in_week += 1
        return on_day, in_week

    def add(self, user_id: int, at: datetime) -> None:
        self.planned[user_id].append(at)


def load_ledger(user_ids: Iterable[int], *, now: datetime) -> Ledger:
    """Lock the recipients' rows (PostgreSQL; SQLite's write transaction already excludes
    other writers), then read the planned times of their counted emails around ``now``:
    two queries for any number of people."""
    ids = sorted(set(user_ids))
    ledger = Ledger()
    if not ids:
        return ledger
    db.session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id)
                       .with_for_update())
    # Eight days back covers any local week containing now; two days ahead covers emails
    # already planned for the end of tonight's quiet hours.
    rows = db.session.execute(
        select(OutboxMessage.user_id, OutboxMessage.planned_at)
        .where(OutboxMessage.user_id.in_(ids), OutboxMessage.planned_at.is_not(None),
               OutboxMessage.planned_at >= now - timedelta(days=8),
               OutboxMessage.planned_at < now + timedelta(days=2))).all()
    for user_id, planned_at in rows:
        ledger.add(user_id, planned_at)
    return ledger


@dataclass(frozen=True)
class Decision:
    state: EmailState
    #: when the email is to go (QUEUED only)
    send_at: datetime | None = None


def decide(
    person: User, *, category: Category, priority: Priority, delivery: Delivery,
    paused: bool, caps: Caps, ledger: Ledger, now: datetime, expires_at: datetime | None = None,
) -> Decision:
    """What happens to one message's email copy (see the module). A queued email is added
    to ``ledger`` so the next message in the batch counts it. A message that would only be
    emailed at or after ``expires_at`` (a reminder held by quiet hours past its event's
    start) stays in-app only."""
    if not mailable(person) or delivery is Delivery.OFF:
        return Decision(EmailState.NONE)
    if paused and priority < Priority.URGENT:
        return Decision(EmailState.HELD)
    if delivery is Delivery.DAILY:
        return Decision(EmailState.DIGEST)
    zone = zone_of(person)
    send_at = now if priority is Priority.URGENT else after_quiet_hours(now, zone)
    if expires_at is not None and send_at >= expires_at:
        return Decision(EmailState.NONE)  # it could only arrive too late: in-app only
    if priority is Priority.NORMAL:
        on_day, in_week = ledger.counts(person.id, send_at, zone)
        if on_day >= caps.per_day or in_week >= caps.per_week:
            return Decision(EmailState.DIGEST)
    ledger.add(person.id, send_at)
    return Decision(EmailState.QUEUED, send_at)
