"""The rules of events: scheduling (one event or a weekly or fortnightly series, at the
same local time across clock changes), cancelling, and answering with a waitlist.

Times are typed in the cohort's time zone and stored in UTC. A seat is taken under a lock
on the event's row, so two people answering "going" for the last seat at once get one
seat between them, on PostgreSQL and SQLite alike. Emails go through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import local_to_utc, now_utc
from dap.cohorts.models import Cohort
from dap.errors import DomainError
from dap.events import calendar
from dap.events.models import (
    Attendance,
    AttendanceMark,
    Event,
    EventInvitation,
    EventKind,
    EventMode,
    EventStatus,
    Rsvp,
    RsvpStatus,
)
from dap.extensions import db
from dap.nudges.models import NotificationKind
from dap.nudges.notify import Message, send
from dap.text import clean_text, clean_url
from dap.webhooks import services as webhooks

TITLE_MAX = 160
DESCRIPTION_MAX = 10_000
VENUE_MAX = 160
ADDRESS_MAX = 300
REASON_MAX = 1_000
CAPACITY_MAX = 10_000
#: the longest event (a day-long kick-off is fine; a week is a typo)
LONGEST = timedelta(hours=24)
SERIES_MAX = 26
#: how far ahead an event may be scheduled
FURTHEST = timedelta(days=2 * 366)


class Repeat:
    """How a series repeats: the days between its events."""

    NONE = 0
    WEEKLY = 7
    FORTNIGHTLY = 14


@dataclass(frozen=True)
class EventDetails:
    """What a facilitator types for an event; local times are in the cohort's time zone."""

    kind: EventKind | None
    title: str | None
    description: str | None
    starts_local: datetime | None
    ends_local: datetime | None
    mode: EventMode | None
    venue: str | None = ""
    address: str | None = ""
    join_url: str | None = ""
    capacity: int | None = None
    rsvp_deadline_local: datetime | None = None


@dataclass(frozen=True)
class _Clean:
    kind: EventKind
    title: str
    description: str
    mode: EventMode
    venue: str
    address: str
    join_url: str
    capacity: int | None


def _clean(details: EventDetails) -> _Clean:
    if details.kind is None:
        raise DomainError("Choose what kind of event this is.", field="kind")
    if details.mode is None:
        raise DomainError("Choose how people take part.", field="mode")
    venue = clean_text(details.venue, field="venue", max_len=VENUE_MAX, label="a venue")
    if details.mode is not EventMode.ONLINE and not venue:
        raise DomainError("Say where it happens: people come in person.", field="venue")
    capacity = details.capacity
    if capacity is not None and (isinstance(capacity, bool) or not 1 <= capacity <= CAPACITY_MAX):
        raise DomainError(f"Enter a number of seats from 1 to {CAPACITY_MAX:,}, or leave it "
                          "empty for no limit.", field="capacity")
    return _Clean(
        kind=details.kind,
        title=clean_text(details.title, field="title", max_len=TITLE_MAX, label="a title",
                         required=True),
        description=clean_text(details.description, field="description",
                               max_len=DESCRIPTION_MAX, label="a description"),
        mode=details.mode, venue=venue,
        address=clean_text(details.address, field="address", max_len=ADDRESS_MAX,
                           label="an address"),
        join_url=clean_url(details.join_url, field="join_url"),
        capacity=capacity,
    )


def _times(details: EventDetails, timezone: str, *, shift: timedelta = timedelta(0)
           ) -> tuple[datetime, datetime, datetime | None]:
    """Start, end and answer deadline in UTC, ``shift`` days of wall-clock time later."""
    if details.starts_local is None:
        raise DomainError("Enter when it starts.", field="starts")
    if details.ends_local is None:
        raise DomainError("Enter when it ends.", field="ends")
    starts = local_to_utc(details.starts_local + shift, timezone, field="starts")
    ends = local_to_utc(details.ends_local + shift, timezone, field="ends")
    deadline = (local_to_utc(details.rsvp_deadline_local + shift, timezone,
                             field="rsvp_deadline")
                if details.rsvp_deadline_local is not None else None)
    return starts, ends, deadline


