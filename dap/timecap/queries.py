"""Read-only queries for time-cap pages: a participant's weeks of platform and web time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans.models import CheckIn, Plan
from dap.timecap.models import PlatformDay, WebActivity
from dap.timecap.services import allowance, monday_of

#: weeks of history the chart shows
HISTORY_WEEKS = 8


@dataclass(frozen=True)
class WeekFigures:
    """One week (Monday to Sunday in the cohort's time zone) of a participant's time."""

    monday: date
    platform_seconds: int
    #: logged web activities plus check-in minutes
    web_minutes: int
    #: platform minutes allowed that week, from its web minutes
    allowance_minutes: int
    is_current: bool

    @property
    def platform_minutes(self) -> int:
        return self.platform_seconds // 60

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


def weekly_history(user_id: int, cohort: Cohort, weeks: int = HISTORY_WEEKS,
                   today: date | None = None) -> list[WeekFigures]:
    """The participant's last ``weeks`` weeks, oldest first and the current week last:
    platform time, web time (logged activities in ``cohort`` and check-in minutes of their
    plan in it) and the allowance each week's web time earned. Weeks run Monday to Sunday
    in the cohort's time zone. Three queries (one per source, summed by day), whatever the
    number of rows."""
    today = today or local_date(now_utc(), cohort.timezone)
    first = monday_of(today) - timedelta(weeks=weeks - 1)
    last = monday_of(today) + timedelta(days=6)
    platform = db.session.execute(
        select(PlatformDay.day, func.sum(PlatformDay.seconds))
        .where(PlatformDay.user_id == user_id, PlatformDay.day.between(first, last))
        .group_by(PlatformDay.day))
    logged = db.session.execute(
        select(WebActivity.local_date, func.sum(WebActivity.minutes))
        .where(WebActivity.user_id == user_id, WebActivity.cohort_id == cohort.id,
               WebActivity.local_date.between(first, last))
        .group_by(WebActivity.local_date))
    checked = db.session.execute(
        select(CheckIn.local_date, func.sum(CheckIn.minutes))
        .join(Plan, Plan.id == CheckIn.plan_id)
        .where(Plan.participant_id == user_id, Plan.cohort_id == cohort.id,
               CheckIn.minutes.is_not(None), CheckIn.local_date.between(first, last))
        .group_by(CheckIn.local_date))
    seconds = _by_week(platform, first, weeks)
    web = [a + b for a, b in zip(_by_week(logged, first, weeks), _by_week(checked, first, weeks),
                                 strict=True)]
    return [WeekFigures(monday=first + timedelta(weeks=n), platform_seconds=seconds[n],
                        web_minutes=web[n], allowance_minutes=allowance(cohort, web[n]),
                        is_current=n == weeks - 1)
            for n in range(weeks)]


def _by_week(rows: Iterable, first: date, weeks: int) -> list[int]:
    """Daily sums ``(day, amount)`` added up into ``weeks`` weeks from Monday ``first``."""
    totals = [0] * weeks
    for day, amount in rows:
        totals[(day - first).days // 7] += int(amount or 0)
    return totals


def this_week_of(people: Iterable[tuple[int, Cohort]], *, at: datetime | None = None,
                 ) -> dict[tuple[int, int], WeekFigures]:
    """``(user id, cohort id)`` → that participant's current week in that cohort (or the
    week holding ``at``), as ``weekly_history`` counts it (platform time, web time, the
    allowance), for people across cohorts (a patron's). Three queries (one per source,
    summed by day), whatever the number of people or cohorts."""
    wanted = {(user_id, cohort.id): cohort for user_id, cohort in people}
    if not wanted:
        return {}
    now = at or now_utc()
    mondays = {cohort.id: monday_of(local_date(now, cohort.timezone))
               for cohort in wanted.values()}
    first, last = min(mondays.values()), max(mondays.values()) + timedelta(days=6)
    user_ids = list({user_id for user_id, _ in wanted})
    cohort_ids = list(mondays)
    platform = db.session.execute(
        select(PlatformDay.user_id, PlatformDay.day, PlatformDay.seconds)
        .where(PlatformDay.user_id.in_(user_ids), PlatformDay.day.between(first, last)))
    logged = db.session.execute(
        select(WebActivity.user_id, WebActivity.cohort_id, WebActivity.local_date,
               func.sum(WebActivity.minutes))
        .where(WebActivity.user_id.in_(user_ids), WebActivity.cohort_id.in_(cohort_ids),
               WebActivity.local_date.between(first, last))
        .group_by(WebActivity.user_id, WebActivity.cohort_id, WebActivity.local_date))
    checked = db.session.execute(
        select(Plan.participant_id, Plan.cohort_id, CheckIn.local_date, func.sum(CheckIn.minutes))
        .join(Plan, Plan.id == CheckIn.plan_id)
        .where(Plan.participant_id.in_(user_ids), Plan.cohort_id.in_(cohort_ids),
               CheckIn.minutes.is_not(None), CheckIn.local_date.between(first, last))
        .group_by(Plan.participant_id, Plan.cohort_id, CheckIn.local_date))

    def in_week(cohort_id: int, day: date) -> bool:
        return 0 <= (day - mondays[cohort_id]).days < 7

    # platform time is the person's, whatever the cohort; each cohort's week counts its days
    cohorts_of: dict[int, list[int]] = {}
    for user_id, cohort_id in wanted:
        cohorts_of.setdefault(user_id, []).append(cohort_id)
    seconds = dict.fromkeys(wanted, 0)
    for user_id, day, amount in platform:
        for cohort_id in cohorts_of[user_id]:
            if in_week(cohort_id, day):
                seconds[(user_id, cohort_id)] += int(amount or 0)
    web = dict.fromkeys(wanted, 0)
    for user_id, cohort_id, day, amount in [*logged, *checked]:
        if (user_id, cohort_id) in wanted and in_week(cohort_id, day):
            web[(user_id, cohort_id)] += int(amount or 0)
    return {key: WeekFigures(monday=mondays[key[1]], platform_seconds=seconds[key],
                             web_minutes=web[key], allowance_minutes=allowance(cohort, web[key]),
                             is_current=at is None)
            for key, cohort in wanted.items()}
