"""A cohort at a glance for its facilitators: each participant's measures that matter, and
the funnel from invitation to a finished goal.

Everything is read for the whole cohort (or one team) at once, in a fixed number of grouped
queries whatever the number of people: the participants, their patrons, their baselines,
their goals by status, their plans (for the streak), their latest activity (six queries, see
``dap.insights.activity``), this week's time (three, see ``dap.timecap.queries``), the events
they came to and the 1:1 sessions they had. About twenty in all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from dap.accounts.models import User
from dap.baseline.models import Assessment, Checkpoint, CheckpointKind
from dap.clock import local_date, now_utc
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Membership,
    MembershipStatus,
    PatronLink,
    Team,
)
from dap.events.models import PRESENT_MARKS, Attendance, Event, EventStatus
from dap.extensions import db
from dap.insights.activity import Activity, last_activity
from dap.insights.silence import episode_start, pause_state
from dap.plans.models import GoalStatus, Plan, PlanGoal
from dap.plans.services import streaks
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.queries import WeekFigures, this_week_of

#: "active" in the funnel: some activity within this many days
ACTIVE_DAYS = 14
#: figures from fewer people than this are flagged as too few to read much into
FEW = 5
OPEN_STATUSES = (GoalStatus.PLANNED, GoalStatus.ACTIVE)
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class Person:
    """One participant of the cohort (not removed) and what the dashboard knows of them."""

    membership: Membership
    patrons: list[str] = field(default_factory=list)
    has_baseline: bool = False
    goals: Counter = field(default_factory=Counter)  #: GoalStatus → how many
    streak: int = 0
    activity: Activity | None = None
    week: WeekFigures | None = None
    events_attended: int = 0
    sessions_held: int = 0
    is_paused: bool = False
    #: whole days silent (at least the cohort's ``silent_after_days``), or None
    silent_days: int | None = None

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def team(self) -> Team | None:
        return self.membership.team

    @property
    def has_joined(self) -> bool:
        return self.membership.status is MembershipStatus.ACTIVE

    @property
    def goals_open(self) -> int:
        return sum(self.goals[status] for status in OPEN_STATUSES)

    @property
    def goals_done(self) -> int:
        return self.goals[GoalStatus.DONE]

    @property
    def has_goal(self) -> bool:
        return sum(self.goals.values()) > 0

    @property
    def platform_minutes(self) -> int | None:
        """This week's minutes on DAP; None for managed people, whose time is not measured."""
        if self.user.is_managed or self.week is None:
            return None
        return self.week.platform_minutes

    @property
    def web_minutes(self) -> int:
        return self.week.web_minutes if self.week is not None else 0

    def is_active_since(self, since: datetime) -> bool:
        return self.activity is not None and self.activity.at >= since

    @property
    def can_be_nudged(self) -> bool:
        """Silent, with an account of their own to read a nudge in."""
        return self.silent_days is not None and not self.user.is_managed


@dataclass
class CohortFacts:
    cohort: Cohort
    team_id: int | None
    people: list[Person]  #: every participant not removed (invited ones too), by name
    now: datetime

    @property
    def joined(self) -> list[Person]:
        return [p for p in self.people if p.has_joined]

    @property
    def has_ended(self) -> bool:
        return has_ended(self.cohort)


def as_of(cohort: Cohort, now: datetime | None = None) -> datetime:
    """The moment a cohort's figures are read at: now while it runs, and once it has ended
    the end of its last day (midnight after ``end_date`` in its time zone), so that a
    finished cohort shows who was active, silent or on a streak when it finished rather
    than everyone silent since."""
    now = now or now_utc()
    end = datetime.combine(cohort.end_date + timedelta(days=1), time(0),
                           tzinfo=ZoneInfo(cohort.timezone)).astimezone(UTC)
    return min(now, end)


def has_ended(cohort: Cohort, now: datetime | None = None) -> bool:
    """Whether the cohort's last day is over (in its time zone)."""
    now = now or now_utc()
    return as_of(cohort, now) < now


