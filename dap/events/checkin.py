"""Self check-in: the facilitator shows a code that changes every minute (as a QR code and
in large type) and participants check themselves in with it on their phones.

A code is 8 characters of an alphabet without look-alikes (no 0/O, 1/I), taken from an
HMAC-SHA256 of the event (``id`` and ``uid``) and the minute since the epoch, keyed with
the app's secret: it cannot be guessed, nor worked out from an earlier one, and another
event's code never fits. The code of the current minute and of the ``MAX_AGE_MINUTES``
before it are accepted, so someone who scans at :59, or must sign in first, still gets in.
Codes are compared with ``hmac.compare_digest``.

Checking in is the register's mark by the person themselves (``recorded_by_id`` is their
own id): *attended* for someone who said "going", *walk-in* for anyone else. A mark already
on the register (the facilitator's, or an earlier check-in) is kept as it is.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import segno
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import now_utc
from dap.errors import DomainError
from dap.events.models import PRESENT_MARKS, Attendance, AttendanceMark, Event, Rsvp, RsvpStatus
from dap.events.services import participant_ids, register_open
from dap.extensions import db

#: 32 characters: the digits 2 to 9 and the letters without I and O (5 bits each)
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
#: a code stays good for the minute it is shown and this many minutes after
MAX_AGE_MINUTES = 3
#: longer input than this is not a code at all (and is not worked on further)
INPUT_MAX = 32

WRONG_CODE = ("That code is not right, or it has run out: the code changes every minute. "
              "Enter the one on the screen now.")


def minute_of(at: datetime) -> int:
    """Whole minutes since the Unix epoch at ``at`` (aware)."""
    return int(at.timestamp()) // 60


def seconds_left(at: datetime | None = None) -> int:
    """Seconds until the code changes (1 to 60)."""
    at = at or now_utc()
    return 60 - int(at.timestamp()) % 60


def code_for(event: Event, minute: int, *, secret_key: str) -> str:
    """The check-in code of ``event`` during ``minute`` (see ``minute_of``)."""
    message = f"dap-check-in:{event.id}:{event.uid}:{minute}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    number = int.from_bytes(digest[:5], "big")  # 40 bits: 8 characters of 5 bits
    return "".join(ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))


def current_code(event: Event, *, secret_key: str) -> str:
    """The code to show now."""
    return code_for(event, minute_of(now_utc()), secret_key=secret_key)


def display(code: str) -> str:
    """A code as shown on screen: two groups of four, easier to read out and type."""
    return f"{code[:4]} {code[4:]}"


def normalise(raw: str | None) -> str | None:
    """What a person typed, as a code to compare: spaces and dashes dropped, upper case
    (codes are accepted in any case). None for anything that cannot be a code."""
    if raw is None or len(raw) > INPUT_MAX:
        return None
    code = "".join(raw.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or not all(c in ALPHABET for c in code):
        return None
    return code


def code_is_valid(event: Event, raw: str | None, *, secret_key: str) -> bool:
    """Whether ``raw`` is the event's code of this minute or of the ``MAX_AGE_MINUTES``
    before it. Every candidate is compared in constant time."""
    code = normalise(raw)
    if code is None:
        return False
    now = minute_of(now_utc())
    matches = [hmac.compare_digest(code, code_for(event, minute, secret_key=secret_key))
               for minute in range(now - MAX_AGE_MINUTES, now + 1)]
    return any(matches)


def qr_svg(url: str) -> Markup:
    """``url`` as a QR code, inline SVG that scales to its box (dark on light whatever the
    page's colour scheme, so phones can read it)."""
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff",
                        svgclass="check-in-qr-svg", lineclass=None)
    return Markup(svg)  # noqa: S704 - segno's own markup: paths of the modules, no text of ours


@dataclass(frozen=True)
class CheckIn:
    """The outcome of checking in: the person's mark, and whether this check-in made it."""

    attendance: Attendance
    is_new: bool


def mark_of(event: Event, person: User) -> Attendance | None:
    """``person``'s mark on the event's register, if any."""
    return db.session.scalar(select(Attendance).where(Attendance.event_id == event.id,
                                                      Attendance.user_id == person.id))


def check_in(event: Event, person: User, raw_code: str | None, *, secret_key: str) -> CheckIn:
    """Check ``person`` in with the code they typed or scanned: *attended* when they said
    "going", *walk-in* otherwise, recorded by themselves (and in the audit log,
    ``event.checked_in``). A mark already on the register is kept, and checking in twice
    changes nothing.

    :raise DomainError: when the event is cancelled, the register is not open, the person is
        not one of the cohort's participants, or for a missing, wrong or expired code
        (``field="code"``).
    """
    if event.is_cancelled:
        raise DomainError("This event was cancelled: there is nothing to check in to.")
    if not register_open(event):
        raise DomainError("Check-in opens an hour before the start and closes two weeks "
                          "after the end.")
    if person.id not in participant_ids(event.cohort_id):
        raise DomainError("Only the cohort’s participants check in.")
    existing = mark_of(event, person)
    if existing is not None:
        return CheckIn(existing, is_new=False)
    if raw_code is None or not raw_code.strip():
        raise DomainError("Enter the code on the facilitator’s screen.", field="code")
    if not code_is_valid(event, raw_code, secret_key=secret_key):
        raise DomainError(WRONG_CODE, field="code")
    going = db.session.scalar(select(Rsvp.id).where(
        Rsvp.event_id == event.id, Rsvp.user_id == person.id,
        Rsvp.status == RsvpStatus.GOING)) is not None
    attendance = Attendance(event_id=event.id, user_id=person.id,
                            mark=AttendanceMark.ATTENDED if going else AttendanceMark.WALK_IN,
                            recorded_by_id=person.id, recorded_at=now_utc())
    try:
        with db.session.begin_nested():  # a double tap, or the facilitator at the same moment
            db.session.add(attendance)
    except IntegrityError:
        existing = mark_of(event, person)
        if existing is None:  # pragma: no cover - the row that won has gone again
            raise
        return CheckIn(existing, is_new=False)
    record("event.checked_in", actor=person, cohort=event.cohort, event=event.id,
           mark=attendance.mark.value)
    return CheckIn(attendance, is_new=True)


def checked_in_counts(event: Event) -> tuple[int, int]:
    """How many people the register has as there, and how many of them checked themselves
    in."""
    row = db.session.execute(
        select(func.count(Attendance.id),
               func.count(Attendance.id).filter(Attendance.recorded_by_id == Attendance.user_id))
        .where(Attendance.event_id == event.id, Attendance.mark.in_(PRESENT_MARKS))).one()
    return row[0] or 0, row[1] or 0
