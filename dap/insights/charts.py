"""The geometry of the two weekly insight charts, server-rendered SVG with no JavaScript: the
heat map of activity (participants × weeks, shaded by level) and the balance of time on DAP
against time on the wider web. The markup is templates/insights/_heatmap.html and
_balance.html (autoescaped), which also give the figures as tables.

Shading levels are computed from the data, so a quiet cohort and a busy one both show their
differences: the person-weeks with any activity (every matching participant's, not only one
page's) are split at their quartiles, taken by nearest rank (the smallest count that at least
a quarter, a half, three quarters of them do not exceed), into at most four levels; level 0
is a week with none. Equal quartiles merge, so a cohort where every active week had one
activity has one level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from dap.insights.weekly import Balance, BalanceWeek, Cell, HeatMap, HeatRow, Week
from dap.timecap.chart import Tick, scale_top

#: the heat map: names on the left, month labels on top, square cells
NAME_WIDTH = 150
NAME_CHARS = 22
CELL = 12
PITCH = 14
HEAT_TOP = 26
HEAT_RIGHT = 8
HEAT_BOTTOM = 6
#: columns a month label needs ("Apr 2026" is wider than three)
LABEL_GAP = 4

#: the balance chart: minutes (stacked bars) above, the web share (dots) below
WIDTH = 640
#: the right margin holds the target's label, after the end of its line
LEFT, RIGHT = 56, 76
MINUTES_TOP, MINUTES_HEIGHT = 26, 150
SHARE_TOP, SHARE_HEIGHT = 214, 80
HEIGHT = SHARE_TOP + SHARE_HEIGHT + 30
BAR_MAX = 22
#: at most this many week labels under the balance chart
MAX_LABELS = 10
#: weeks up to this many get their minutes written above the bars
VALUE_LABELS_UP_TO = 12


def percent(share: float | None) -> int | None:
    """A share as a whole percentage, halves rounded up (None stays None)."""
    return None if share is None else math.floor(share * 100 + 0.5)


def _day(day: date) -> str:
    return day.strftime("%-d %b %Y")


def _activities(n: int) -> str:
    return f"{n} {'activity' if n == 1 else 'activities'}"


# --- the heat map ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """A shading level: person-weeks with ``low`` to ``high`` activities."""

    number: int
    low: int
    high: int

    @property
    def label(self) -> str:
        if self.low == self.high:
            return _activities(self.low)
        return f"{self.low}–{self.high} activities"


def shading_levels(distribution: tuple[tuple[int, int], ...]) -> tuple[Level, ...]:
    """Levels 1 to at most 4 from ``(activities, person-weeks)`` pairs (counts above 0):
    broken at the nearest-rank quartiles, the last level ending at the largest count.
    None when no week had any activity."""
    spread = sorted((n, k) for n, k in distribution if n > 0 and k > 0)
    if not spread:
        return ()
    weeks = sum(k for _, k in spread)

    def nearest_rank(quarters: int) -> int:
        rank = -(-weeks * quarters // 4)
        seen = 0
        for n, k in spread:
            seen += k
            if seen >= rank:
                return n
        return spread[-1][0]

    levels: list[Level] = []
    low = 1
    for high in [nearest_rank(q) for q in (1, 2, 3)] + [spread[-1][0]]:
        if high >= low:
            levels.append(Level(number=len(levels) + 1, low=low, high=high))
            low = high + 1
    return tuple(levels)


@dataclass(frozen=True)
class HeatCell:
    """One person's week on the chart."""

    week: Week
    cell: Cell
    level: int
    #: out of this many levels
    levels: int
    name: str
    #: the cell's left edge (its row's group sets the height on the chart)
    x: int

    @property
    def count(self) -> int:
        return self.cell.count

    @property
    def title(self) -> str:
        """The cell's tooltip: whose week, how many, the level, the breakdown."""
        when = f"{self.name}, week of {_day(self.week.monday)}"
        if not self.count:
            return f"{when}: no activity"
        return (f"{when}: {_activities(self.count)} (level {self.level} of {self.levels}): "
                f"{self.cell.describe()}")


@dataclass(frozen=True)
class HeatRowShape:
    row: HeatRow
    #: the name as the chart shows it (shortened); the table has it in full
    label: str
    #: the row's top edge: its group is moved down by it
    y: int
    #: the name's baseline, within the row
    label_y: int
    cells: tuple[HeatCell, ...]


@dataclass(frozen=True)
class ColumnLabel:
    text: str
    x: int