def cohort_facts(cohort: Cohort, *, team_id: int | None = None,
                 now: datetime | None = None) -> CohortFacts:
    """Everything the dashboard shows of ``cohort``'s participants (of one team, when
    ``team_id`` is given). Removed members are left out; invited ones are in (the funnel
    starts with them) but have no activity. About twenty queries, whatever the size."""
    now = now or now_utc()
    query = (
        select(Membership).join(User, User.id == Membership.user_id)
        .outerjoin(Team, Team.id == Membership.team_id)
        .where(Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
               Membership.status != MembershipStatus.REMOVED)
        .options(contains_eager(Membership.user), contains_eager(Membership.team))
        .order_by(func.lower(User.name), Membership.id))
    if team_id is not None:
        query = query.where(Membership.team_id == team_id)
    people = [Person(m) for m in db.session.scalars(query).unique()]
    facts = CohortFacts(cohort=cohort, team_id=team_id, people=people, now=now)
    if not people:
        return facts
    by_user = {p.user.id: p for p in people}
    ids = list(by_user)

    for participant_id, name in db.session.execute(
            select(PatronLink.participant_id, User.name)
            .join(User, User.id == PatronLink.patron_id)
            .where(PatronLink.cohort_id == cohort.id, PatronLink.ended_at.is_(None),
                   PatronLink.participant_id.in_(ids))
            .order_by(func.lower(User.name))):
        by_user[participant_id].patrons.append(name)
    for user_id in db.session.scalars(
            select(Assessment.user_id).join(Checkpoint, Checkpoint.id == Assessment.checkpoint_id)
            .where(Checkpoint.cohort_id == cohort.id, Checkpoint.kind == CheckpointKind.BASELINE,
                   Assessment.submitted_at.is_not(None), Assessment.user_id.in_(ids))):
        by_user[user_id].has_baseline = True
    for user_id, status, count in db.session.execute(
            select(Plan.participant_id, PlanGoal.status, func.count(PlanGoal.id))
            .join(PlanGoal, PlanGoal.plan_id == Plan.id)
            .where(Plan.cohort_id == cohort.id, Plan.participant_id.in_(ids))
            .group_by(Plan.participant_id, PlanGoal.status)):
        by_user[user_id].goals[status] = count

    joined = [p for p in people if p.has_joined]
    joined_ids = [p.user.id for p in joined]
    plans = list(db.session.scalars(select(Plan).where(
        Plan.cohort_id == cohort.id, Plan.participant_id.in_(joined_ids))))
    found = streaks(plans, today={cohort.id: local_date(now, cohort.timezone)})
    back_on: dict[int, datetime | None] = {}
    for plan in plans:
        by_user[plan.participant_id].streak = found[plan.id]
        by_user[plan.participant_id].is_paused, back_on[plan.participant_id] = pause_state(
            plan.paused_from, plan.paused_until, cohort.timezone, now)
    for user_id, activity in last_activity(cohort.id, joined_ids).items():
        by_user[user_id].activity = activity
    weeks = this_week_of([(user_id, cohort) for user_id in joined_ids], at=now)
    for (user_id, _), week in weeks.items():
        by_user[user_id].week = week
    for user_id, count in db.session.execute(
            select(Attendance.user_id, func.count(Attendance.id))
            .join(Event, Event.id == Attendance.event_id)
            .where(Event.cohort_id == cohort.id, Event.status != EventStatus.CANCELLED,
                   Event.starts_at <= now, Attendance.mark.in_(PRESENT_MARKS),
                   Attendance.user_id.in_(joined_ids))
            .group_by(Attendance.user_id)):
        by_user[user_id].events_attended = count
    for user_id, count in db.session.execute(
            select(SupportBooking.participant_id, func.count(SupportBooking.id))
            .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
            .where(SupportSlot.cohort_id == cohort.id,
                   SupportBooking.status == BookingStatus.BOOKED, SupportSlot.starts_at <= now,
                   SupportBooking.participant_id.in_(joined_ids))
            .group_by(SupportBooking.participant_id)):
        by_user[user_id].sessions_held = count
    # silence as the daily scan sees it (dap.insights.silence): a pause is not silence, and
    # the count starts again when it ends
    for person in joined:
        if not person.is_paused:
            quiet = now - episode_start(person.activity, person.membership.joined_at,
                                        back_on.get(person.user.id))
            if quiet >= timedelta(days=cohort.silent_after_days):
                person.silent_days = quiet.days
    return facts


