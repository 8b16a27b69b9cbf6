"""Events as iCalendar (RFC 5545): a file per event and each person's feed.

Each event keeps one ``UID`` for life and a ``SEQUENCE`` that goes up with every change, so
a calendar that has it updates it in place; a cancelled event says ``STATUS:CANCELLED``.
Times carry the cohort's time zone (``TZID`` with its ``VTIMEZONE``), so a series keeps its
local time across a clock change in every calendar app.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable
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


def _component(event: Event, *, link: str) -> icalendar.Event:
    zone = ZoneInfo(event.cohort.timezone)
    item = icalendar.Event()
    item.add("uid", event.uid)
    item.add("sequence", event.sequence)
    item.add("dtstamp", event.updated_at)
    item.add("dtstart", event.starts_at.astimezone(zone))
    item.add("dtend", event.ends_at.astimezone(zone))
    item.add("summary", event.title)
    item.add("status", "CANCELLED" if event.is_cancelled else "CONFIRMED")
    item.add("categories", [KIND_LABELS[event.kind]])
    where = ", ".join(part for part in (event.venue, event.address) if part)
    if where:
        item.add("location", where)
    description = event.description
    if event.is_cancelled and event.cancel_reason:
        description = f"Cancelled: {event.cancel_reason}\n\n{description}".strip()
    item.add("description", f"{description}\n\n{link}".strip())
    item.add("url", link)
    return item


def _calendar(events: list[Event], *, links: dict[int, str], name: str,
              method: str | None = None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    for zone in sorted({event.cohort.timezone for event in events}):  # before they are used
        calendar.add_component(_vtimezone(zone))
    for event in events:
        calendar.add_component(_component(event, link=links[event.id]))
    return calendar


def calendar_of(events: Iterable[Event], *, links: dict[int, str], name: str) -> bytes:
    """An iCalendar file holding ``events`` (``links``: the page of each, by id)."""
    return _calendar(list(events), links=links, name=name).to_ical()


class Method:
    """What an emailed calendar object asks of the calendar that receives it (RFC 5546)."""

    REQUEST = "REQUEST"  #: add or update these events
    CANCEL = "CANCEL"  #: take them off


def invitation(events: Iterable[Event], *, method: str, person: User, organizer: str,
               links: dict[int, str], going: bool) -> str:
    """The calendar object an email carries to ``person`` (RFC 5546): ``REQUEST`` to add or
    update ``events`` (same UIDs and SEQUENCE as the feed, so a calendar updates one entry),
    ``CANCEL`` to take them off. ``organizer`` is the sender's address (``Name <addr>``);
    ``person`` is the only attendee, marked accepted when ``going``. Answers are given on
    DAP's page, not by calendar reply (``RSVP=FALSE``)."""
    if method not in (Method.REQUEST, Method.CANCEL):
        raise ValueError(f"unknown iTIP method {method!r}")
    events = list(events)
    calendar = _calendar(events, links=links, name=events[0].title if events else "DAP",
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