@dataclass(frozen=True)
class HeatMapChart:
    """The heat map laid out: ``data`` with its rows and cells placed and shaded."""

    data: HeatMap
    levels: tuple[Level, ...]
    rows: tuple[HeatRowShape, ...]
    columns: tuple[ColumnLabel, ...]
    width: int
    height: int
    cell: int = CELL
    top: int = HEAT_TOP
    name_width: int = NAME_WIDTH
    #: the current week's column (outlined), if it is in the range
    current_x: int | None = None

    @property
    def grid_height(self) -> int:
        return len(self.rows) * PITCH

    def level_of(self, count: int) -> int:
        return _level_of(count, self.levels)

    @property
    def busiest(self) -> tuple[Week, int] | None:
        """The week with the most activities across every matching participant (the
        earliest of equals); None when there was none."""
        totals = [(t.count, w) for w, t in zip(self.data.weeks, self.data.week_totals,
                                                 strict=True)]
        if not any(count for count, _ in totals):
            return None
        count, week = max(totals, key=lambda item: (item[0], -item[1].index))
        return week, count

    @property
    def quietest(self) -> tuple[Week, int] | None:
        totals = [(t.count, w) for w, t in zip(self.data.weeks, self.data.week_totals,
                                                 strict=True)]
        if not any(count for count, _ in totals):
            return None
        count, week = min(totals, key=lambda item: (item[0], item[1].index))
        return week, count

    @property
    def summary(self) -> str:
        """One paragraph for the SVG's description."""
        m = self.data
        team = " in this team" if m.team_id is not None else ""
        shown = (f"{m.total} participant{'' if m.total == 1 else 's'}{team}, shown by name "
                 f"({m.first_number} to {m.last_number} here)")
        span = (f"the week of {_day(m.weeks[0].monday)} to the week of "
                f"{_day(m.weeks[-1].monday)}")
        text = f"Activities per week of {shown}, from {span}."
        busiest, quietest = self.busiest, self.quietest
        if busiest is None or quietest is None:
            return f"{text} No activity in these weeks yet."
        text += f" {_activities(m.grand_total.count).capitalize()} in all."

        def week(found: tuple[Week, int]) -> str:
            w, count = found
            so_far = " so far" if w.is_current else ""
            return f"the week of {_day(w.monday)} ({_activities(count)}{so_far})"

        text += f" Busiest: {week(busiest)}; quietest: {week(quietest)}."
        return text


def _level_of(count: int, levels: tuple[Level, ...]) -> int:
    if count <= 0 or not levels:
        return 0
    for level in levels:
        if count <= level.high:
            return level.number
    return levels[-1].number


def _short(name: str) -> str:
    name = " ".join(name.split()) or "(no name)"
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1].rstrip() + "…"


def _month_labels(weeks: tuple[Week, ...]) -> tuple[ColumnLabel, ...]:
    """A label over the first week of each month, and over the first column when the next
    label is at least ``LABEL_GAP`` columns on. The first label and January's carry the
    year ("Apr 2026", "Jan 2027")."""
    starts = [w for n, w in enumerate(weeks)
              if n and w.monday.month != weeks[n - 1].monday.month]
    if weeks and (not starts or starts[0].index >= LABEL_GAP):
        starts.insert(0, weeks[0])
    return tuple(ColumnLabel(w.monday.strftime("%b %Y" if n == 0 or w.monday.month == 1
                                               else "%b"), NAME_WIDTH + w.index * PITCH)
                 for n, w in enumerate(starts))


def heatmap_chart(data: HeatMap) -> HeatMapChart:
    """Lay out ``data`` (one page of participants): a row of cells per participant, a
    column per week, each cell shaded by its level (``shading_levels`` of the whole
    cohort's spread)."""
    levels = shading_levels(data.distribution)
    rows = []
    for n, row in enumerate(data.rows):
        y = HEAT_TOP + n * PITCH
        label = _short(row.name)
        cells = tuple(HeatCell(week=week, cell=cell, level=_level_of(cell.count, levels),
                               levels=len(levels), name=row.name,
                               x=NAME_WIDTH + week.index * PITCH)
                      for week, cell in zip(data.weeks, row.cells, strict=True))
        rows.append(HeatRowShape(row=row, label=label, y=y, label_y=CELL - 2,
                                 cells=cells))
    current = next((w for w in data.weeks if w.is_current), None)
    return HeatMapChart(
        data=data, levels=levels, rows=tuple(rows), columns=_month_labels(data.weeks),
        width=NAME_WIDTH + len(data.weeks) * PITCH + HEAT_RIGHT,
        height=HEAT_TOP + len(rows) * PITCH + HEAT_BOTTOM,
        current_x=NAME_WIDTH + current.index * PITCH - 1 if current else None)


# --- the balance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceColumn:
    """One week on the balance chart: its stacked bar (DAP below, the web above), its web
    share dot, its label (not every week has one)."""

    week: BalanceWeek
    middle: float
    x: float
    width: float
    platform_y: float
    platform_height: float
    web_y: float
    web_height: float
    share_y: float | None
    label: str | None

    @property
    def share_percent(self) -> int | None:
        return percent(self.week.web_share)


