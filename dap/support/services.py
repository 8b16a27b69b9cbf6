"""The rules of 1:1 support: publishing slots (one, or a block split into equal slots with a
buffer between them), booking and cancelling, the waitlist for a free slot, and what comes
after a session.

Times are typed in the cohort's time zone and stored in UTC. A facilitator's slots never
overlap, across all their cohorts: publishing locks the facilitator's row, so two
publishings at once are checked one after the other. A slot is booked under a lock on its
row, and a partial unique index keeps a second active booking of it out of the database
whatever happens, so two participants booking one slot at once get one booking between
them. A participant's bookings are taken under a lock on their membership, so the limit
on active bookings holds under concurrency too. Emails go through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import local_to_utc, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.errors import DomainError
from dap.events.calendar import Method
from dap.extensions import db
from dap.nudges.models import NotificationKind
from dap.nudges.notify import Message, send
from dap.support.calendar import invitation, slot_link
from dap.support.models import (
    BookingStatus,
    SlotMode,
    SlotStatus,
    SupportBooking,
    SupportSlot,
    SupportWaiter,
)
from dap.text import clean_text, clean_url

PLACE_MAX = 300
NOTE_MAX = 1_000
MESSAGE_MAX = 1_000
#: a slot lasts from 10 minutes to 4 hours; a block holds at most this many slots
SLOT_MINUTES = (10, 240)
BUFFER_MINUTES = (0, 120)
BLOCK_MAX_SLOTS = 48
#: cut-offs for booking and cancelling, in minutes before the start (up to a week)
CUT_OFF_MINUTES = (0, 7 * 24 * 60)
#: how far ahead slots may be published
FURTHEST = timedelta(days=366)


@dataclass(frozen=True)
class Availability:
    """What a facilitator types: a day and times in the cohort's time zone. With
    ``slot_minutes`` the time from ``starts`` to ``ends`` is a block, split into slots of
    that length with ``buffer_minutes`` between them; without, it is one slot."""

    day: date | None
    starts: time | None
    ends: time | None
    mode: SlotMode | None
    place: str | None = ""
    join_url: str | None = ""
    slot_minutes: int | None = None
    buffer_minutes: int | None = 0
    book_until_minutes: int | None = 60
    cancel_until_minutes: int | None = 120


def _whole(value, bounds: tuple[int, int], *, field: str, message: str) -> int:
    if value is None or isinstance(value, bool) or not isinstance(value, int) \
            or not bounds[0] <= value <= bounds[1]:
        raise DomainError(message, field=field)
    return value


def _slot_times(cohort: Cohort, a: Availability) -> list[tuple[datetime, datetime]]:
    if a.day is None:
        raise DomainError("Enter the day.", field="day")
    if a.starts is None:
        raise DomainError("Enter when it starts.", field="starts")
    if a.ends is None:
        raise DomainError("Enter when it ends.", field="ends")
    start = local_to_utc(datetime.combine(a.day, a.starts), cohort.timezone, field="starts")
    end = local_to_utc(datetime.combine(a.day, a.ends), cohort.timezone, field="ends")
    if end <= start:
        raise DomainError("The end must come after the start.", field="ends")
    now = now_utc()
    if start <= now:
        raise DomainError("That time has passed: choose a time to come.", field="starts")
    if start - now > FURTHEST:
        raise DomainError("Publish slots at most a year ahead.", field="day")
    if a.slot_minutes is None:
        if end - start > timedelta(minutes=SLOT_MINUTES[1]):
            raise DomainError("A single slot lasts at most 4 hours: to offer several, give "
                              "the length of each slot.", field="ends")
        return [(start, end)]
    length = timedelta(minutes=_whole(
        a.slot_minutes, SLOT_MINUTES, field="slot_minutes",
        message="Give each slot from 10 to 240 minutes."))
    gap = timedelta(minutes=_whole(
        a.buffer_minutes or 0, BUFFER_MINUTES, field="buffer_minutes",
        message="Give a buffer from 0 to 120 minutes."))
    slots, at = [], start
    while at + length <= end:
        slots.append((at, at + length))
        at += length + gap
    if not slots:
        raise DomainError("The block is shorter than one slot: make it longer, or the slots "
                          "shorter.", field="slot_minutes")
    if len(slots) > BLOCK_MAX_SLOTS:
        raise DomainError(f"A block holds at most {BLOCK_MAX_SLOTS} slots.",
                          field="slot_minutes")
    return slots


def _lock(model, row_id: int):
    """The row, locked until the transaction ends (``FOR UPDATE`` on PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already holds the database's write lock)."""
    return db.session.scalar(select(model).where(model.id == row_id).with_for_update()
                             .execution_options(populate_existing=True))


def overlapping(facilitator_id: int, start: datetime, end: datetime,
                *, excluding: int | None = None) -> SupportSlot | None:
    """The facilitator's first open slot, in any cohort, that overlaps ``[start, end)``."""
    query = select(SupportSlot).where(
        SupportSlot.facilitator_id == facilitator_id, SupportSlot.status == SlotStatus.OPEN,
        SupportSlot.starts_at < end, SupportSlot.ends_at > start)
    if excluding is not None:
        query = query.where(SupportSlot.id != excluding)
    return db.session.scalar(query.order_by(SupportSlot.starts_at).limit(1))


def publish(cohort: Cohort, availability: Availability, *, actor: User,
            base_url: str) -> list[SupportSlot]:
    """Publish one slot or a block of slots for ``cohort``, run by ``actor``. People
    waiting for a slot are told (first come, first served: one person per new slot).

    :raise DomainError: naming the field at fault; a time that overlaps one of the
        facilitator's open slots in any cohort.
    """
    if cohort.is_archived:
        raise DomainError("This cohort is archived: nothing new can be published.")
    a = availability
    if a.mode is None:
        raise DomainError("Choose how the sessions happen.", field="mode")
    place = clean_text(a.place, field="place", max_len=PLACE_MAX, label="a place")
    if a.mode is SlotMode.IN_PERSON and not place:
        raise DomainError("Say where you will meet.", field="place")
    join_url = clean_url(a.join_url, field="join_url")
    if a.mode is SlotMode.VIDEO and not join_url:
        raise DomainError("Give the video call's link (only the person booked sees it).",
                          field="join_url")
    book_until = _whole(a.book_until_minutes, CUT_OFF_MINUTES, field="book_until_minutes",
                        message="Enter minutes from 0 to 10,080 (a week).")
    cancel_until = _whole(a.cancel_until_minutes, CUT_OFF_MINUTES, field="cancel_until_minutes",
                          message="Enter minutes from 0 to 10,080 (a week).")
    times = _slot_times(cohort, a)
    _lock(User, actor.id)  # one publishing at a time per facilitator: the overlap check holds
    for start, end in times:
        clash = overlapping(actor.id, start, end)
        if clash is not None:
            zone = clash.cohort.timezone
            raise DomainError(
                f"You already offer a slot from {clash.starts_at.astimezone(ZoneInfo(zone)):%H:%M} "
                f"to {clash.ends_at.astimezone(ZoneInfo(zone)):%H:%M} on "
                f"{clash.starts_at.astimezone(ZoneInfo(zone)):%-d %B} ({clash.cohort.name}): "
                "choose a time that does not overlap it.", field="starts")
    block_id = uuid.uuid4().hex if len(times) > 1 else None
    slots = [SupportSlot(cohort_id=cohort.id, facilitator_id=actor.id, starts_at=start,
                         ends_at=end, mode=a.mode, place=place, join_url=join_url,
                         book_until_minutes=book_until, cancel_until_minutes=cancel_until,
                         block_id=block_id, uid=f"{uuid.uuid4().hex}@dap-support")
             for start, end in times]
    db.session.add_all(slots)
    db.session.flush()
    record("support.published", actor=actor, cohort=cohort, slots=[s.id for s in slots])
    _tell_waiting(cohort, len(slots), base_url=base_url)
    return slots


# --- booking ------------------------------------------------------------------------------------


def books_until(slot: SupportSlot) -> datetime:
    return slot.starts_at - timedelta(minutes=slot.book_until_minutes)


def cancels_until(slot: SupportSlot) -> datetime:
    return slot.starts_at - timedelta(minutes=slot.cancel_until_minutes)


def active_booking(slot_id: int) -> SupportBooking | None:
    return db.session.scalar(select(SupportBooking).where(
        SupportBooking.slot_id == slot_id, SupportBooking.status == BookingStatus.BOOKED))


def active_bookings_of(participant_id: int, cohort_id: int) -> int:
    """The participant's bookings in the cohort that are still to come."""
    return db.session.scalar(
        select(func.count(SupportBooking.id)).join(SupportSlot)
        .where(SupportBooking.participant_id == participant_id,
               SupportBooking.status == BookingStatus.BOOKED,
               SupportSlot.cohort_id == cohort_id, SupportSlot.ends_at > now_utc())) or 0


def _membership(cohort_id: int, participant: User) -> Membership | None:
    return db.session.scalar(select(Membership).where(
        Membership.cohort_id == cohort_id, Membership.user_id == participant.id,
        Membership.role == CohortRole.PARTICIPANT, Membership.status == MembershipStatus.ACTIVE))


def book(slot: SupportSlot, participant: User, *, note: str | None, actor: User,
         base_url: str) -> SupportBooking:
    """Book ``slot`` for ``participant`` (``actor``: the participant, or a facilitator
    booking for a managed participant, who may book until the start). The participant is
    emailed a confirmation carrying the calendar entry (once per booking); calendars see
    the change (the slot's ``sequence`` goes up).

    :raise DomainError: the cohort is archived; the slot is taken, withdrawn, closed for
        booking or past; the person
        is not a participant of its cohort; someone else is booked for who has an account;
        they already have as many bookings as the cohort allows.
    """
    if slot.cohort.is_archived:
        raise DomainError("This cohort is archived: nothing new can be booked.")
    text = clean_text(note, field="note", max_len=NOTE_MAX, label="what you'd like help with")
    if actor.id != participant.id and not participant.is_managed:
        raise DomainError(f"{participant.name} has an account: they book for themselves.",
                          field="participant")
    membership = _membership(slot.cohort_id, participant)
    if membership is None:
        raise DomainError("Only the cohort's participants book 1:1 sessions.")
    _lock(Membership, membership.id)  # one booking at a time per participant: the limit holds
    locked = _lock(SupportSlot, slot.id)
    if locked is None or locked.is_withdrawn:
        raise DomainError("This slot was withdrawn by the facilitator.")
    now = now_utc()
    if locked.starts_at <= now:
        raise DomainError("This slot has passed.")
    if now >= books_until(locked) and actor.id == participant.id:
        raise DomainError("Booking for this slot has closed: choose a later one.")
    mine = active_booking(locked.id)
    if mine is not None:
        if mine.participant_id == participant.id:
            return mine
        raise DomainError("Someone has just booked this slot: choose another one.")
    cohort = locked.cohort
    if active_bookings_of(participant.id, cohort.id) >= cohort.support_bookings_max:
        allowed = cohort.support_bookings_max
        who = "You" if actor.id == participant.id else participant.name
        raise DomainError(f"{who} can have {allowed} 1:1 session{'s' if allowed != 1 else ''} "
                          "booked at a time in this cohort: cancel one to book another.")
    booking = SupportBooking(slot_id=locked.id, participant_id=participant.id, note=text,
                             booked_by_id=actor.id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(booking)
    except IntegrityError as exc:  # the unique index: another booking got in first
        raise DomainError("Someone has just booked this slot: choose another one.") from exc
    _touch(locked, now)
    _leave_waitlist(cohort.id, participant.id)
    on_behalf = actor.id != participant.id
    record("support.booked", actor=actor, cohort=cohort, slot=locked.id, booking=booking.id,
           subject=participant if on_behalf else None,
           **({"for_participant": participant.id} if on_behalf else {}))
    _email(participant, locked, template="support_booked", kind="support_booked",
           subject="Your 1:1 session is booked", base_url=base_url,
           dedup_key=f"support:{booking.id}:booked", booking=booking, method=Method.REQUEST)
    return booking


def managed_participants(cohort_id: int) -> list[User]:
    """The cohort's active participants without an account of their own (managed), by
    name: the people a facilitator books for."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE, User.is_managed.is_(True))
        .order_by(User.name, User.id)))


def book_on_behalf(slot: SupportSlot, participant_id: int | None, *, note: str | None,
                   actor: User, base_url: str) -> SupportBooking:
    """A facilitator (``actor``, whom the caller has checked may manage the cohort) books
    ``slot`` for a managed participant of its cohort, chosen by user id: :func:`book`'s
    rules, but until the start. Audited with ``for_participant``.

    :raise DomainError: nobody chosen; not an active participant of the slot's cohort; a
        participant with an account; and whatever :func:`book` refuses.
    """
    if participant_id is None:
        raise DomainError("Choose who the session is for.", field="participant")
    participant = db.session.get(User, participant_id)
    if participant is None or _membership(slot.cohort_id, participant) is None:
        raise DomainError("Choose one of this cohort's participants without an account.",
                          field="participant")
    return book(slot, participant, note=note, actor=actor, base_url=base_url)


def _touch(slot: SupportSlot, now: datetime) -> None:
    """A change calendars should see: ``sequence`` up by one, in SQL (never lost to a
    change at the same moment), and the time of the change."""
    slot.sequence = SupportSlot.sequence + 1
    slot.updated_at = now
    db.session.flush()


def cancel_booking(booking: SupportBooking, *, actor: User, as_facilitator: bool,
                   message: str | None = None, base_url: str) -> None:
    """Cancel a booking: the participant until the slot's cut-off; a facilitator until the
    start, with a message emailed to the participant. Either way the participant's email
    carries a calendar ``CANCEL`` (the confirmation put it in their calendar), and calendars
    see the change. The slot is free again and the first person waiting is told.

    :raise DomainError: already cancelled, past the cut-off, or the session has started.
    """
    if booking.status is BookingStatus.CANCELLED:
        raise DomainError("This booking is already cancelled.")
    slot = booking.slot
    now = now_utc()
    if slot.starts_at <= now:
        raise DomainError("This session has started: it can no longer be cancelled.")
    if not as_facilitator and now >= cancels_until(slot):
        raise DomainError("It is too late to cancel here: please tell your facilitator.")
    text = clean_text(message, field="message", max_len=MESSAGE_MAX, label="a message")
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.cancelled_by_id = actor.id
    booking.cancel_message = text if as_facilitator else ""
    _touch(slot, now)
    on_behalf = actor.id != booking.participant_id
    record("support.cancelled", actor=actor, cohort=slot.cohort, slot=slot.id,
           booking=booking.id, by="facilitator" if as_facilitator else "participant",
           subject=booking.participant if on_behalf else None,
           **({"for_participant": booking.participant_id} if on_behalf else {}))
    _email(booking.participant, slot, template="support_cancelled", kind="support_cancelled",
           subject="Your 1:1 session is cancelled", base_url=base_url,
           dedup_key=f"support:{booking.id}:cancelled", booking=booking, method=Method.CANCEL)
    if not slot.is_withdrawn:
        _tell_waiting(slot.cohort, 1, base_url=base_url)


def withdraw(slot: SupportSlot, *, actor: User, message: str | None, base_url: str) -> None:
    """Take back a slot that has not started; a booking on it is cancelled (and the person
    told with ``message``).

    :raise DomainError: already withdrawn or started.
    """
    if slot.is_withdrawn:
        raise DomainError("This slot is already withdrawn.")
    if slot.starts_at <= now_utc():
        raise DomainError("This slot has started: it can no longer be withdrawn.")
    slot.status = SlotStatus.WITHDRAWN
    slot.withdraw_reason = clean_text(message, field="message", max_len=MESSAGE_MAX,
                                      label="a message")
    booking = active_booking(slot.id)
    if booking is not None:
        cancel_booking(booking, actor=actor, as_facilitator=True, message=message,
                       base_url=base_url)
    else:
        _touch(slot, now_utc())
    record("support.withdrawn", actor=actor, cohort=slot.cohort, slot=slot.id)


# --- the waitlist -------------------------------------------------------------------------------


def waiting(cohort_id: int, participant_id: int) -> SupportWaiter | None:
    return db.session.scalar(select(SupportWaiter).where(
        SupportWaiter.cohort_id == cohort_id, SupportWaiter.participant_id == participant_id,
        SupportWaiter.notified_at.is_(None)))


def join_waitlist(cohort: Cohort, participant: User) -> SupportWaiter:
    """Ask to be told when a slot frees up or new ones open. Asking twice changes nothing.

    :raise DomainError: not a participant of the cohort; the cohort is archived.
    """
    if cohort.is_archived:
        raise DomainError("This cohort is archived.")
    if _membership(cohort.id, participant) is None:
        raise DomainError("Only the cohort's participants book 1:1 sessions.")
    found = waiting(cohort.id, participant.id)
    if found is not None:
        return found
    waiter = SupportWaiter(cohort_id=cohort.id, participant_id=participant.id)
    try:
        with db.session.begin_nested():
            db.session.add(waiter)
    except IntegrityError:  # asked twice at once: the other request's row stands
        return waiting(cohort.id, participant.id)
    return waiter


def _leave_waitlist(cohort_id: int, participant_id: int) -> None:
    found = waiting(cohort_id, participant_id)
    if found is not None:
        db.session.delete(found)
        db.session.flush()


def leave_waitlist(cohort: Cohort, participant: User) -> None:
    _leave_waitlist(cohort.id, participant.id)


def _tell_waiting(cohort: Cohort, free: int, *, base_url: str) -> int:
    """Tell the ``free`` people waiting longest that a slot is free (once each; they come
    off the list). Returns how many were told."""
    if free <= 0:
        return 0
    waiters = db.session.scalars(
        select(SupportWaiter).where(SupportWaiter.cohort_id == cohort.id,
                                    SupportWaiter.notified_at.is_(None))
        .order_by(SupportWaiter.created_at, SupportWaiter.id).limit(free)
        .with_for_update(skip_locked=True)).all()
    now = now_utc()
    people = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_([w.participant_id for w in waiters])))}
    messages = []
    for waiter in waiters:
        waiter.notified_at = now
        person = people.get(waiter.participant_id)
        if person is not None:
            messages.append(Message(
                person=person, kind=NotificationKind.SUPPORT_SLOT_FREE,
                title=f"A 1:1 slot is free: {cohort.name}",
                body="A slot has come free. Book it before someone else does.",
                link=f"/cohorts/{cohort.id}/support", cohort=cohort,
                dedup_key=f"support:waitlist:{waiter.id}", email_template="support_slot_free"))
    send(messages, base_url=base_url)
    db.session.flush()
    return len(waiters)


_TELLING = {
    "support_booked": (NotificationKind.SUPPORT_BOOKED, "Your 1:1 session is booked",
                       "With {facilitator} on {when}."),
    "support_cancelled": (NotificationKind.SUPPORT_CANCELLED, "Your 1:1 session is cancelled",
                          "The session with {facilitator} on {when} will not take place."),
}


def _email(person: User, slot: SupportSlot, *, template: str, kind: str, subject: str,
           base_url: str, dedup_key: str, booking: SupportBooking,
           method: str | None = None) -> None:
    """Tell ``person`` about ``booking``: in their inbox, and by email (governed) carrying
    its calendar entry with ``method`` when given."""
    del kind  # the kind follows from the template
    ics = (invitation(booking, method=method, base_url=base_url)
           if method and person.email else "")
    notification_kind, title, body = _TELLING[template]
    zone = ZoneInfo(slot.cohort.timezone)
    when = f"{slot.starts_at.astimezone(zone):%A %-d %B at %H:%M} ({slot.cohort.timezone})"
    text = body.format(facilitator=slot.facilitator.name, when=when)
    if template == "support_cancelled" and booking.cancel_message:
        text += f"\n\n{booking.cancel_message}"
    send([Message(
        person=person, kind=notification_kind, title=title, body=text,
        link=f"/cohorts/{slot.cohort_id}/support", cohort=slot.cohort, dedup_key=dedup_key,
        email_template=template, email_subject=subject, calendar_ics=ics,
        email_context={"slot": slot, "booking": booking, "with_calendar": bool(ics),
                       "by_you": booking.cancelled_by_id == person.id,
                       "slot_link": slot_link(slot, base_url)})], base_url=base_url)
