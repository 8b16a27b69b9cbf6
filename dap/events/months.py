"""A cohort's events month by month: which month a page asks for, and its grid of days.

Weeks start on Monday and days are the cohort's: an event belongs to the local day it starts
on (23:30 UTC in a British summer is the next day). A month costs two queries however many
events it holds: its events, and the viewer's answers to them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dap.cohorts.models import Cohort
from dap.events.models import Event, Rsvp, RsvpStatus
from dap.extensions import db

#: months further than this from the current one are not shown (a 404): nothing is scheduled
#: that far ahead, and it keeps crawlers from walking the calendar for ever
MAX_MONTHS_AWAY = 60
#: the answers a month marks for the viewer
MARKED = (RsvpStatus.GOING, RsvpStatus.WAITLISTED)

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def _index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _from_index(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def parse_month(raw: str | None, *, today: date) -> date | None:
    """The first day of the month ``raw`` names (``YYYY-MM``), or of ``today``'s month when
    there is no ``raw``; None for anything else, or a month too far from ``today``'s."""
    if raw is None:
        return today.replace(day=1)
    match = _MONTH.fullmatch(raw)
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        return None
    index = year * 12 + month - 1
    if abs(index - _index(today)) > MAX_MONTHS_AWAY:
        return None
    return _from_index(index)


@dataclass(frozen=True)
class Day:
    date: date
    in_month: bool
    is_today: bool
    events: list[Event]


@dataclass(frozen=True)
class Month:
    first: date
    weeks: list[list[Day]]
    #: the viewer's answer per event id (going or waitlisted only)
    answers: dict[int, RsvpStatus]
    previous: date | None
    next: date | None

    @property
    def has_events(self) -> bool:
        return any(day.events for week in self.weeks for day in week if day.in_month)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def month_of(cohort: Cohort, first: date, *, viewer_id: int, today: date) -> Month:
    """The grid of ``cohort``'s month starting ``first``: whole weeks, Monday to Sunday, the
    days of the neighbouring months included (and their events). Two queries."""
    zone = ZoneInfo(cohort.timezone)
    nxt = _from_index(_index(first) + 1)
    start = first - timedelta(days=first.weekday())
    last = nxt - timedelta(days=1)
    end = last + timedelta(days=7 - last.weekday())  # the Monday after the grid
    since, until = _midnight(start, zone), _midnight(end, zone)
    in_range = (Event.cohort_id == cohort.id, Event.starts_at >= since, Event.starts_at < until)

    by_day: dict[date, list[Event]] = defaultdict(list)
    for event in db.session.scalars(select(Event).where(*in_range)
                                    .order_by(Event.starts_at, Event.id)):
        by_day[event.starts_at.astimezone(zone).date()].append(event)
    answers: dict[int, RsvpStatus] = dict(db.session.execute(
        select(Rsvp.event_id, Rsvp.status).join(Event, Event.id == Rsvp.event_id)
        .where(Rsvp.user_id == viewer_id, Rsvp.status.in_(MARKED), *in_range)).all())

    days = [start + timedelta(days=n) for n in range((end - start).days)]
    weeks = [[Day(date=day, in_month=day.month == first.month, is_today=day == today,
                  events=by_day.get(day, [])) for day in days[n:n + 7]]
             for n in range(0, len(days), 7)]
    here = _index(today)
    previous, following = _index(first) - 1, _index(first) + 1
    return Month(first=first, weeks=weeks, answers=answers,
                 previous=_from_index(previous) if here - previous <= MAX_MONTHS_AWAY else None,
                 next=_from_index(following) if following - here <= MAX_MONTHS_AWAY else None)
