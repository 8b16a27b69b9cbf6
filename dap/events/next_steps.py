"""The kick-off leads somewhere: once a participant has been to their cohort's kick-off,
their dashboard and the kick-off's page show what to do next, each step ticked off as it
is done.

The steps here: take the skills baseline, adopt a first goal, and invite a patron. Booking
a first 1:1 joins this list when that part of the programme lands (it adds a ``Step`` to
``_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import exists, func, select

from dap.accounts.models import User
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Invitation,
    Membership,
    MembershipStatus,
    PatronLink,
)
from dap.events.models import PRESENT_MARKS, Attendance, Event, EventKind, EventStatus
from dap.extensions import db
from dap.plans.models import GoalStatus, Plan, PlanGoal


@dataclass(frozen=True)
class Step:
    label: str
    hint: str
    url: str
    done: bool


@dataclass(frozen=True)
class NextSteps:
    cohort: Cohort
    kick_off: Event
    steps: list[Step]

    @property
    def remaining(self) -> int:
        return sum(not step.done for step in self.steps)


def kick_offs_attended(person: User) -> dict[int, Event]:
    """Cohort id → the kick-off ``person`` came to, for the cohorts where they are an active
    participant (one query)."""
    rows = db.session.execute(
        select(Event).join(Attendance, Attendance.event_id == Event.id)
        .join(Membership, (Membership.cohort_id == Event.cohort_id)
              & (Membership.user_id == person.id))
        .where(Attendance.user_id == person.id, Attendance.mark.in_(PRESENT_MARKS),
               Event.kind == EventKind.KICK_OFF, Event.status == EventStatus.SCHEDULED,
               Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE)
        .order_by(Event.starts_at)).scalars().all()
    found: dict[int, Event] = {}
    for event in rows:
        found.setdefault(event.cohort_id, event)
    return found


def _goal_counts(person: User, cohort_ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        select(Plan.cohort_id, func.count(PlanGoal.id)).join(PlanGoal, PlanGoal.plan_id == Plan.id)
        .where(Plan.participant_id == person.id, Plan.cohort_id.in_(cohort_ids),
               PlanGoal.status != GoalStatus.DROPPED)
        .group_by(Plan.cohort_id)).all())


def _with_patron(person: User, cohort_ids: list[int]) -> set[int]:
    """Cohorts where ``person`` has a patron, or has invited one who has not yet answered."""
    linked = select(PatronLink.cohort_id).where(
        PatronLink.participant_id == person.id, PatronLink.cohort_id.in_(cohort_ids),
        PatronLink.ended_at.is_(None))
    invited = select(Invitation.cohort_id).where(
        Invitation.participant_id == person.id, Invitation.cohort_id.in_(cohort_ids),
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    return set(db.session.scalars(linked.union(invited)))


def _baselines_sent(person: User, cohort_ids: list[int]) -> set[int]:
    """Cohorts where ``person`` has sent the skills baseline."""
    from dap.baseline.models import Assessment, Checkpoint, CheckpointKind

    return set(db.session.scalars(
        select(Assessment.cohort_id).join(Checkpoint, Checkpoint.id == Assessment.checkpoint_id)
        .where(Assessment.user_id == person.id, Assessment.cohort_id.in_(cohort_ids),
               Assessment.submitted_at.is_not(None),
               Checkpoint.kind == CheckpointKind.BASELINE)))


def _steps(cohort: Cohort, *, goals: int, patron: bool, baseline: bool) -> list[Step]:
    return [
        Step("Take your skills baseline",
             "Ten minutes rating where you are now, so the programme fits what you need.",
             url_for("baseline.overview", cohort_id=cohort.id), baseline),
        Step("Adopt your first goal",
             "Pick one from the library, or write your own, and make a start this week.",
             url_for("plans.plan", cohort_id=cohort.id), goals > 0),
        Step("Invite a patron",
             "A colleague beside you who looks at your progress and cheers you on.",
             url_for("people.my_patrons", cohort_id=cohort.id), patron),
    ]


def after_kick_off(person: User, *, include_done: bool = False) -> list[NextSteps]:
    """For each cohort whose kick-off ``person`` came to: the next steps, while some remain
    (``include_done``: also when all are done). Five queries, whatever the number of
    cohorts."""
    kick_offs = kick_offs_attended(person)
    if not kick_offs:
        return []
    ids = list(kick_offs)
    goals = _goal_counts(person, ids)
    patron = _with_patron(person, ids)
    baselines = _baselines_sent(person, ids)
    cohorts = {c.id: c for c in db.session.scalars(select(Cohort).where(Cohort.id.in_(ids)))}
    found = []
    for cohort_id, kick_off in kick_offs.items():
        cohort = cohorts[cohort_id]
        if cohort.is_archived:
            continue
        steps = NextSteps(cohort, kick_off, _steps(cohort, goals=goals.get(cohort_id, 0),
                                                   patron=cohort_id in patron,
                                                   baseline=cohort_id in baselines))
        if steps.remaining or include_done:
            found.append(steps)
    return found


def for_event(person: User, event: Event) -> NextSteps | None:
    """The next steps to show on a kick-off's page to someone who came to it."""
    if event.kind is not EventKind.KICK_OFF or event.is_cancelled:
        return None
    came = db.session.scalar(select(exists().where(
        Attendance.event_id == event.id, Attendance.user_id == person.id,
        Attendance.mark.in_(PRESENT_MARKS))))
    if not came:
        return None
    return next((s for s in after_kick_off(person, include_done=True)
                 if s.cohort.id == event.cohort_id), None)
