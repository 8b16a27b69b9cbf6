"""A cohort week by week: who did something each week (the heat map), and the balance of
time on DAP against time on the wider web (the balance).

Weeks run Monday 00:00 to Monday 00:00 in the cohort's time zone, from the week of the
cohort's start date to the current week (the week of its end date once it has ended), the
latest ``MAX_WEEKS`` at most.

The heat map counts activities on the channels of ``dap.insights.activity`` that happen at a
moment of their own: a check-in (on its local date), web time logged (on its local date), an
event attended (marked attended, partly or walk-in; at the event's start, once started), a
1:1 session held (booked, at the slot's start, once started), a post or comment in the cohort
feed (when written; not once its author deleted it, still when a facilitator hid it).
Answers to invitations and bookings made are promises of activity, not activity, and are
left out. Timestamps are bucketed into weeks in SQL against the weeks' bounds in UTC, each
local Monday midnight converted on its own, so a week holding a clock change is 167 or 169
hours long and a post at 23:30 UTC on a summer Sunday falls in the next week in London.

Set-based: the heat map is five queries (participants counted, one page of them, their cells,
every participant's week totals, the spread of cell values), the balance one, whatever the
number of people or weeks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
)

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.community.models import Comment, Post
from dap.events.models import PRESENT_MARKS, Attendance, Event
from dap.extensions import db
from dap.insights.activity import Channel
from dap.plans.models import CheckIn, Plan
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import PlatformDay, WebActivity
from dap.timecap.services import monday_of

if TYPE_CHECKING:
    from dap.insights.charts import BalanceChart, HeatMapChart

#: the most weeks shown: the latest year
MAX_WEEKS = 52
PER_PAGE = 50

#: the channels the heat map counts, in the order breakdowns list them
CHANNELS = (Channel.CHECK_IN, Channel.WEB, Channel.EVENT, Channel.SUPPORT, Channel.FEED)
#: how one and several activities on a channel are named in breakdowns
NOUNS = {
    Channel.CHECK_IN: ("check-in", "check-ins"),
    Channel.WEB: ("web activity", "web activities"),
    Channel.EVENT: ("event", "events"),
    Channel.SUPPORT: ("1:1 session", "1:1 sessions"),
    Channel.FEED: ("post or comment", "posts and comments"),
}


@dataclass(frozen=True)
class Week:
    """One week of the range, Monday to Sunday in the cohort's time zone."""

    #: 0 for the oldest week shown
    index: int
    monday: date
    is_current: bool

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


@dataclass(frozen=True)
class Cell:
    """Activities in one week (one person's, or everyone's), counted per channel."""

    #: one count per channel, in ``CHANNELS`` order
    counts: tuple[int, ...] = (0,) * len(CHANNELS)

    @property
    def count(self) -> int:
        return sum(self.counts)

    @property
    def by_channel(self) -> dict[Channel, int]:
        """Channel → how many, for the channels with any."""
        return {channel: n for channel, n in zip(CHANNELS, self.counts, strict=True) if n}

    def describe(self) -> str:
        """The breakdown in words: ``"2 check-ins, 1 event"`` (``"no activity"``)."""
        parts = [f"{n} {NOUNS[channel][0 if n == 1 else 1]}"
                 for channel, n in self.by_channel.items()]
        return ", ".join(parts) or "no activity"

    def __add__(self, other: Cell) -> Cell:
        return Cell(tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)))


EMPTY = Cell()


@dataclass(frozen=True)
class HeatRow:
    """One participant's weeks."""

    user_id: int
    name: str
    #: a managed ("supported digital") participant, whose plan a facilitator keeps
    is_managed: bool
    #: one per week of ``HeatMap.weeks``
    cells: tuple[Cell, ...]

    @property
    def total(self) -> Cell:
        return sum(self.cells, EMPTY)


@dataclass(frozen=True)
class HeatMap:
    """Participants × weeks: how many activities each participant had each week, for one
    page of participants, with the week totals of all of them."""

    timezone: str
    #: the cohort's first day (the range starts in its week)
    start_date: date
    #: oldest first; empty when the cohort has not started
    weeks: tuple[Week, ...]
    #: this page's participants, by name
    rows: tuple[HeatRow, ...]
    #: per week, the activities of every matching participant (not only this page's)
    week_totals: tuple[Cell, ...]
    #: how many participants match (every page)
    total: int
    page: int
    per_page: int
    #: ``(activities, person-weeks)``: how many person-weeks, over every matching participant
    #: and week, had that many activities (only counts above 0), by count; shading levels
    #: are computed from it (dap.insights.charts)
    distribution: tuple[tuple[int, int], ...]
    team_id: int | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_number(self) -> int:
        """The position of this page's first participant (1-based; 0 on an empty page)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_number(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)

    @property
    def grand_total(self) -> Cell:
        return sum(self.week_totals, EMPTY)

    @cached_property
    def chart(self) -> HeatMapChart:
        """These figures laid out as the heat map's SVG (templates/insights/_heatmap.html)."""
        from dap.insights.charts import heatmap_chart  # charts builds on this module

        return heatmap_chart(self)