# --- the roster ---------------------------------------------------------------------------


def _last_seen(person: Person) -> datetime:
    return person.activity.at if person.activity is not None else NEVER


#: sort key → how to sort by it; ties go by name
SORTS: dict[str, Callable[[Person], object]] = {
    "name": lambda p: p.user.name.lower(),
    "team": lambda p: (p.team is None, p.team.name.lower() if p.team else ""),
    "baseline": lambda p: p.has_baseline,
    "open": lambda p: p.goals_open,
    "done": lambda p: p.goals_done,
    "last": _last_seen,
    "streak": lambda p: p.streak,
    "platform": lambda p: p.platform_minutes if p.platform_minutes is not None else -1,
    "web": lambda p: p.web_minutes,
    "events": lambda p: p.events_attended,
    "sessions": lambda p: p.sessions_held,
    "silent": lambda p: p.silent_days if p.silent_days is not None else -1,
    "patrons": lambda p: (not p.patrons, ", ".join(p.patrons).lower()),
}


def roster_lines(facts: CohortFacts, *, sort: str = "name", descending: bool = False,
                 silent_only: bool = False) -> list[Person]:
    """The joined participants, sorted by ``sort`` (a key of ``SORTS``; ties by name), or
    only the silent ones. No queries."""
    key = SORTS.get(sort, SORTS["name"])
    lines = [p for p in facts.joined if p.silent_days is not None or not silent_only]
    lines.sort(key=lambda p: p.user.name.lower())
    lines.sort(key=key, reverse=descending)
    return lines


# --- the funnel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    count: int
    invited: int

    @property
    def share(self) -> Fraction | None:
        """The share of everyone invited who reached this step."""
        return Fraction(self.count, self.invited) if self.invited else None

    @property
    def percent(self) -> int | None:
        share = self.share
        return None if share is None else round(share * 100)

    @property
    def is_few(self) -> bool:
        return self.invited < FEW


@dataclass(frozen=True)
class FunnelRow:
    label: str  #: a team's name, "No team", or "Everyone"
    team_id: int | None
    stages: list[Stage]

    @property
    def invited(self) -> int:
        return self.stages[0].count


STAGES: list[tuple[str, str, Callable[[Person, datetime], bool]]] = [
    ("invited", "Invited", lambda p, since: True),
    ("joined", "Joined", lambda p, since: p.has_joined),
    ("baseline", "Took the baseline", lambda p, since: p.has_baseline),
    ("goal", "Set a first goal", lambda p, since: p.has_goal),
    ("active", f"Active in the last {ACTIVE_DAYS} days", lambda p, since: p.is_active_since(since)),
    ("done", "Finished a goal", lambda p, since: p.goals_done > 0),
]


def _stages(people: list[Person], since: datetime) -> list[Stage]:
    invited = len(people)
    return [Stage(key, label, sum(1 for p in people if reached(p, since)), invited)
            for key, label, reached in STAGES]


def funnel(facts: CohortFacts) -> list[FunnelRow]:
    """The funnel for everyone, then per team (by name; the team-less last). Each step
    counts the people who have done it, whether or not they did the steps before it (someone
    may set a goal without taking the baseline); the shares are of everyone invited. No
    queries: it reads ``facts``."""
    since = facts.now - timedelta(days=ACTIVE_DAYS)
    rows = [FunnelRow("Everyone", None, _stages(facts.people, since))]
    teams: dict[int | None, list[Person]] = defaultdict(list)
    for person in facts.people:
        teams[person.membership.team_id].append(person)
    if facts.team_id is not None:
        return rows
    named = sorted((t for t in teams if t is not None),
                   key=lambda t: teams[t][0].team.name.lower())
    for team_id in named:
        rows.append(FunnelRow(teams[team_id][0].team.name, team_id,
                              _stages(teams[team_id], since)))
    if None in teams and named:
        rows.append(FunnelRow("No team", None, _stages(teams[None], since)))
    return rows