def _check_times(starts: datetime, ends: datetime, deadline: datetime | None) -> None:
    now = now_utc()
    if ends <= starts:
        raise DomainError("The end must come after the start.", field="ends")
    if ends - starts > LONGEST:
        raise DomainError("An event lasts at most 24 hours: check the end.", field="ends")
    if starts <= now:
        raise DomainError("That time has passed: choose a time to come.", field="starts")
    if starts - now > FURTHEST:
        raise DomainError("Schedule events at most two years ahead.", field="starts")
    if deadline is not None and not now < deadline <= starts:
        raise DomainError("Close answers at a time to come, no later than the start.",
                          field="rsvp_deadline")


def schedule(cohort: Cohort, details: EventDetails, *, actor: User, repeat: int = Repeat.NONE,
             count: int | None = 1) -> list[Event]:
    """Schedule an event, or a series of ``count`` events ``repeat`` days apart at the same
    local time (so across a clock change the UTC time moves and the local time does not).

    :raise DomainError: naming the field at fault.
    """
    if cohort.is_archived:
        raise DomainError("This cohort is archived: nothing new can be scheduled.")
    clean = _clean(details)
    if repeat not in (Repeat.NONE, Repeat.WEEKLY, Repeat.FORTNIGHTLY):
        raise DomainError("Choose how it repeats.", field="repeat")
    if repeat == Repeat.NONE:
        count = 1
    elif count is None or isinstance(count, bool) or not 2 <= count <= SERIES_MAX:
        raise DomainError(f"A series has from 2 to {SERIES_MAX} events.", field="count")
    occurrences = [_times(details, cohort.timezone, shift=timedelta(days=repeat * n))
                   for n in range(count)]
    for starts, ends, deadline in occurrences:
        _check_times(starts, ends, deadline)
    series_id = uuid.uuid4().hex if count > 1 else None
    events = []
    for starts, ends, deadline in occurrences:
        event = Event(cohort_id=cohort.id, series_id=series_id, kind=clean.kind,
                      title=clean.title, description=clean.description, starts_at=starts,
                      ends_at=ends, mode=clean.mode, venue=clean.venue, address=clean.address,
                      join_url=clean.join_url, capacity=clean.capacity, rsvp_deadline=deadline,
                      uid=f"{uuid.uuid4().hex}@dap", created_by_id=actor.id)
        db.session.add(event)
        events.append(event)
    db.session.flush()
    record("event.scheduled", actor=actor, cohort=cohort,
           events=[e.id for e in events], title=clean.title)
    return events


def update(event: Event, details: EventDetails, *, actor: User, base_url: str) -> bool:
    """Change an event that has not started. Calendars see the change (``sequence`` goes
    up); everyone going or waiting is told when the time, place or link changed. More
    seats pass to the people waiting. Returns whether anything changed.

    :raise DomainError: naming the field at fault; fewer seats than people going; an event
        cancelled, started or in an archived cohort.
    """
    if event.cohort.is_archived:
        raise DomainError("This cohort is archived: its events can no longer change.")
    if event.is_cancelled:
        raise DomainError("This event is cancelled: it can no longer change.")
    if event.starts_at <= now_utc():
        raise DomainError("This event has started: it can no longer change.")
    clean = _clean(details)
    starts, ends, deadline = _times(details, event.cohort.timezone)
    _check_times(starts, ends, deadline)
    going = going_count(event.id)
    if clean.capacity is not None and clean.capacity < going:
        raise DomainError(f"{going} people are going: keep at least {going} seats, or ask "
                          "some of them first.", field="capacity")
    before = _visible(event)
    event.kind, event.title, event.description = clean.kind, clean.title, clean.description
    event.mode, event.venue, event.address = clean.mode, clean.venue, clean.address
    event.join_url, event.capacity = clean.join_url, clean.capacity
    event.starts_at, event.ends_at, event.rsvp_deadline = starts, ends, deadline
    after = _visible(event)
    if after == before:
        return False
    event.sequence += 1
    event.updated_at = now_utc()
    db.session.flush()
    _promote(event, base_url=base_url)
    if _logistics(before) != _logistics(after):
        _tell_everyone_coming(event, what="changed", subject=f"Changed: {event.title}",
                              base_url=base_url)
    record("event.updated", actor=actor, cohort=event.cohort, event=event.id,
           title=event.title, sequence=event.sequence)
    return True