@dataclass(frozen=True)
class BalanceWeek:
    """One week of the cohort's time: on DAP (measured participants) and on the wider web."""

    index: int
    monday: date
    is_current: bool
    #: measured on DAP: participants with an account of their own (not managed)
    platform_seconds: int
    #: logged web activities plus check-in minutes, in this cohort
    web_minutes: int
    #: participants with any time (on DAP or on the web) this week
    people: int
    #: the share of learning time meant for the wider web (the cohort's ``web_share``)
    target_share: float

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def platform_minutes(self) -> int:
        return self.platform_seconds // 60

    @property
    def total_minutes(self) -> int:
        return self.platform_minutes + self.web_minutes

    @property
    def web_share(self) -> float | None:
        """Web minutes over all minutes; None when there are none."""
        return _share(self.web_minutes, self.platform_minutes)

    @property
    def is_below_target(self) -> bool:
        return self.web_share is not None and self.web_share < self.target_share


@dataclass(frozen=True)
class Balance:
    """The cohort's platform and web time week by week, against its target web share."""

    timezone: str
    start_date: date
    target_share: float
    #: oldest first; empty when the cohort has not started
    weeks: tuple[BalanceWeek, ...]
    team_id: int | None = None

    @property
    def platform_minutes(self) -> int:
        """Over the range: the weeks' platform minutes added up (as the weeks show them)."""
        return sum(w.platform_minutes for w in self.weeks)

    @property
    def web_minutes(self) -> int:
        return sum(w.web_minutes for w in self.weeks)

    @property
    def web_share(self) -> float | None:
        return _share(self.web_minutes, self.platform_minutes)

    @property
    def has_time(self) -> bool:
        return any(w.platform_seconds or w.web_minutes for w in self.weeks)

    @cached_property
    def chart(self) -> BalanceChart:
        """These figures laid out as the balance's SVG (templates/insights/_balance.html)."""
        from dap.insights.charts import balance_chart  # charts builds on this module

        return balance_chart(self)


def _share(web: int, platform: int) -> float | None:
    return web / (web + platform) if web + platform else None


# --- the weeks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Range:
    weeks: tuple[Week, ...]
    #: the weeks' Mondays and the Monday after the last (local dates)
    days: tuple[date, ...]
    #: the same Mondays at local midnight, in UTC
    instants: tuple[datetime, ...]


def _range(cohort: Cohort, today: date | None) -> _Range:
    """The weeks shown for ``cohort`` on ``today`` (its local date by default)."""
    today = today or local_date(now_utc(), cohort.timezone)
    if today < cohort.start_date:
        return _Range((), (), ())
    first = monday_of(cohort.start_date)
    last = monday_of(min(today, cohort.end_date))
    first = max(first, last - timedelta(weeks=MAX_WEEKS - 1))
    count = (last - first).days // 7 + 1
    current = monday_of(today)
    days = tuple(first + timedelta(weeks=n) for n in range(count + 1))
    zone = ZoneInfo(cohort.timezone)
    instants = tuple(datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC) for d in days)
    weeks = tuple(Week(index=n, monday=d, is_current=d == current)
                  for n, d in enumerate(days[:-1]))
    return _Range(weeks, days, instants)


def _week_of(column, bounds: Sequence) -> ColumnElement[int]:
    """The index of the week ``column`` falls in, given the weeks' starts and the end of the
    last (``bounds``, ascending); callers keep only rows inside (``_inside``). A balanced
    tree of CASEs, so a row takes about log2(weeks) comparisons (6 for a year) rather than
    one per week. The indexes are inline literals: an integer on every database."""

    def within(first: int, end: int) -> ColumnElement[int]:
        if end - first == 1:
            return literal_column(str(first), Integer)
        middle = (first + end) // 2
        return case((column < bounds[middle], within(first, middle)),
                    else_=within(middle, end))

    return within(0, len(bounds) - 1)


def _inside(column, bounds: Sequence) -> ColumnElement[bool]:
    return (column >= bounds[0]) & (column < bounds[-1])


def _participants(cohort: Cohort, team_id: int | None, *, measured: bool = False) -> Select:
    """The user ids of the cohort's active participants (of one team if given); with
    ``measured``, only those whose time on DAP is measured (not managed)."""
    query = select(Membership.user_id).where(
        Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
        Membership.status == MembershipStatus.ACTIVE)
    if team_id is not None:
        query = query.where(Membership.team_id == team_id)
    if measured:
        query = query.join(User, User.id == Membership.user_id).where(User.is_managed.is_(False))
    return query


