"""What a patron sees of the people they are patron to: the patron home (``/patron``), and the
"This week and coming up" box on a participant's plan (for their patrons and facilitators).

Each figure comes from the domain that owns it: the participants from ``looked_after``
(active links, active participant memberships), goals counted with the plans' visibility
rule (``access.sees_goal``: never "only me" goals for a patron), the streak
(``services.streaks``), the latest activity on any channel and silence
(dap.insights.activity, with the cohort's ``silent_after_days``), this week's platform and web
minutes (dap.timecap.queries), the next event they are going to (dap.events.queries) and the
day of their next 1:1 (dap.support.queries: the day only, never its note), and their newest
finished goals with whether the patron has endorsed each (dap.plans.endorsements). Each is
read for everyone at once, so the page costs the same number of queries for two people as for
twenty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, select

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort
from dap.events.models import Event
from dap.events.queries import next_going
from dap.extensions import db
from dap.insights.activity import Activity, last_activities, silent_days
from dap.plans import services
from dap.plans.access import Role, Seat, sees_goal
from dap.plans.models import GoalEndorsement, GoalStatus, Plan, PlanGoal
from dap.plans.queries import LookedAfter, looked_after
from dap.support.queries import next_session_starts
from dap.timecap.queries import WeekFigures, this_week_of


@dataclass(frozen=True)
class Outlook:
    """A participant's recent activity and what is coming up for them."""

    activity: Activity | None
    #: whole days without activity, once past the cohort's ``silent_after_days``; None when
    #: they are not silent (or their plan is paused, or the cohort is archived)
    silent_for: int | None
    #: the next event of the cohort they said they are going to
    next_event: Event | None
    #: the day (cohort time zone) of their next booked 1:1 session
    next_session: date | None


#: how many finished goals each card of the patron home lists (the newest)
DONE_SHOWN = 3


@dataclass(frozen=True)
class DoneGoal:
    """A finished goal on the patron home, and whether the patron has endorsed it."""

    id: int
    title: str
    endorsed: bool


@dataclass(frozen=True)
class Glance:
    """One row of the patron home."""

    person: LookedAfter
    goals_active: int
    goals_done: int
    streak: int
    week: WeekFigures
    outlook: Outlook
    #: the newest finished goals the patron may see (at most ``DONE_SHOWN``)
    done_goals: tuple[DoneGoal, ...] = ()

    @property
    def cohort(self) -> Cohort:
        return self.person.cohort


def overview(patron: User) -> list[Glance]:
    """The people ``patron`` is patron to, across cohorts (by name), each with what the
    patron home shows. A fixed number of queries, whatever the number of people: none past
    the first when there is nobody."""
    people = looked_after(patron)
    if not people:
        return []
    now = now_utc()
    today = {p.cohort.id: local_date(now, p.cohort.timezone) for p in people}
    plans = _plans_of(people)
    counts = _goal_counts([plan.id for plan in plans.values()], Role.PATRON)
    finished = _done_goals([plan.id for plan in plans.values()], patron)
    streaks = services.streaks(plans.values(), today=today)
    weeks = this_week_of((p.participant_id, p.cohort) for p in people)
    outlooks = _outlooks(people, now=now)
    glances = []
    for person in people:
        key = (person.cohort.id, person.participant_id)
        plan = plans.get(key)
        active, done = counts.get(plan.id, (0, 0)) if plan is not None else (0, 0)
        glances.append(Glance(
            person=person, goals_active=active, goals_done=done,
            streak=streaks[plan.id] if plan is not None else 0,
            week=weeks[(person.participant_id, person.cohort.id)], outlook=outlooks[key],
            done_goals=tuple(finished.get(plan.id, ())) if plan is not None else ()))
    return glances


def outlook_of(seat: Seat) -> Outlook | None:
    """The box on someone else's plan (patrons and facilitators); None on one's own."""
    if seat.own:
        return None
    plan = seat.plan
    person = LookedAfter(
        name=seat.participant.name, cohort=seat.cohort, membership_id=seat.membership.id,
        paused_until=plan.paused_until if plan.paused_from is not None else None,
        participant_id=seat.participant.id, joined_at=seat.membership.joined_at,
        is_managed=seat.participant.is_managed)
    return _outlooks([person], now=now_utc())[(seat.cohort.id, seat.participant.id)]


