"""The one place that reads the wall clock, plus calendar helpers in a time zone.

Tests freeze time with ``freeze(at)``; everything else calls ``now_utc()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dap.errors import DomainError

_frozen: datetime | None = None


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC (or the frozen instant in tests)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Pin ``now_utc`` to ``at`` (aware) or release it with ``None``. For tests and benches."""
    global _frozen  # noqa: PLW0603 - a deliberate module-level switch for tests
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at.astimezone(UTC) if at is not None else None


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_date(value: datetime, tz: str) -> date:
    """The calendar date of ``value`` in time zone ``tz``."""
    return value.astimezone(ZoneInfo(tz)).date()


def week_bounds(value: datetime, tz: str) -> tuple[datetime, datetime]:
    """The half-open week ``[Monday 00:00, next Monday 00:00)`` containing ``value`` in ``tz``,
    returned in UTC. DST-correct: the local midnights are converted individually."""
    zone = ZoneInfo(tz)
    local = value.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    nxt = monday + timedelta(days=7)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def day_bounds(value: datetime, tz: str) -> tuple[datetime, datetime]:
    """The half-open local day ``[00:00, next 00:00)`` containing ``value`` in ``tz``, in UTC
    (23 or 25 hours long on the days the clocks change)."""
    zone = ZoneInfo(tz)
    day = value.astimezone(zone).date()
    nxt = day + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_to_utc(local: datetime, timezone: str, *, field: str) -> datetime:
    """A wall-clock time in ``timezone`` as UTC.

    :raise DomainError: for a time that does not exist there (the hour the clocks skip).
        A time that happens twice (the hour the clocks go back) is the first of the two.
    """
    zone = ZoneInfo(timezone)
    naive = local.replace(tzinfo=None)
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise DomainError(f"{naive:%H:%M} does not exist on {naive:%-d %B %Y} in "
                          f"{timezone}: the clocks go forward then. Choose another time.",
                          field=field)
    return aware.astimezone(UTC)
