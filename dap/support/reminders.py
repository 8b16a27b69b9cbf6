"""Reminders before 1:1 sessions: a day before, to both sides (the participant and the
slot's facilitator).

A scan (``remind_support_sessions``, registered as the ``support_reminders`` job) finds the
reminders that are due and not yet sent in one query and sends them through the one door
for messages (dap.nudges.notify.send). The window and the dedup key follow the events'
day-before reminder (dap.events.reminders): due from 24 hours before the start for 6
hours, in elapsed time, keyed by booking, person and start time.

The facilitator's reminder names the participant and the time, as the agenda does, and
never carries what the participant asked help with or the facilitator's private notes.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Membership, MembershipStatus
from dap.events.reminders import day_before_due, day_word, key, reminder_key
from dap.extensions import db
from dap.nudges.governance import zone_of
from dap.nudges.models import Notification, NotificationKind
from dap.nudges.notify import Message, send
from dap.support.models import (
    MODE_LABELS,
    BookingStatus,
    SlotMode,
    SlotStatus,
    SupportBooking,
    SupportSlot,
)


def remind_support_sessions(*, now: datetime, base_url: str) -> int:
    """Send each day-before reminder (``support_reminder``) due at ``now``: for every
    active booking of a slot that is not withdrawn, in a cohort that is not archived, one to
    the participant (an active user, still an active member of the cohort; a managed
    participant gets it in-app) and one to the slot's facilitator (an active user).

    Due from 24 hours before the start for 6 hours (never within the last hour). Dedup key
    ``reminder:support:<booking id>:user:<user id>:24h:<start's unix seconds>``; reminders
    already sent are left out in SQL. Each expires at the start. One query plus ``send``'s
    fixed few, whatever the number of sessions. Flushes; the caller commits. Returns how
    many were sent.
    """
    participant, facilitator = aliased(User), aliased(User)
    tell_participant = and_(
        participant.is_active.is_(True), participant.deleted_at.is_(None),
        Membership.status == MembershipStatus.ACTIVE,
        ~exists().where(Notification.dedup_key == reminder_key(
            "support", SupportBooking.id, SupportBooking.participant_id, "24h",
            SupportSlot.starts_at)))
    tell_facilitator = and_(
        facilitator.is_active.is_(True), facilitator.deleted_at.is_(None),
        ~exists().where(Notification.dedup_key == reminder_key(
            "support", SupportBooking.id, SupportSlot.facilitator_id, "24h",
            SupportSlot.starts_at)))
    rows = db.session.execute(
        select(SupportBooking, SupportSlot, Cohort, participant, facilitator,
               tell_participant.label("tell_participant"),
               tell_facilitator.label("tell_facilitator"))
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .join(Cohort, Cohort.id == SupportSlot.cohort_id)
        .join(participant, participant.id == SupportBooking.participant_id)
        .join(facilitator, facilitator.id == SupportSlot.facilitator_id)
        .outerjoin(Membership, and_(Membership.cohort_id == SupportSlot.cohort_id,
                                    Membership.user_id == SupportBooking.participant_id))
        .where(SupportBooking.status == BookingStatus.BOOKED,
               SupportSlot.status == SlotStatus.OPEN, Cohort.is_archived.is_(False),
               day_before_due(SupportSlot.starts_at, now),
               or_(tell_participant, tell_facilitator))
        .order_by(SupportSlot.starts_at, SupportBooking.id)
    ).all()
    messages = []
    for booking, slot, cohort, person, host, to_participant, to_facilitator in rows:
        if to_participant:
            messages.append(_to_participant(booking, slot, cohort, person, host, now=now))
        if to_facilitator:
            messages.append(_to_facilitator(booking, slot, cohort, person, host, now=now))
    return len(send(messages, base_url=base_url))


def _when(slot: SupportSlot, cohort: Cohort) -> str:
    start = slot.starts_at.astimezone(ZoneInfo(cohort.timezone))
    return f"{start:%A %-d %B at %H:%M} ({cohort.timezone}), {slot.minutes} minutes"


def _message(booking: SupportBooking, slot: SupportSlot, cohort: Cohort, person: User, *,
             title: str, body: str, link: str, side: str, other: User) -> Message:
    start = slot.starts_at.astimezone(ZoneInfo(cohort.timezone))
    return Message(
        person=person, kind=NotificationKind.SUPPORT_REMINDER, title=title, body=body,
        dedup_key=key("support", booking.id, person.id, "24h", slot.starts_at), link=link,
        cohort=cohort, expires_at=slot.starts_at, email_template="support_reminder",
        email_subject=f"Reminder: 1:1 with {other.name}, {start:%A %-d %B at %H:%M}",
        email_context={"slot": slot, "side": side, "other": other,
                       "mode": MODE_LABELS[slot.mode]})


def _to_participant(booking: SupportBooking, slot: SupportSlot, cohort: Cohort,
                    person: User, host: User, *, now: datetime) -> Message:
    body = f"With {host.name} on {_when(slot, cohort)}."
    if slot.mode is SlotMode.VIDEO:
        body += " By video call: the join link is on the 1:1 page."
    elif slot.mode is SlotMode.PHONE:
        body += f" By phone: {slot.place}." if slot.place else " By phone."
    elif slot.place:
        body += f" Where: {slot.place}."
    body += " If you can no longer come, cancel it there so someone else can have the slot."
    return _message(
        booking, slot, cohort, person, side="participant", other=host,
        title=f"{day_word(slot.starts_at, now, cohort.timezone)}: your 1:1 with {host.name}",
        body=body, link=f"/cohorts/{cohort.id}/support")


def _to_facilitator(booking: SupportBooking, slot: SupportSlot, cohort: Cohort,
                    participant: User, host: User, *, now: datetime) -> Message:
    # The participant's name and the time, as the agenda shows: never the booking's note.
    body = f"With {participant.name} ({cohort.name}) on {_when(slot, cohort)}. "
    body += MODE_LABELS[slot.mode] + (f": {slot.place}." if slot.place else ".")
    day = slot.starts_at.astimezone(zone_of(host)).date()
    return _message(
        booking, slot, cohort, host, side="facilitator", other=participant,
        title=f"{day_word(slot.starts_at, now, cohort.timezone)}: 1:1 with {participant.name}",
        body=body, link=f"/support/agenda?view=day&day={day.isoformat()}")
