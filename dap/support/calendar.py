"""1:1 sessions in people's calendars: the participant's booking and the facilitator's booked
slot, as entries of the personal feed, a file per booking, and the calendar objects the
booking and cancelling emails carry.

A slot keeps one ``UID`` for life; its ``SEQUENCE`` goes up whenever a calendar should see
a change (booked, cancelled, withdrawn: see dap.support.services), so the participant's and
the facilitator's calendars update one entry in place. A cancelled booking or a withdrawn
slot stays in the feed with ``STATUS:CANCELLED``, so that calendars take it off. The
entries are built by dap.events.calendar, like events'.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from dap.accounts.models import User
from dap.events.calendar import Entry, build, invite
from dap.extensions import db
from dap.support.models import MODE_LABELS, SlotMode, SupportBooking, SupportSlot

#: how much of the participant's note the facilitator's calendar shows
NOTE_IN_CALENDAR = 200


def slot_link(slot: SupportSlot, base_url: str) -> str:
    return f"{base_url}/cohorts/{slot.cohort_id}/support/slots/{slot.id}"


def _short(text: str, limit: int = NOTE_IN_CALENDAR) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _is_off(slot: SupportSlot, booking: SupportBooking | None) -> bool:
    return slot.is_withdrawn or booking is None or not booking.is_active


def _why_off(slot: SupportSlot, booking: SupportBooking | None) -> str:
    reason = (booking.cancel_message if booking is not None else "") or slot.withdraw_reason
    return f"Cancelled: {reason}" if reason else "Cancelled."


def _where(slot: SupportSlot, *, joining: bool) -> str:
    """The place, or for a video call its link (``joining``: only for the people in it)."""
    if slot.place:
        return slot.place
    return slot.join_url if joining and slot.mode is SlotMode.VIDEO else ""


def _entry(slot: SupportSlot, *, summary: str, lines: list[str], cancelled: bool,
           base_url: str) -> Entry:
    return Entry(uid=slot.uid, sequence=slot.sequence, stamp=slot.updated_at,
                 starts_at=slot.starts_at, ends_at=slot.ends_at, timezone=slot.cohort.timezone,
                 summary=summary, description="\n".join(line for line in lines if line),
                 link=slot_link(slot, base_url), cancelled=cancelled,
                 location=_where(slot, joining=not cancelled), categories=("1:1 session",))


def participant_entry(booking: SupportBooking, *, base_url: str) -> Entry:
    """What the participant's calendar shows of their booking (the video link while it
    stands; their own note)."""
    slot = booking.slot
    cancelled = _is_off(slot, booking)
    how = MODE_LABELS[slot.mode] + (f": {slot.place}" if slot.place else "")
    return _entry(slot, summary=f"1:1 with {slot.facilitator.name}", cancelled=cancelled,
                  base_url=base_url, lines=[
                      _why_off(slot, booking) if cancelled else "",
                      f"Your 1:1 session with {slot.facilitator.name} ({slot.cohort.name}).",
                      how,
                      f"Join: {slot.join_url}" if slot.join_url and not cancelled else "",
                      f"You would like help with: {_short(booking.note)}" if booking.note else ""])


def facilitator_entry(slot: SupportSlot, booking: SupportBooking, *, base_url: str) -> Entry:
    """What the facilitator's calendar shows of a slot that was booked: who with and a
    short line of their note; cancelled when the booking (the last one) is, or the slot
    was withdrawn."""
    cancelled = _is_off(slot, booking)
    who = booking.participant.name
    return _entry(slot, summary=f"1:1 with {who}", cancelled=cancelled, base_url=base_url,
                  lines=[_why_off(slot, booking) if cancelled else "",
                         f"1:1 session with {who} ({slot.cohort.name}).",
                         MODE_LABELS[slot.mode] + (f": {slot.place}" if slot.place else ""),
                         f"Help with: {_short(booking.note)}" if booking.note else ""])


def _latest_per_slot(bookings) -> dict[int, SupportBooking]:
    """The last booking of each slot (a slot has at most one active booking, always its
    last one)."""
    latest: dict[int, SupportBooking] = {}
    for booking in bookings:
        if booking.slot_id not in latest or booking.id > latest[booking.slot_id].id:
            latest[booking.slot_id] = booking
    return latest


def feed_entries(person: User, *, base_url: str) -> list[Entry]:
    """``person``'s 1:1 sessions for their feed: the slots they booked as a participant
    (their last booking of each) and the slots of theirs someone booked as a facilitator
    (the last booking of each), cancelled ones too; two queries whatever the number."""
    mine = db.session.scalars(
        select(SupportBooking).join(SupportBooking.slot)
        .options(contains_eager(SupportBooking.slot).joinedload(SupportSlot.cohort),
                 contains_eager(SupportBooking.slot).joinedload(SupportSlot.facilitator))
        .where(SupportBooking.participant_id == person.id))
    entries = [participant_entry(b, base_url=base_url)
               for b in _latest_per_slot(mine).values()]
    theirs = db.session.scalars(
        select(SupportBooking).join(SupportBooking.slot)
        .options(contains_eager(SupportBooking.slot).joinedload(SupportSlot.cohort),
                 joinedload(SupportBooking.participant))
        .where(SupportSlot.facilitator_id == person.id))
    have = {entry.uid for entry in entries}
    entries += [facilitator_entry(b.slot, b, base_url=base_url)
                for b in _latest_per_slot(theirs).values() if b.slot.uid not in have]
    return entries


def booking_of(slot: SupportSlot, participant: User) -> SupportBooking | None:
    """``participant``'s last booking of ``slot`` (standing or cancelled), or None."""
    return db.session.scalar(
        select(SupportBooking).where(SupportBooking.slot_id == slot.id,
                                     SupportBooking.participant_id == participant.id)
        .order_by(SupportBooking.id.desc()).limit(1))


def booking_file(booking: SupportBooking, *, base_url: str) -> bytes:
    """An iCalendar file holding the participant's booking (same UID and SEQUENCE as their
    feed)."""
    entry = participant_entry(booking, base_url=base_url)
    return build([entry], name=entry.summary).to_ical()


def invitation(booking: SupportBooking, *, method: str, base_url: str) -> str:
    """The calendar object an email about ``booking`` carries to its participant:
    ``Method.REQUEST`` to add it, ``Method.CANCEL`` to take it off (RFC 5546)."""
    return invite([participant_entry(booking, base_url=base_url)], method=method,
                  person=booking.participant, organizer=current_app.config["MAIL_FROM"],
                  going=True)