# --- the heat map ---------------------------------------------------------------------------


def _activities(cohort: Cohort, span: _Range, who: Callable[[ColumnElement], ColumnElement],
                now: datetime):
    """A subquery of ``(user_id, week, channel)``, one row per activity in the range by the
    people ``who`` accepts (given the column holding the person)."""

    def channel(value: Channel):
        return literal_column(f"'{value.value}'", String).label("channel")

    def by_day(column):
        return _week_of(column, span.days).label("week"), _inside(column, span.days)

    def by_instant(column):
        return _week_of(column, span.instants).label("week"), _inside(column, span.instants)

    check_week, check_in_range = by_day(CheckIn.local_date)
    web_week, web_in_range = by_day(WebActivity.local_date)
    event_week, event_in_range = by_instant(Event.starts_at)
    slot_week, slot_in_range = by_instant(SupportSlot.starts_at)
    post_week, post_in_range = by_instant(Post.created_at)
    comment_week, comment_in_range = by_instant(Comment.created_at)
    return union_all(
        select(Plan.participant_id.label("user_id"), check_week, channel(Channel.CHECK_IN))
        .join(Plan, Plan.id == CheckIn.plan_id)
        .where(Plan.cohort_id == cohort.id, check_in_range, who(Plan.participant_id)),
        select(WebActivity.user_id, web_week, channel(Channel.WEB))
        .where(WebActivity.cohort_id == cohort.id, web_in_range, who(WebActivity.user_id)),
        select(Attendance.user_id, event_week, channel(Channel.EVENT))
        .join(Event, Event.id == Attendance.event_id)
        .where(Event.cohort_id == cohort.id, Attendance.mark.in_(PRESENT_MARKS),
               Event.starts_at <= now, event_in_range, who(Attendance.user_id)),
        select(SupportBooking.participant_id, slot_week, channel(Channel.SUPPORT))
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .where(SupportSlot.cohort_id == cohort.id,
               SupportBooking.status == BookingStatus.BOOKED,
               SupportSlot.starts_at <= now, slot_in_range, who(SupportBooking.participant_id)),
        select(Post.author_id, post_week, channel(Channel.FEED))
        .where(Post.cohort_id == cohort.id, Post.deleted_at.is_(None), post_in_range,
               who(Post.author_id)),
        select(Comment.author_id, comment_week, channel(Channel.FEED))
        .join(Post, Post.id == Comment.post_id)
        .where(Post.cohort_id == cohort.id, Comment.deleted_at.is_(None), comment_in_range,
               who(Comment.author_id)),
    ).subquery("activities")


def _cells(rows, weeks: int) -> list[list[int]]:
    """``(week, channel, count)`` rows as per-week channel counts."""
    counts = [[0] * len(CHANNELS) for _ in range(weeks)]
    slot = {channel.value: n for n, channel in enumerate(CHANNELS)}
    for week, channel, count in rows:
        counts[int(week)][slot[channel]] += int(count)
    return counts