def _visible(event: Event) -> tuple:
    """What people and calendars see of an event."""
    return (event.kind, event.title, event.description, event.capacity, event.rsvp_deadline,
            *_logistics_of(event))


def _logistics_of(event: Event) -> tuple:
    return (event.starts_at, event.ends_at, event.mode, event.venue, event.address,
            event.join_url)


def _logistics(visible: tuple) -> tuple:
    """When, where and how to join: the part of an event people are told about."""
    return visible[5:]


def cancel(event: Event, *, actor: User, reason: str | None, base_url: str) -> None:
    """Cancel an event: everyone going or waiting is told (once each), and calendars see
    the change (``sequence`` goes up).

    :raise DomainError: when it is already cancelled or over.
    """
    if event.is_cancelled:
        raise DomainError("This event is already cancelled.")
    if event.ends_at <= now_utc():
        raise DomainError("This event is over: it can no longer be cancelled.")
    event.cancel_reason = clean_text(reason, field="reason", max_len=REASON_MAX,
                                     label="a reason")
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now_utc()
    event.sequence += 1
    event.updated_at = now_utc()
    db.session.flush()
    _tell_everyone_coming(event, what="cancelled", subject=f"Cancelled: {event.title}",
                          base_url=base_url)
    record("event.cancelled", actor=actor, cohort=event.cohort, event=event.id,
           title=event.title)


# --- answers ------------------------------------------------------------------------------------


def answers_close_at(event: Event) -> datetime:
    return event.rsvp_deadline or event.starts_at


def going_count(event_id: int) -> int:
    return db.session.scalar(select(func.count(Rsvp.id)).where(
        Rsvp.event_id == event_id, Rsvp.status == RsvpStatus.GOING)) or 0


