"""Events and 1:1 sessions as iCalendar (RFC 5545): a file per event or booking, each
person's feed, and the calendar objects emails carry (RFC 5546).

Each event or 1:1 slot keeps one ``UID`` for life and a ``SEQUENCE`` that goes up with every
change, so a calendar that has it updates it in place; a cancelled one says
``STATUS:CANCELLED``. Times carry the cohort's time zone (``TZID`` with its ``VTIMEZONE``), so
a series keeps its local time across a clock change in every calendar app. Whatever the
source, an entry is an :class:`Entry`, and one builder makes the ``VCALENDAR``.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import icalendar
from icalendar import vCalAddress
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from dap.accounts.models import User
from dap.clock import now_utc
from dap.events.models import KIND_LABELS, CalendarFeed, Event, Rsvp, RsvpStatus
from dap.extensions import db

PRODID = "-//DAP//Digital Action Plan//EN"


@dataclass(frozen=True)
class Entry:
    """One ``VEVENT``, whatever it comes from (an event, a 1:1 session)."""

    uid: str
    sequence: int
    #: when it last changed (``DTSTAMP``)
    stamp: datetime
    starts_at: datetime
    ends_at: datetime
    #: the IANA zone its times are shown in (the cohort's)
    timezone: str
    summary: str
    description: str
    #: its page on DAP
    link: str
    cancelled: bool = False
    location: str = ""
    categories: tuple[str, ...] = ()


def event_link(event: Event, base_url: str) -> str:
    return f"{base_url}/cohorts/{event.cohort_id}/events/{event.id}"


def event_entry(event: Event, *, link: str) -> Entry:
    """What a calendar shows of ``event``."""
    description = event.description
    if event.is_cancelled and event.cancel_reason:
        description = f"Cancelled: {event.cancel_reason}\n\n{description}".strip()
    return Entry(uid=event.uid, sequence=event.sequence, stamp=event.updated_at,
                 starts_at=event.starts_at, ends_at=event.ends_at,
                 timezone=event.cohort.timezone, summary=event.title, description=description,
                 link=link, cancelled=event.is_cancelled,
                 location=", ".join(part for part in (event.venue, event.address) if part),
                 categories=(KIND_LABELS[event.kind],))


def _component(entry: Entry) -> icalendar.Event:
    zone = ZoneInfo(entry.timezone)
    item = icalendar.Event()
    item.add("uid", entry.uid)
    item.add("sequence", entry.sequence)
    item.add("dtstamp", entry.stamp)
    item.add("dtstart", entry.starts_at.astimezone(zone))
    item.add("dtend", entry.ends_at.astimezone(zone))
    item.add("summary", entry.summary)
    item.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    if entry.categories:
        item.add("categories", list(entry.categories))
    if entry.location:
        item.add("location", entry.location)
    item.add("description", f"{entry.description}\n\n{entry.link}".strip())
    item.add("url", entry.link)
    return item


def build(entries: Iterable[Entry], *, name: str, method: str | None = None
          ) -> icalendar.Calendar:
    """The ``VCALENDAR`` holding ``entries``, each zone's ``VTIMEZONE`` first (the one
    builder for files, feeds and emails)."""
    entries = list(entries)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    for zone in sorted({entry.timezone for entry in entries}):  # before they are used
        calendar.add_component(_vtimezone(zone))
    for entry in entries:
        calendar.add_component(_component(entry))
    return calendar


def calendar_of(events: Iterable[Event], *, links: dict[int, str], name: str) -> bytes:
    """An iCalendar file holding ``events`` (``links``: the page of each, by id)."""
    return build([event_entry(e, link=links[e.id]) for e in events], name=name).to_ical()


class Method:
    """What an emailed calendar object asks of the calendar that receives it (RFC 5546)."""

    REQUEST = "REQUEST"  #: add or update these events
    CANCEL = "CANCEL"  #: take them off


def invite(entries: Iterable[Entry], *, method: str, person: User, organizer: str,
           going: bool, name: str | None = None) -> str:
    """The calendar object an email carries to ``person`` (RFC 5546): ``REQUEST`` to add or
    update ``entries`` (same UIDs and SEQUENCE as the feed, so a calendar updates one entry),
    ``CANCEL`` to take them off. ``organizer`` is the sender's address (``Name <addr>``);
    ``person`` is the only attendee, marked accepted when ``going``. Answers are given on
    DAP's page, not by calendar reply (``RSVP=FALSE``)."""
    if method not in (Method.REQUEST, Method.CANCEL):
        raise ValueError(f"unknown iTIP method {method!r}")
    entries = list(entries)
    calendar = build(entries, name=name or (entries[0].summary if entries else "DAP"),
                     method=method)
    display, address = parseaddr(organizer)
    for item in calendar.walk("VEVENT"):
        item.add("organizer", vCalAddress(f"mailto:{address}"),
                 parameters={"CN": display or "DAP"})
        item.add("attendee", vCalAddress(f"mailto:{person.email}"), parameters={
            "CN": person.name, "ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE",
            "PARTSTAT": "ACCEPTED" if going else "NEEDS-ACTION"})
        if method == Method.CANCEL:
            item["status"] = "CANCELLED"
    return calendar.to_ical().decode()