def heat_map(cohort: Cohort, *, team_id: int | None = None, page: int = 1,
             per_page: int = PER_PAGE, today: date | None = None) -> HeatMap:
    """The cohort's participants (active memberships, managed people included; of one team
    if ``team_id``), by name, one page at a time, against the weeks of the range: each
    participant's activities per week, by channel (see the module docstring for what
    counts), with every matching participant's week totals and the spread of the cells'
    values (for the shading). ``page`` is clamped to the pages there are. Five queries,
    whatever the number of participants, weeks or activities (two when nobody matches)."""
    per_page = max(1, per_page)
    span = _range(cohort, today)
    n_weeks = len(span.weeks)
    people = _participants(cohort, team_id)
    total = db.session.scalar(select(func.count()).select_from(people.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    listed = db.session.execute(
        select(User.id, User.name, User.is_managed)
        .where(User.id.in_(people))
        .order_by(func.lower(User.name), User.id)
        .limit(per_page).offset((page - 1) * per_page)).all()
    ids = [user_id for user_id, _, _ in listed]
    week_totals: list[list[int]] = [[0] * len(CHANNELS) for _ in range(n_weeks)]
    per_person: dict[int, list[list[int]]] = {}
    distribution: tuple[tuple[int, int], ...] = ()
    if ids and n_weeks:
        now = now_utc()
        mine = _activities(cohort, span, lambda column: column.in_(ids), now)
        found: dict[int, list] = {}
        for user_id, week, channel, count in db.session.execute(
                select(mine.c.user_id, mine.c.week, mine.c.channel, func.count())
                .group_by(mine.c.user_id, mine.c.week, mine.c.channel)):
            found.setdefault(user_id, []).append((week, channel, count))
        per_person = {user_id: _cells(rows, n_weeks) for user_id, rows in found.items()}
        everyone = _activities(cohort, span, lambda column: column.in_(people), now)
        week_totals = _cells(db.session.execute(
            select(everyone.c.week, everyone.c.channel, func.count())
            .group_by(everyone.c.week, everyone.c.channel)), n_weeks)
        person_weeks = (select(func.count().label("n")).select_from(everyone)
                        .group_by(everyone.c.user_id, everyone.c.week).subquery())
        distribution = tuple((int(n), int(k)) for n, k in db.session.execute(
            select(person_weeks.c.n, func.count()).group_by(person_weeks.c.n)
            .order_by(person_weeks.c.n)))
    empty_weeks = [[0] * len(CHANNELS) for _ in range(n_weeks)]
    rows = tuple(HeatRow(user_id=user_id, name=name, is_managed=is_managed,
                         cells=tuple(Cell(tuple(c))
                                     for c in per_person.get(user_id, empty_weeks)))
                 for user_id, name, is_managed in listed)
    return HeatMap(timezone=cohort.timezone, start_date=cohort.start_date, weeks=span.weeks,
                   rows=rows, week_totals=tuple(Cell(tuple(c)) for c in week_totals),
                   total=total, page=page, per_page=per_page, distribution=distribution,
                   team_id=team_id)


# --- the balance ----------------------------------------------------------------------------


def balance(cohort: Cohort, *, team_id: int | None = None, today: date | None = None) -> Balance:
    """The cohort's time week by week (of one team if ``team_id``): minutes on DAP of its
    measured participants (active, not managed), minutes on the wider web of its active
    participants (managed people included: web activities logged in this cohort and the
    minutes of check-ins on their plans in it, as dap.timecap.queries counts them), the
    web share against the cohort's target, and how many people had any time.

    Platform time belongs to a person, not to a cohort (dap.timecap.models.PlatformDay: one
    row per person and day, the day in the time zone of the cohort their time is measured
    in): someone taking part in two cohorts counts in full in both. One query, whatever the
    number of people or weeks."""
    span = _range(cohort, today)
    if not span.weeks:
        return Balance(timezone=cohort.timezone, start_date=cohort.start_date,
                       target_share=cohort.web_share, weeks=(), team_id=team_id)
    zero = literal_column("0", Integer)
    measured = _participants(cohort, team_id, measured=True)
    people = _participants(cohort, team_id)
    times = union_all(
        select(PlatformDay.user_id.label("user_id"),
               _week_of(PlatformDay.day, span.days).label("week"),
               PlatformDay.seconds.label("seconds"), zero.label("minutes"))
        .where(PlatformDay.user_id.in_(measured), _inside(PlatformDay.day, span.days)),
        select(WebActivity.user_id, _week_of(WebActivity.local_date, span.days), zero,
               WebActivity.minutes)
        .where(WebActivity.cohort_id == cohort.id, WebActivity.user_id.in_(people),
               _inside(WebActivity.local_date, span.days)),
        select(Plan.participant_id, _week_of(CheckIn.local_date, span.days), zero,
               CheckIn.minutes)
        .join(Plan, Plan.id == CheckIn.plan_id)
        .where(Plan.cohort_id == cohort.id, Plan.participant_id.in_(people),
               CheckIn.minutes.is_not(None), _inside(CheckIn.local_date, span.days)),
    ).subquery("times")
    seconds, minutes = func.sum(times.c.seconds), func.sum(times.c.minutes)
    person_weeks = (select(times.c.week, seconds.label("seconds"), minutes.label("minutes"))
                    .group_by(times.c.week, times.c.user_id)
                    .having(or_(seconds > 0, minutes > 0)).subquery("person_weeks"))
    found = {int(week): (int(s or 0), int(m or 0), int(k)) for week, s, m, k in db.session.execute(
        select(person_weeks.c.week, func.sum(person_weeks.c.seconds),
               func.sum(person_weeks.c.minutes), func.count())
        .group_by(person_weeks.c.week))}
    weeks = tuple(BalanceWeek(index=w.index, monday=w.monday, is_current=w.is_current,
                              platform_seconds=found.get(w.index, (0, 0, 0))[0],
                              web_minutes=found.get(w.index, (0, 0, 0))[1],
                              people=found.get(w.index, (0, 0, 0))[2],
                              target_share=cohort.web_share)
                  for w in span.weeks)
    return Balance(timezone=cohort.timezone, start_date=cohort.start_date,
                   target_share=cohort.web_share, weeks=weeks, team_id=team_id)