def _plans_of(people: list[LookedAfter]) -> dict[tuple[int, int], Plan]:
    """``(cohort id, participant id)`` → their plan, for those who have one (one query)."""
    wanted = {(p.cohort.id, p.participant_id) for p in people}
    found = db.session.scalars(select(Plan).where(
        Plan.cohort_id.in_(list({cohort_id for cohort_id, _ in wanted})),
        Plan.participant_id.in_(list({user_id for _, user_id in wanted}))))
    return {(plan.cohort_id, plan.participant_id): plan for plan in found
            if (plan.cohort_id, plan.participant_id) in wanted}


def _goal_counts(plan_ids: list[int], role: Role) -> dict[int, tuple[int, int]]:
    """Plan id → (active goals, done goals) that a viewer in ``role`` may see (one query)."""
    if not plan_ids:
        return {}
    rows = db.session.execute(
        select(PlanGoal.plan_id, PlanGoal.status, PlanGoal.visibility, func.count(PlanGoal.id))
        .where(PlanGoal.plan_id.in_(plan_ids),
               PlanGoal.status.in_((GoalStatus.ACTIVE, GoalStatus.DONE)))
        .group_by(PlanGoal.plan_id, PlanGoal.status, PlanGoal.visibility))
    counts: dict[int, tuple[int, int]] = {}
    for plan_id, status, visibility, number in rows:
        if not sees_goal(role, visibility):
            continue
        active, done = counts.get(plan_id, (0, 0))
        counts[plan_id] = ((active + number, done) if status is GoalStatus.ACTIVE
                           else (active, done + number))
    return counts


def _done_goals(plan_ids: list[int], patron: User) -> dict[int, list[DoneGoal]]:
    """Plan id → its newest finished goals a patron may see (at most ``DONE_SHOWN``), each
    with whether ``patron`` has endorsed it (one query)."""
    if not plan_ids:
        return {}
    rows = db.session.execute(
        select(PlanGoal.plan_id, PlanGoal.id, PlanGoal.title, PlanGoal.visibility,
               GoalEndorsement.id)
        .outerjoin(GoalEndorsement, and_(GoalEndorsement.goal_id == PlanGoal.id,
                                         GoalEndorsement.author_id == patron.id))
        .where(PlanGoal.plan_id.in_(plan_ids), PlanGoal.status == GoalStatus.DONE)
        .order_by(PlanGoal.done_at.desc(), PlanGoal.id.desc()))
    found: dict[int, list[DoneGoal]] = {}
    for plan_id, goal_id, title, visibility, endorsement_id in rows:
        listed = found.setdefault(plan_id, [])
        if sees_goal(Role.PATRON, visibility) and len(listed) < DONE_SHOWN:
            listed.append(DoneGoal(id=goal_id, title=title, endorsed=endorsement_id is not None))
    return found


def _outlooks(people: list[LookedAfter], *, now: datetime) -> dict[tuple[int, int], Outlook]:
    """``(cohort id, participant id)`` → their outlook: eight queries (six for the latest
    activity, one each for the next event and the next 1:1), whatever the number of
    people."""
    keys = [(p.cohort.id, p.participant_id) for p in people]
    latest = last_activities(keys)
    events = next_going(keys)
    sessions = next_session_starts(keys)
    found = {}
    for person, key in zip(people, keys, strict=True):
        cohort = person.cohort
        quiet = None
        if not person.paused and not cohort.is_archived:
            quiet = silent_days(latest.get(key), joined_at=person.joined_at,
                                after_days=cohort.silent_after_days, now=now)
        starts = sessions.get(key)
        found[key] = Outlook(
            activity=latest.get(key), silent_for=quiet, next_event=events.get(key),
            next_session=local_date(starts, cohort.timezone) if starts is not None else None)
    return found