def invitation(events: Iterable[Event], *, method: str, person: User, organizer: str,
               links: dict[int, str], going: bool) -> str:
    """:func:`invite` for ``events`` (``links``: the page of each, by id)."""
    return invite([event_entry(e, link=links[e.id]) for e in events], method=method,
                  person=person, organizer=organizer, going=going)


@functools.lru_cache(maxsize=64)
def _vtimezone(name: str) -> icalendar.Timezone:
    """The ``VTIMEZONE`` of an IANA zone, built once per process (every clock change from
    1970 to 2038: the costliest part of a feed). Shared, never changed after."""
    return icalendar.Timezone.from_tzinfo(ZoneInfo(name), tzid=name)


# --- personal feeds -----------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed_token(person: User) -> str:
    """A new secret feed address for ``person``; the previous one stops working. Returns the
    token (shown once in the address; only its hash is kept). Flushes."""
    token = secrets.token_urlsafe(24)
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == person.id))
    if feed is None:
        feed = CalendarFeed(user_id=person.id)
        db.session.add(feed)
    feed.token_hash = _hash(token)
    feed.created_at = now_utc()
    feed.last_used_at = None
    db.session.flush()
    return token


def feed_owner(token: str) -> User | None:
    """Whose feed ``token`` opens, or None (unknown, replaced, or the account is not
    active)."""
    if not token or len(token) > 100:
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token)))
    if feed is None:
        return None
    owner = db.session.get(User, feed.user_id)
    if owner is None or not owner.is_active:
        return None
    feed.last_used_at = now_utc()
    return owner


def feed_events(person: User) -> list[Event]:
    """The events ``person`` answered "going" to (cancelled ones too, so that calendars take
    them off), oldest first; one query."""
    return list(db.session.scalars(
        select(Event).join(Rsvp, Rsvp.event_id == Event.id).options(joinedload(Event.cohort))
        .where(Rsvp.user_id == person.id, Rsvp.status == RsvpStatus.GOING)
        .order_by(Event.starts_at, Event.id)))


def feed_entries(person: User, *, base_url: str) -> list[Entry]:
    """Everything in ``person``'s feed: the events they go to and their 1:1 sessions (as a
    participant, or as the facilitator), cancelled ones too, by start; three queries
    whatever the number."""
    from dap.support.calendar import feed_entries as support_entries  # support builds on this

    entries = [event_entry(e, link=event_link(e, base_url)) for e in feed_events(person)]
    entries += support_entries(person, base_url=base_url)
    return sorted(entries, key=lambda entry: entry.starts_at)


def feed(person: User, *, base_url: str) -> bytes:
    """``person``'s personal feed as an iCalendar file."""
    return build(feed_entries(person, base_url=base_url), name=f"DAP: {person.name}").to_ical()