def respond(event: Event, person: User, *, going: bool, base_url: str) -> Rsvp:
    """Answer "going" or "can't go". Going takes a seat when there is one, or a place at the
    end of the waitlist. Giving up a seat passes it to the first person waiting, who is
    told. Answering the same twice changes nothing.

    :raise DomainError: when the event is cancelled, or answers have closed.
    """
    # The lock: whoever holds it counts the seats and takes one; the others wait their turn.
    locked = db.session.scalar(select(Event).where(Event.id == event.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None or locked.is_cancelled:
        raise DomainError("This event was cancelled.")
    now = now_utc()
    if now >= answers_close_at(locked):
        raise DomainError("Answers for this event have closed.")
    rsvp = db.session.scalar(select(Rsvp).where(Rsvp.event_id == locked.id,
                                                Rsvp.user_id == person.id))
    if rsvp is None:
        rsvp = Rsvp(event_id=locked.id, user_id=person.id, status=RsvpStatus.DECLINED,
                    created_at=now)
        db.session.add(rsvp)
    was = rsvp.status if rsvp.id is not None else None
    if going:
        if was in (RsvpStatus.GOING, RsvpStatus.WAITLISTED):
            return rsvp
        if locked.capacity is None or going_count(locked.id) < locked.capacity:
            rsvp.status = RsvpStatus.GOING
            rsvp.waitlisted_at = None
        else:
            rsvp.status = RsvpStatus.WAITLISTED
            rsvp.waitlisted_at = now
    else:
        if was is RsvpStatus.DECLINED:
            return rsvp
        rsvp.status = RsvpStatus.DECLINED
        rsvp.waitlisted_at = None
    rsvp.updated_at = now
    db.session.flush()
    webhooks.emit(locked.cohort_id, "event.rsvp", lambda: webhooks.rsvp_answered(locked, rsvp, person))
    if was is RsvpStatus.GOING and not going:
        _promote(locked, base_url=base_url)
    return rsvp


def _promote(event: Event, *, base_url: str) -> None:
    """Give free seats to the people waiting longest, and tell them."""
    while event.capacity is None or going_count(event.id) < event.capacity:
        first = db.session.scalar(
            select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.WAITLISTED)
            .order_by(Rsvp.waitlisted_at, Rsvp.id).limit(1))
        if first is None:
            return
        first.status = RsvpStatus.GOING
        first.promoted_at = now_utc()
        first.waitlisted_at = None
        first.updated_at = now_utc()
        db.session.flush()
        _tell(first.user, event, template="event_promoted", kind="event_promoted",
              subject=f"A seat is yours: {event.title}", base_url=base_url,
              dedup_key=f"event:{event.id}:promoted:{first.user_id}:{first.promoted_at:%s}")


def _tell_everyone_coming(event: Event, *, what: str, subject: str, base_url: str) -> None:
    """Email the ``event_<what>`` message to everyone going or waiting, and to everyone
    invited who has not said they can't go; once per version of the event (``sequence``)
    and person. Whoever holds the event in a calendar (going, or invited) gets the
    calendar update with it: ``CANCEL`` when cancelled, ``REQUEST`` otherwise."""
    answers = dict(db.session.execute(
        select(Rsvp.user_id, Rsvp.status).where(Rsvp.event_id == event.id)).all())
    invited = set(db.session.scalars(
        select(EventInvitation.user_id).where(EventInvitation.event_id == event.id)))
    told = {user_id for user_id, status in answers.items()
            if status in (RsvpStatus.GOING, RsvpStatus.WAITLISTED)}
    told |= {user_id for user_id in invited if answers.get(user_id) is not RsvpStatus.DECLINED}
    method = calendar.Method.CANCEL if what == "cancelled" else calendar.Method.REQUEST
    for person in db.session.scalars(select(User).where(User.id.in_(told)).order_by(User.id)):
        going = answers.get(person.id) is RsvpStatus.GOING
        holds = going or person.id in invited
        _tell(person, event, template=f"event_{what}", kind=f"event_{what}", subject=subject,
              base_url=base_url, method=method if holds else None, going=going,
              dedup_key=f"event:{event.id}:{what}:{event.sequence}:{person.id}")


def _link(event: Event, base_url: str) -> str:
    return f"{base_url}/cohorts/{event.cohort_id}/events/{event.id}"


def when_line(event: Event) -> str:
    """"Tuesday 3 March, 10:00–12:00 (Europe/London), Room 4" for in-app messages."""
    zone = ZoneInfo(event.cohort.timezone)
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    line = f"{start:%A %-d %B, %H:%M}–{end:%H:%M} ({event.cohort.timezone})"
    return f"{line}, {event.venue}" if event.venue else line


#: the in-app words for each message about an event
_TELLING = {
    "event_invitation": (NotificationKind.EVENT_INVITATION, "You're invited: {title}",
                         "{when}. Say whether you're going on the event's page."),
    "event_promoted": (NotificationKind.EVENT_PROMOTED, "A seat is yours: {title}",
                       "A seat came free and it is yours: {when}. If you can no longer go, "
                       "say so on the event's page so the next person can have it."),
    "event_changed": (NotificationKind.EVENT_CHANGED, "Changed: {title}",
                      "The details have changed. It is now {when}."),
    "event_cancelled": (NotificationKind.EVENT_CANCELLED, "Cancelled: {title}",
                        "{title} on {when} will not take place."),
}


def _message(person: User, event: Event, *, template: str, subject: str, base_url: str,
             dedup_key: str, method: str | None = calendar.Method.REQUEST,
             going: bool = True, series: list[Event] | None = None) -> Message:
    """The message about ``event`` (or a ``series`` of events) to ``person``: in their
    inbox, and by email (governed) with a calendar entry carrying ``method`` (none when
    None)."""
    events = series or [event]
    ics = (calendar.invitation(events, method=method, person=person,
                               organizer=current_app.config["MAIL_FROM"],
                               links={e.id: _link(e, base_url) for e in events}, going=going)
           if method and person.email else "")
    kind, title, body = _TELLING[template]
    words = {"title": event.title, "when": when_line(event)}
    return Message(
        person=person, kind=kind, title=title.format(**words), body=body.format(**words),
        dedup_key=dedup_key, link=f"/cohorts/{event.cohort_id}/events/{event.id}",
        cohort=event.cohort, email_template=template, email_subject=subject,
        email_context={"event": event, "series": events, "with_calendar": bool(ics)},
        calendar_ics=ics)


def _tell(person: User, event: Event, *, template: str, kind: str, subject: str,
          base_url: str, dedup_key: str, method: str | None = calendar.Method.REQUEST,
          going: bool = True, series: list[Event] | None = None) -> bool:
    """Tell ``person`` about ``event`` (see ``_message``). Returns whether it was new."""
    del kind  # the kind follows from the template
    return bool(send([_message(person, event, template=template, subject=subject,
                               base_url=base_url, dedup_key=dedup_key, method=method,
                               going=going, series=series)], base_url=base_url))


def invite(events: list[Event], *, base_url: str) -> int:
    """Email the cohort's active participants an invitation to ``events`` (one event, or a
    series in one email), each with a calendar entry (``METHOD:REQUEST``) holding them all.
    Once per person: inviting again sends nothing new. Returns how many were invited."""
    first = events[0]
    members = participant_ids(first.cohort_id)
    if not members:
        return 0
    already = set(db.session.scalars(select(EventInvitation.user_id).where(
        EventInvitation.event_id == first.id)))
    subject = (f"You're invited: {first.title}" if len(events) == 1
               else f"You're invited: {first.title} ({len(events)} dates)")
    people = db.session.scalars(select(User).where(User.id.in_(members - already))
                                .order_by(User.id)).all()
    keys = {f"event:{first.id}:invited:{person.id}": person for person in people}
    stored = send([_message(person, first, template="event_invitation", subject=subject,
                            base_url=base_url, going=False, series=events, dedup_key=key)
                   for key, person in keys.items()], base_url=base_url)
    for key in stored:
        person = keys[key]
        db.session.add_all(EventInvitation(event_id=event.id, user_id=person.id)
                           for event in events)
    db.session.flush()
    return len(stored)


# --- reading ------------------------------------------------------------------------------------


def waitlist_position(rsvp: Rsvp) -> int | None:
    """1 for the first person waiting; None when not waiting."""
    return waitlist_positions([rsvp]).get(rsvp.id)


def waitlist_positions(rsvps: list[Rsvp]) -> dict[int, int]:
    """Answer id → its place on its event's waitlist (1: the first person waiting), for
    the answers that are waiting, in one query whatever their number. The waitlist's
    order: ``waitlisted_at``, then id."""
    waiting = [r.id for r in rsvps if r.status is RsvpStatus.WAITLISTED]
    if not waiting:
        return {}
    ahead = aliased(Rsvp)
    rows = db.session.execute(
        select(Rsvp.id, func.count(ahead.id))
        .outerjoin(ahead, and_(
            ahead.event_id == Rsvp.event_id, ahead.status == RsvpStatus.WAITLISTED,
            or_(ahead.waitlisted_at < Rsvp.waitlisted_at,
                and_(ahead.waitlisted_at == Rsvp.waitlisted_at, ahead.id < Rsvp.id))))
        .where(Rsvp.id.in_(waiting)).group_by(Rsvp.id)).all()
    return {rsvp_id: n + 1 for rsvp_id, n in rows}


def answer_counts(event_ids: list[int]) -> dict[int, dict[RsvpStatus, int]]:
    """Answers per event and status, in one query."""
    counts: dict[int, dict[RsvpStatus, int]] = {i: {} for i in event_ids}
    if event_ids:
        for event_id, status, n in db.session.execute(
                select(Rsvp.event_id, Rsvp.status, func.count(Rsvp.id))
                .where(Rsvp.event_id.in_(event_ids)).group_by(Rsvp.event_id, Rsvp.status)):
            counts[event_id][status] = n
    return counts


def shows_join_link(event: Event, *, manages: bool, answer: Rsvp | None) -> bool:
    """Who sees an online event's join link: the people going, and those running it;
    nobody once it is cancelled."""
    return bool(event.join_url) and not event.is_cancelled and (
        manages or (answer is not None and answer.status is RsvpStatus.GOING))


# --- attendance ---------------------------------------------------------------------------------

#: the register opens this long before the start (people arrive early) ...
REGISTER_OPENS = timedelta(hours=1)
#: ... and stays open this long after the end (for the facilitator to catch up)
REGISTER_CLOSES = timedelta(days=14)


def register_open(event: Event) -> bool:
    now = now_utc()
    return (not event.is_cancelled and event.starts_at - REGISTER_OPENS <= now
            and now <= event.ends_at + REGISTER_CLOSES)


def participant_ids(cohort_id: int) -> set[int]:
    from dap.cohorts.models import CohortRole, Membership, MembershipStatus

    return set(db.session.scalars(select(Membership.user_id).where(
        Membership.cohort_id == cohort_id, Membership.role == CohortRole.PARTICIPANT,
        Membership.status == MembershipStatus.ACTIVE)))


def mark_attendance(event: Event, marks: dict[int, AttendanceMark | None], *,
                    actor: User) -> int:
    """Record who came: ``marks`` maps participants' user ids to a mark, or None to clear
    it. A no-show is for someone who said "going"; a walk-in for someone who did not.
    Returns how many marks changed.

    :raise DomainError: when the register is not open, or for a person or mark that does not
        fit.
    """
    if not register_open(event):
        raise DomainError("The register opens an hour before the start and closes two "
                          "weeks after the end (not for cancelled events).")
    members = participant_ids(event.cohort_id)
    going = set(db.session.scalars(select(Rsvp.user_id).where(
        Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.GOING)))
    existing = {a.user_id: a for a in db.session.scalars(
        select(Attendance).where(Attendance.event_id == event.id))}
    changed = 0
    for user_id, mark in marks.items():
        if user_id not in members:
            raise DomainError("Mark only this cohort's participants.")
        if mark is AttendanceMark.NO_SHOW and user_id not in going:
            raise DomainError("A no-show is for someone who said they were going.")
        if mark is AttendanceMark.WALK_IN and user_id in going:
            raise DomainError("A walk-in is for someone who had not said they were going: "
                              "mark people going as attended.")
        row = existing.get(user_id)
        if mark is None:
            if row is not None:
                db.session.delete(row)
                changed += 1
            continue
        if row is None:
            db.session.add(Attendance(event_id=event.id, user_id=user_id, mark=mark,
                                      recorded_by_id=actor.id))
            changed += 1
        elif row.mark is not mark:
            row.mark, row.recorded_by_id, row.recorded_at = mark, actor.id, now_utc()
            changed += 1
    db.session.flush()
    if changed:
        record("event.attendance", actor=actor, cohort=event.cohort, event=event.id,
               marks=changed)
    return changed


def mark_all_going_attended(event: Event, *, actor: User) -> int:
    """Everyone going who has no mark yet: attended. Returns how many were marked."""
    going = set(db.session.scalars(select(Rsvp.user_id).where(
        Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.GOING)))
    marked = set(db.session.scalars(select(Attendance.user_id).where(
        Attendance.event_id == event.id)))
    members = participant_ids(event.cohort_id)
    return mark_attendance(event, dict.fromkeys(sorted((going - marked) & members),
                                                AttendanceMark.ATTENDED), actor=actor)
