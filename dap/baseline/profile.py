"""A participant's skills profile: their score per area at each checkpoint they sent, the
change from the baseline to the latest, library goals for their weakest areas, and the
geometry of the chart (server-rendered SVG; templates/baseline/_chart.html draws it and
gives the same figures as a table)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from dap.accounts.models import User
from dap.baseline.models import KIND_ORDER, Assessment, Checkpoint, Rating
from dap.cohorts.models import Cohort
from dap.content.baseline import Baseline, BaselineArea
from dap.content.library import LEVELS, Goal, Library
from dap.extensions import db

#: how many weakest areas get suggestions, and how many goals each
WEAKEST_AREAS = 2
GOALS_PER_AREA = 3


@dataclass(frozen=True)
class Taken:
    """One sent assessment: its checkpoint and the score (mean rating) per area."""

    checkpoint: Checkpoint
    scores: dict[str, float]


@dataclass(frozen=True)
class AreaLine:
    area: BaselineArea
    first: float | None
    latest: float | None

    @property
    def change(self) -> float | None:
        if self.first is None or self.latest is None:
            return None
        return round(self.latest - self.first, 2)


@dataclass(frozen=True)
class Profile:
    taken: list[Taken]
    lines: list[AreaLine]

    @property
    def first(self) -> Taken | None:
        return self.taken[0] if self.taken else None

    @property
    def latest(self) -> Taken | None:
        """The last checkpoint sent after the first (None with only one)."""
        return self.taken[-1] if len(self.taken) > 1 else None

    @property
    def is_empty(self) -> bool:
        return not self.taken


def profile(cohort: Cohort, user: User, baseline: Baseline) -> Profile:
    """``user``'s sent assessments in ``cohort`` and their area scores (one query)."""
    rows = db.session.execute(
        select(Checkpoint, Rating.area, func.avg(Rating.value))
        .join(Assessment, Assessment.checkpoint_id == Checkpoint.id)
        .join(Rating, Rating.assessment_id == Assessment.id)
        .where(Assessment.cohort_id == cohort.id, Assessment.user_id == user.id,
               Assessment.submitted_at.is_not(None))
        .group_by(Checkpoint.id, Rating.area)).all()
    by_checkpoint: dict[int, Taken] = {}
    for checkpoint, area, mean in rows:
        if area not in baseline.areas:
            continue  # an area no longer in content/baseline.md
        taken = by_checkpoint.setdefault(checkpoint.id, Taken(checkpoint=checkpoint, scores={}))
        taken.scores[area] = round(float(mean), 2)
    taken = sorted(by_checkpoint.values(), key=lambda t: KIND_ORDER.index(t.checkpoint.kind))
    first = taken[0] if taken else None
    latest = taken[-1] if len(taken) > 1 else None
    lines = [AreaLine(area=area, first=first.scores.get(slug) if first else None,
                      latest=latest.scores.get(slug) if latest else None)
             for slug, area in baseline.areas.items()]
    return Profile(taken=taken, lines=lines)


@dataclass(frozen=True)
class Suggestion:
    area: BaselineArea
    score: float
    goals: list[Goal]


def suggestions(found: Profile, library: Library, taken_slugs: set[str]) -> list[Suggestion]:
    """Library goals for the weakest areas of the most recent assessment: the
    ``WEAKEST_AREAS`` lowest scores under 4 ("confident"), ties in the file's order, each
    with up to ``GOALS_PER_AREA`` goals not already in the plan, easiest first."""
    recent = found.taken[-1] if found.taken else None
    if recent is None:
        return []
    order = {line.area.slug: n for n, line in enumerate(found.lines)}
    areas = {line.area.slug: line.area for line in found.lines}
    weakest = sorted((score, order[slug], slug) for slug, score in recent.scores.items()
                     if score < 4 and slug in areas)
    picked = []
    for score, _, slug in weakest[:WEAKEST_AREAS]:
        goals = sorted((g for g in library.goals.values()
                        if g.area == slug and g.slug not in taken_slugs),
                       key=lambda g: (LEVELS.index(g.level) if g.level in LEVELS else 99,
                                      g.title))
        picked.append(Suggestion(area=areas[slug], score=score, goals=goals[:GOALS_PER_AREA]))
    return picked


# --- the chart ---------------------------------------------------------------------------------

WIDTH = 560
ROW = 34
BAR = 12
LABEL = 190  #: room on the left for the area names
RIGHT = 16
TOP = 26
BOTTOM = 26


@dataclass(frozen=True)
class ChartBar:
    kind: str  #: "first" or "latest"
    score: float
    y: float
    width: float


@dataclass(frozen=True)
class ChartRow:
    line: AreaLine
    y: float
    bars: tuple[ChartBar, ...]


@dataclass(frozen=True)
class Chart:
    rows: list[ChartRow]
    ticks: list[tuple[int, float]]
    first_label: str
    latest_label: str | None
    width: int
    height: int
    left: int = LABEL
    right: int = WIDTH - RIGHT
    top: int = TOP


def chart(found: Profile) -> Chart | None:
    """Horizontal bars on the 1–5 scale, one row per area: the first assessment, and the
    latest beside it when there is one. None before anything is sent."""
    if found.first is None:
        return None
    plot = WIDTH - LABEL - RIGHT

    def x_of(score: float) -> float:
        return round(plot * score / 5, 1)

    rows = []
    height = TOP + ROW * len(found.lines) + BOTTOM
    for n, line in enumerate(found.lines):
        y = TOP + ROW * n
        bars = []
        if line.first is not None:
            bars.append(ChartBar("first", line.first, y + 4, x_of(line.first)))
        if line.latest is not None:
            bars.append(ChartBar("latest", line.latest, y + 4 + BAR + 2, x_of(line.latest)))
        rows.append(ChartRow(line=line, y=y, bars=tuple(bars)))
    ticks = [(v, round(LABEL + x_of(v), 1)) for v in range(0, 6)]
    latest = found.latest
    return Chart(rows=rows, ticks=ticks, first_label=found.first.checkpoint.label,
                 latest_label=latest.checkpoint.label if latest else None,
                 width=WIDTH, height=height)