@dataclass(frozen=True)
class ShareTick:
    percent: int
    y: float


@dataclass(frozen=True)
class BalanceChart:
    """The balance laid out: ``data`` as stacked bars of minutes and a line of web shares
    against the target."""

    data: Balance
    columns: tuple[BalanceColumn, ...]
    ticks: tuple[Tick, ...]
    share_ticks: tuple[ShareTick, ...]
    #: runs of consecutive weeks with a share, as SVG polyline points ("x,y x,y …")
    share_lines: tuple[str, ...]
    target_y: float
    shows_values: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    baseline: int = MINUTES_TOP + MINUTES_HEIGHT
    share_top: int = SHARE_TOP
    share_baseline: int = SHARE_TOP + SHARE_HEIGHT

    @property
    def target_percent(self) -> int:
        return percent(self.data.target_share) or 0

    @property
    def share_percent(self) -> int | None:
        return percent(self.data.web_share)

    @property
    def weeks_below_target(self) -> int:
        return sum(1 for w in self.data.weeks if w.is_below_target)

    @property
    def weeks_with_time(self) -> int:
        return sum(1 for w in self.data.weeks if w.web_share is not None)

    @property
    def summary(self) -> str:
        """One paragraph for the SVG's description."""
        b = self.data
        text = (f"Minutes on DAP and on the wider web each week from the week of "
                f"{_day(b.weeks[0].monday)} to the week of {_day(b.weeks[-1].monday)}: "
                f"{b.platform_minutes} on DAP and {b.web_minutes} on the web in all")
        if self.share_percent is not None:
            text += (f", {self.share_percent}% on the web against a target of "
                     f"{self.target_percent}%.")
        else:
            text += "."
        busiest = max(b.weeks, key=lambda w: (w.total_minutes, -w.index))
        if busiest.total_minutes:
            so_far = " so far" if busiest.is_current else ""
            text += (f" Most time: the week of {_day(busiest.monday)} "
                     f"({busiest.total_minutes} minutes{so_far}).")
        if self.weeks_with_time:
            text += (f" The web share was below the target in {self.weeks_below_target} of "
                     f"the {self.weeks_with_time} weeks with any time.")
        return text


def _week_labels(count: int) -> set[int]:
    """The indexes of the weeks that get a label: every k-th, counting back from the last,
    so the current week always has one."""
    step = max(1, -(-count // MAX_LABELS))
    return {n for n in range(count) if (count - 1 - n) % step == 0}


def balance_chart(data: Balance) -> BalanceChart:
    """Lay out ``data``: per week a stacked bar of minutes (on DAP, solid, below; on the web,
    striped, above) on a minute scale from ``scale_top``, and the web share as dots joined
    by a line on a 0–100% scale under it, with the target share as a dashed line."""
    weeks = data.weeks
    top, step = scale_top(max((w.total_minutes for w in weeks), default=0))
    baseline = MINUTES_TOP + MINUTES_HEIGHT
    share_baseline = SHARE_TOP + SHARE_HEIGHT

    def y_of(minutes: int) -> float:
        return round(baseline - MINUTES_HEIGHT * min(minutes, top) / top, 1)

    def y_of_share(share: float) -> float:
        return round(share_baseline - SHARE_HEIGHT * share, 1)

    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    bar = round(min(BAR_MAX, slot * 0.7), 1)
    labelled = _week_labels(len(weeks))
    columns = []
    for n, week in enumerate(weeks):
        middle = LEFT + slot * n + slot / 2
        platform_y = y_of(week.platform_minutes)
        web_y = y_of(week.total_minutes)
        share = week.web_share
        label = None
        if n in labelled:
            label = "This week" if week.is_current else week.monday.strftime("%-d %b")
        columns.append(BalanceColumn(
            week=week, middle=round(middle, 1), x=round(middle - bar / 2, 1), width=bar,
            platform_y=platform_y, platform_height=round(baseline - platform_y, 1),
            web_y=web_y, web_height=round(platform_y - web_y, 1),
            share_y=y_of_share(share) if share is not None else None, label=label))
    lines: list[str] = []
    run: list[str] = []
    for column in columns:
        if column.share_y is None:
            if len(run) > 1:
                lines.append(" ".join(run))
            run = []
            continue
        run.append(f"{column.middle},{column.share_y}")
    if len(run) > 1:
        lines.append(" ".join(run))
    return BalanceChart(
        data=data, columns=tuple(columns),
        ticks=tuple(Tick(minutes=m, y=y_of(m)) for m in range(0, top + 1, step)),
        share_ticks=tuple(ShareTick(percent=p, y=y_of_share(p / 100)) for p in (0, 50, 100)),
        share_lines=tuple(lines), target_y=y_of_share(data.target_share),
        shows_values=len(weeks) <= VALUE_LABELS_UP_TO)
