"""A cohort's records as CSV for its facilitators: check-ins, web activities, attendance at
events and 1:1 bookings, one line per record, optionally one team's and within a range of
days (see docs/INSIGHTS.md, "Exports").

Each ``*_rows`` function builds its query at once and returns a generator that runs it when
read, with ``yield_per`` (a server-side cursor on PostgreSQL, batches of ``BATCH`` rows on
SQLite) over plain columns, never ORM objects, so a download of any size holds one batch at
a time. Read the generator inside the request's contexts (``dap.core.csv.csv_stream`` does).

Whose records: everyone's who has any in the cohort, whatever their membership's status now
(a member removed since keeps the records of the time they took part), including people
whose account was deleted: their rows stay as the privacy code left them ("Deleted user", no
email, their words erased, figures and dates kept). Each line carries the team on the
person's membership of the cohort and that membership's status now (``active``,
``invited``, ``removed``; both empty without one), so a spreadsheet can leave out what the
dashboard leaves out (removed members). The order is stable: by the record's date (or the
event's or session's start), then by id.

Never exported: the facilitators' private notes on 1:1 sessions (``SessionNotes``) and what
the participant wrote when booking (``SupportBooking.note``); neither is even selected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, select, union
from sqlalchemy.orm import aliased

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort, Membership, MembershipStatus, Team
from dap.db import begin_read_only
from dap.errors import DomainError
from dap.events.models import KIND_LABELS as EVENT_KIND_LABELS
from dap.events.models import MARK_LABELS, Attendance, Event, EventStatus, Rsvp
from dap.events.models import MODE_LABELS as EVENT_MODE_LABELS
from dap.extensions import db
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.support.models import MODE_LABELS as SLOT_MODE_LABELS
from dap.support.models import SupportBooking, SupportSlot
from dap.timecap.models import ACTIVITY_LABELS, WebActivity

#: rows fetched from the database at a time
BATCH = 1000
#: the dates a filter accepts (local days): far enough either way for any programme, near
#: enough that a day's bounds in any time zone stay within what datetimes can hold
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
#: a database integer id (PostgreSQL ``integer``)
MAX_ID = 2_147_483_647
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Filters:
    """What an export is narrowed to: one team's people (by their membership), and the
    local days ``since`` to ``until`` in the cohort's time zone, both included (None: open)."""

    team_id: int | None = None
    since: date | None = None
    until: date | None = None


def parse_filters(args: Mapping[str, str]) -> Filters:
    """``Filters`` from query arguments ``team``, ``from`` and ``to``; an empty or missing
    one is no filter. A team of another organisation, or none at all, is accepted and
    matches nobody (as the baseline report's team filter).

    :raise DomainError: (field ``team``, ``from`` or ``to``) a team that is not a number, a
        day that is not a date written YYYY-MM-DD between 1900 and 2999, or ``from`` after
        ``to``.
    """
    raw_team = (args.get("team") or "").strip()
    team_id = None
    if raw_team:
        if not (raw_team.isascii() and raw_team.isdecimal()) or not 0 < int(raw_team) <= MAX_ID:
            raise DomainError("The team must be one of the teams offered.", field="team")
        team_id = int(raw_team)
    since, until = _day(args, "from"), _day(args, "to")
    if since and until and since > until:
        raise DomainError("The “from” date is after the “to” date.", field="from")
    return Filters(team_id=team_id, since=since, until=until)


def _day(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"The “{name}” date must be a date written YYYY-MM-DD.",
                          field=name) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError(f"The “{name}” date must be between {FIRST_DAY} and {LAST_DAY}.",
                          field=name)
    return day


def export_teams(cohort: Cohort) -> list[Team]:
    """The teams of the cohort's members, whatever their status, by name (the team filter
    of the exports page; one query)."""
    return list(db.session.scalars(
        select(Team).where(Team.organisation_id == cohort.organisation_id,
                           Team.id.in_(select(Membership.team_id)
                                       .where(Membership.cohort_id == cohort.id)))
        .order_by(Team.name, Team.id)))


