"""The weekly chart of platform and web time: the geometry of a server-rendered SVG of paired
bars, one pair per week, with each week's allowance marked. No JavaScript; the markup is
templates/timecap/_chart.html (autoescaped), which also gives the figures as a table."""

from __future__ import annotations

from dataclasses import dataclass

from dap.timecap.queries import WeekFigures

WIDTH = 560
HEIGHT = 240
#: room for the minute labels on the left, the value labels above the bars, the weeks below
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 22, 34
BAR = 22
GAP = 3
#: tick steps in minutes, smallest first (then ×10 for longer weeks)
STEPS = (5, 10, 15, 30, 60, 120, 180, 300, 600)
MAX_TICKS = 4


@dataclass(frozen=True)
class Bar:
    kind: str  #: "platform" or "web"
    minutes: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class Group:
    """One week: its bars, its allowance mark (a line over the platform bar) and label."""

    week: WeekFigures
    bars: tuple[Bar, ...]
    middle: float
    allowance_y: float | None
    allowance_x1: float
    allowance_x2: float


@dataclass(frozen=True)
class Tick:
    minutes: int
    y: float


@dataclass(frozen=True)
class WeeklyChart:
    weeks: list[WeekFigures]
    groups: list[Group]
    ticks: list[Tick]
    #: false for managed participants, whose time on DAP is never measured
    shows_platform: bool
    weekly_cap: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM

    @property
    def current(self) -> WeekFigures:
        return self.weeks[-1]

    @property
    def total_platform(self) -> int:
        return sum(w.platform_minutes for w in self.weeks)

    @property
    def total_web(self) -> int:
        return sum(w.web_minutes for w in self.weeks)


def scale_top(largest: int) -> tuple[int, int]:
    """The top of the minute axis and the tick step: at most ``MAX_TICKS`` round steps."""
    factor = 1
    while True:
        for base in STEPS:
            step = base * factor
            if step * MAX_TICKS >= largest:
                top = max(step, -(-largest // step) * step)
                return top, step
        factor *= 10


def weekly_chart(weeks: list[WeekFigures], *, weekly_cap: int,
                 shows_platform: bool = True) -> WeeklyChart:
    """Lay out ``weeks`` (oldest first) as paired bars: platform minutes (solid) and web
    minutes (striped), each platform bar crossed by its week's allowance. Without the
    platform (``shows_platform=False``), one web bar per week and no allowance."""
    values = [w.web_minutes for w in weeks]
    if shows_platform:
        values += [w.platform_minutes for w in weeks] + [w.allowance_minutes for w in weeks]
    top, step = scale_top(max(values, default=0))
    plot = HEIGHT - TOP - BOTTOM
    baseline = HEIGHT - BOTTOM

    def y_of(minutes: int) -> float:
        return round(baseline - plot * min(minutes, top) / top, 1)

    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    groups = []
    for n, week in enumerate(weeks):
        middle = LEFT + slot * n + slot / 2
        kinds = [("platform", week.platform_minutes), ("web", week.web_minutes)]
        if not shows_platform:
            kinds = kinds[1:]
        x = middle - (len(kinds) * BAR + (len(kinds) - 1) * GAP) / 2
        bars = []
        for kind, minutes in kinds:
            y = y_of(minutes)
            bars.append(Bar(kind=kind, minutes=minutes, x=round(x, 1), y=y, width=BAR,
                            height=round(baseline - y, 1)))
            x += BAR + GAP
        first = bars[0]
        groups.append(Group(
            week=week, bars=tuple(bars), middle=round(middle, 1),
            allowance_y=y_of(week.allowance_minutes) if shows_platform else None,
            allowance_x1=round(first.x - 4, 1), allowance_x2=round(first.x + BAR + 4, 1)))
    ticks = [Tick(minutes=m, y=y_of(m)) for m in range(0, top + 1, step)]
    return WeeklyChart(weeks=weeks, groups=groups, ticks=ticks, shows_platform=shows_platform,
                       weekly_cap=weekly_cap)