# --- helpers --------------------------------------------------------------------------------


def _utc(moment: datetime | None) -> str | None:
    """A recorded moment: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _in_zone(zone: ZoneInfo) -> Callable[[datetime | None], str | None]:
    """A scheduled moment: ISO 8601 in the cohort's time zone, with its offset."""
    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else None
    return local


def _status(status: MembershipStatus | None) -> str | None:
    """A membership's status (active, invited or removed); empty without a membership."""
    return status.value if status is not None else None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` in ``zone``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _with_team(query: Select, cohort_id: int, user_id: Any, team_id: int | None) -> Select:
    """``query`` with the team of ``user_id``'s membership of the cohort and the
    membership's status now (columns ``team`` and ``membership``; outer joins: a record
    without a membership or team keeps its line), narrowed to one team's people with
    ``team_id``."""
    query = (query.add_columns(Team.name.label("team"), Membership.status.label("membership"))
             .outerjoin(Membership, and_(Membership.cohort_id == cohort_id,
                                         Membership.user_id == user_id))
             .outerjoin(Team, Team.id == Membership.team_id))
    return query if team_id is None else query.where(Membership.team_id == team_id)


def _between(column: Any, filters: Filters) -> list:
    """Criteria on a local-date column for the filter's days."""
    criteria = []
    if filters.since is not None:
        criteria.append(column >= filters.since)
    if filters.until is not None:
        criteria.append(column <= filters.until)
    return criteria


def _starting_between(column: Any, filters: Filters, zone: ZoneInfo) -> list:
    """Criteria on a UTC start column for the filter's local days, ``[since 00:00, the day
    after until 00:00)`` in the cohort's time zone."""
    criteria = []
    if filters.since is not None:
        criteria.append(column >= _midnight(filters.since, zone))
    if filters.until is not None:
        criteria.append(column < _midnight(filters.until + timedelta(days=1), zone))
    return criteria


def _stream(query: Select, line: Callable[[Any], Sequence[object]]) -> Iterator[Sequence[object]]:
    """Run ``query`` when first read, ``BATCH`` rows at a time, and give ``line(row)`` for
    each. The result is closed when the reader stops, even half-way.

    It reads in a transaction of its own that only reads (``begin_read_only``): the view has
    returned and its transaction is over by then, and on SQLite the usual ``BEGIN
    IMMEDIATE`` would hold the write lock until the client had the last line."""
    begin_read_only(db.session)
    result = db.session.execute(query.execution_options(yield_per=BATCH))
    try:
        for row in result:
            yield line(row)
    finally:
        result.close()


# --- check-ins ------------------------------------------------------------------------------

CHECK_IN_HEADER = ("participant", "email", "team", "membership", "goal", "date", "recorded_at",
                   "progress", "minutes", "note", "recorded_by")


def check_in_rows(cohort: Cohort, filters: Filters) -> Iterator[Sequence[object]]:
    """One line per check-in on the plans of ``cohort`` (``CHECK_IN_HEADER``): who, their
    email, team and membership status, the goal's title, the day it happened (the cohort's
    local date), when it was recorded (UTC), the progress and minutes given, the note, and
    who recorded it when someone did on the participant's behalf (empty when they did it
    themselves). The date filter is on the day it happened. By day, then id."""
    participant, recorder = aliased(User), aliased(User)
    query = _with_team(
        select(participant.name.label("participant"), participant.email,
               PlanGoal.title.label("goal"), CheckIn.local_date, CheckIn.created_at,
               CheckIn.progress, CheckIn.minutes, CheckIn.note,
               recorder.name.label("recorded_by"))
        .join(Plan, Plan.id == CheckIn.plan_id)
        .join(PlanGoal, PlanGoal.id == CheckIn.goal_id)
        .join(participant, participant.id == Plan.participant_id)
        .outerjoin(recorder, and_(recorder.id == CheckIn.created_by_id,
                                  recorder.id != Plan.participant_id)),
        cohort.id, Plan.participant_id, filters.team_id)
    query = (query.where(Plan.cohort_id == cohort.id, *_between(CheckIn.local_date, filters))
             .order_by(CheckIn.local_date, CheckIn.id))
    return _stream(query, lambda r: (
        r.participant, r.email, r.team, _status(r.membership), r.goal, r.local_date,
        _utc(r.created_at), r.progress, r.minutes, r.note, r.recorded_by))


# --- web activities -------------------------------------------------------------------------

WEB_HEADER = ("participant", "email", "team", "membership", "date", "kind", "title", "url",
              "minutes", "goal", "note", "logged_by")


def web_activity_rows(cohort: Cohort, filters: Filters) -> Iterator[Sequence[object]]:
    """One line per web activity logged in ``cohort`` (``WEB_HEADER``): who, their email,
    team and membership status, the day (the cohort's local date), what kind (its label),
    the title, the link, the minutes, the goal it served (if any), the note, and who logged
    it when someone did on the participant's behalf. The date filter is on the day. By day,
    then id."""
    participant, logger = aliased(User), aliased(User)
    query = _with_team(
        select(participant.name.label("participant"), participant.email,
               WebActivity.local_date, WebActivity.kind, WebActivity.title, WebActivity.url,
               WebActivity.minutes, PlanGoal.title.label("goal"), WebActivity.note,
               logger.name.label("logged_by"))
        .join(participant, participant.id == WebActivity.user_id)
        .outerjoin(PlanGoal, PlanGoal.id == WebActivity.goal_id)
        .outerjoin(logger, and_(logger.id == WebActivity.created_by_id,
                                logger.id != WebActivity.user_id)),
        cohort.id, WebActivity.user_id, filters.team_id)
    query = (query.where(WebActivity.cohort_id == cohort.id,
                         *_between(WebActivity.local_date, filters))
             .order_by(WebActivity.local_date, WebActivity.id))
    return _stream(query, lambda r: (
        r.participant, r.email, r.team, _status(r.membership), r.local_date,
        ACTIVITY_LABELS[r.kind], r.title, r.url, r.minutes, r.goal, r.note, r.logged_by))


# --- attendance -----------------------------------------------------------------------------

ATTENDANCE_HEADER = ("event", "kind", "mode", "starts_at", "participant", "team",
                     "membership", "rsvp", "attendance")


def attendance_rows(cohort: Cohort, filters: Filters, *,
                    now: datetime | None = None) -> Iterator[Sequence[object]]:
    """One line per person and event of ``cohort`` that has started by ``now`` (not
    cancelled) for everyone who answered the invitation or was marked at the door
    (``ATTENDANCE_HEADER``): the event's title, kind and mode (labels), its start (the
    cohort's local time), the person, their team and membership status, their answer (going,
    waitlisted or declined; empty when they never answered) and their mark (Attended,
    Partly, No-show, Walk-in; empty when not marked). The date filter is on the event's
    local start day. By start, then event id, then person id."""
    zone = ZoneInfo(cohort.timezone)
    cohort_events = select(Event.id).where(Event.cohort_id == cohort.id)
    pairs = union(
        select(Rsvp.event_id.label("event_id"), Rsvp.user_id.label("user_id"))
        .where(Rsvp.event_id.in_(cohort_events)),
        select(Attendance.event_id.label("event_id"), Attendance.user_id.label("user_id"))
        .where(Attendance.event_id.in_(cohort_events))).subquery()
    query = _with_team(
        select(Event.title, Event.kind, Event.mode, Event.starts_at,
               User.name.label("participant"), Rsvp.status.label("rsvp"), Attendance.mark)
        .select_from(pairs)
        .join(Event, Event.id == pairs.c.event_id)
        .join(User, User.id == pairs.c.user_id)
        .outerjoin(Rsvp, and_(Rsvp.event_id == pairs.c.event_id,
                              Rsvp.user_id == pairs.c.user_id))
        .outerjoin(Attendance, and_(Attendance.event_id == pairs.c.event_id,
                                    Attendance.user_id == pairs.c.user_id)),
        cohort.id, pairs.c.user_id, filters.team_id)
    query = (query.where(Event.cohort_id == cohort.id, Event.status == EventStatus.SCHEDULED,
                         Event.starts_at <= (now or now_utc()),
                         *_starting_between(Event.starts_at, filters, zone))
             .order_by(Event.starts_at, Event.id, pairs.c.user_id))
    local = _in_zone(zone)
    return _stream(query, lambda r: (
        r.title, EVENT_KIND_LABELS[r.kind], EVENT_MODE_LABELS[r.mode], local(r.starts_at),
        r.participant, r.team, _status(r.membership),
        r.rsvp.value if r.rsvp is not None else None,
        MARK_LABELS[r.mark] if r.mark is not None else None))


# --- 1:1 bookings ---------------------------------------------------------------------------

BOOKING_HEADER = ("starts_at", "ends_at", "mode", "facilitator", "participant", "team",
                  "membership", "status", "booked_at", "cancelled_at")


def booking_rows(cohort: Cohort, filters: Filters) -> Iterator[Sequence[object]]:
    """One line per booking of a 1:1 slot of ``cohort``, kept or cancelled
    (``BOOKING_HEADER``): the session's start and end (the cohort's local time), its mode
    (label), the facilitator, the participant, their team and membership status, the status
    (booked or cancelled), and when it was booked and cancelled (UTC). Never the
    facilitator's private notes nor the participant's note on what they would like help
    with: neither is read. The date filter is on the session's local start day. By start,
    then booking id."""
    zone = ZoneInfo(cohort.timezone)
    facilitator, participant = aliased(User), aliased(User)
    query = _with_team(
        select(SupportSlot.starts_at, SupportSlot.ends_at, SupportSlot.mode,
               facilitator.name.label("facilitator"), participant.name.label("participant"),
               SupportBooking.status, SupportBooking.created_at, SupportBooking.cancelled_at)
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .join(facilitator, facilitator.id == SupportSlot.facilitator_id)
        .join(participant, participant.id == SupportBooking.participant_id),
        cohort.id, SupportBooking.participant_id, filters.team_id)
    query = (query.where(SupportSlot.cohort_id == cohort.id,
                         *_starting_between(SupportSlot.starts_at, filters, zone))
             .order_by(SupportSlot.starts_at, SupportBooking.id))
    local = _in_zone(zone)
    return _stream(query, lambda r: (
        local(r.starts_at), local(r.ends_at), SLOT_MODE_LABELS[r.mode], r.facilitator,
        r.participant, r.team, _status(r.membership), r.status.value, _utc(r.created_at),
        _utc(r.cancelled_at)))


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """One export of the exports page: its name in the URL (``<name>.csv``), title, what
    it holds, its header and its lines."""

    name: str
    title: str
    description: str
    header: Sequence[str]
    rows: Callable[[Cohort, Filters], Iterator[Sequence[object]]]


EXPORTS: dict[str, Export] = {export.name: export for export in (
    Export("checkins", "Check-ins",
           "Every check-in on a goal: progress, minutes and note, with who recorded it when "
           "someone did on the participant’s behalf.", CHECK_IN_HEADER, check_in_rows),
    Export("web-activities", "Web activities",
           "Every web activity logged: what, where (the link), how long and for which goal.",
           WEB_HEADER, web_activity_rows),
    Export("attendance", "Attendance",
           "For each event that has taken place, everyone who answered the invitation or was "
           "marked at the door: their answer and their mark.", ATTENDANCE_HEADER,
           attendance_rows),
    Export("support-bookings", "1:1 bookings",
           "Every booking of a 1:1 session, kept or cancelled: when, how, with whom. Never the "
           "private session notes or what the participant wrote when booking.", BOOKING_HEADER,
           booking_rows),
)}
