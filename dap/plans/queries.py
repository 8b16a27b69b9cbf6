"""Read-only queries for the plan pages (a fixed number of queries per page, whatever the
number of goals and check-ins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.extensions import db
from dap.plans.endorsements import endorsements_of
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal


def plan_of(user_id: int, cohort_id: int) -> Plan | None:
    """The participant's plan in the cohort, if they have one (never creates it)."""
    return db.session.scalar(
        select(Plan).where(Plan.participant_id == user_id, Plan.cohort_id == cohort_id))


def goals_of(plan: Plan) -> list[PlanGoal]:
    """The plan's goals in the participant's order (one query)."""
    return list(db.session.scalars(
        select(PlanGoal).where(PlanGoal.plan_id == plan.id)
        .order_by(PlanGoal.position, PlanGoal.id)
    ))


def last_check_in_days(plan: Plan) -> dict[int, date]:
    """Goal id → the day of its latest check-in (one query)."""
    rows = db.session.execute(
        select(CheckIn.goal_id, func.max(CheckIn.local_date))
        .where(CheckIn.plan_id == plan.id).group_by(CheckIn.goal_id)
    )
    return {row[0]: row[1] for row in rows}


TIMELINE_PAGE = 20


@dataclass(frozen=True)
class TimelinePage:
    entries: list[CheckIn]
    #: the last entry shown when there are older ones (the cursor for the next page)
    older: CheckIn | None
    #: whether this is not the newest page
    newer: bool


def timeline(goal: PlanGoal, *, before: CheckIn | None = None,
             size: int = TIMELINE_PAGE) -> TimelinePage:
    """A page of a goal's check-ins, newest first, with who recorded them: the newest
    ``size``, or the ``size`` just older than ``before`` (keyset paging, so a check-in
    added meanwhile never shifts a page). Two queries, whatever the number of check-ins."""
    stmt = (
        select(CheckIn).where(CheckIn.goal_id == goal.id)
        .options(selectinload(CheckIn.created_by))
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(size + 1)
    )
    if before is not None:
        stmt = stmt.where(or_(
            CheckIn.created_at < before.created_at,
            and_(CheckIn.created_at == before.created_at, CheckIn.id < before.id),
        ))
    rows = list(db.session.scalars(stmt))
    entries = rows[:size]
    return TimelinePage(entries=entries, older=entries[-1] if len(rows) > size else None,
                        newer=before is not None)


def library_slugs_in(plan: Plan) -> set[str]:
    """The library goals already in the plan and not dropped (one query)."""
    return set(db.session.scalars(
        select(PlanGoal.library_slug).where(PlanGoal.plan_id == plan.id,
                                            PlanGoal.library_slug.is_not(None),
                                            PlanGoal.status != GoalStatus.DROPPED)
    ))


def participant_cohorts(user: User) -> list[Cohort]:
    """The cohorts (not archived) where ``user`` is an active participant."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        select(Cohort).join(Membership, Membership.cohort_id == Cohort.id)
        .where(Membership.user_id == user.id, Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE, Cohort.is_archived.is_(False))
        .order_by(Cohort.start_date.desc(), Cohort.id)
    ))


def adopted_in(user: User, slug: str) -> dict[int, int]:
    """Cohort id → plan goal id, for the cohorts where ``user`` already has the library
    goal ``slug`` in their plan (and has not dropped it)."""
    rows = db.session.execute(
        select(Plan.cohort_id, PlanGoal.id).join(PlanGoal, PlanGoal.plan_id == Plan.id)
        .where(Plan.participant_id == user.id, PlanGoal.library_slug == slug,
               PlanGoal.status != GoalStatus.DROPPED)
    )
    return {row[0]: row[1] for row in rows}


def printable_plans(cohort: Cohort, participant_ids: list[int] | None = None) -> list[dict]:
    """What the printed plans show, for the cohort's active participants (or just the
    given ones), by name: the person, their plan (or None yet), its goals and their
    endorsements (goal id → list). A fixed number of queries, whatever the cohort's size."""

    stmt = (
        select(Membership).join(User, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE)
        .options(selectinload(Membership.user), selectinload(Membership.team))
        .order_by(func.lower(User.name), User.id)
    )
    if participant_ids is not None:
        stmt = stmt.where(Membership.user_id.in_(participant_ids))
    memberships = list(db.session.scalars(stmt))
    plans = {
        plan.participant_id: plan
        for plan in db.session.scalars(
            select(Plan).where(Plan.cohort_id == cohort.id,
                               Plan.participant_id.in_([m.user_id for m in memberships]))
            .options(selectinload(Plan.goals))
        )
    } if memberships else {}
    sheets = [
        {"membership": m, "plan": plans.get(m.user_id),
         "goals": [g for g in (plans[m.user_id].goals if m.user_id in plans else [])
                   if g.status is not GoalStatus.DROPPED]}
        for m in memberships
    ]
    endorsed = endorsements_of(g.id for sheet in sheets for g in sheet["goals"])
    for sheet in sheets:
        sheet["endorsements"] = {g.id: endorsed[g.id] for g in sheet["goals"] if g.id in endorsed}
    return sheets


@dataclass(frozen=True)
class LookedAfter:
    """A participant someone is patron to, as the patron's pages list them."""

    name: str
    cohort: Cohort
    membership_id: int
    paused_until: date | None
    participant_id: int
    #: when they joined the cohort (silence counts from it until they do something)
    joined_at: datetime
    #: a "supported digital" participant: a facilitator keeps their plan, no platform time
    is_managed: bool

    @property
    def paused(self) -> bool:
        from dap.clock import local_date, now_utc

        return (self.paused_until is not None
                and self.paused_until >= local_date(now_utc(), self.cohort.timezone))


def looked_after(patron: User, cohort_id: int | None = None) -> list[LookedAfter]:
    """The participants ``patron`` is patron to (active links, active memberships), with
    whether their plan is paused: one query, plus one for the cohorts."""
    from dap.cohorts.models import PatronLink

    stmt = (
        select(User.name, Membership.cohort_id, Membership.id, Plan.paused_from,
               Plan.paused_until, User.id, Membership.joined_at, User.is_managed)
        .select_from(PatronLink)
        .join(User, User.id == PatronLink.participant_id)
        .join(Membership, (Membership.user_id == PatronLink.participant_id)
              & (Membership.cohort_id == PatronLink.cohort_id))
        .outerjoin(Plan, (Plan.participant_id == PatronLink.participant_id)
                   & (Plan.cohort_id == PatronLink.cohort_id))
        .where(PatronLink.patron_id == patron.id, PatronLink.ended_at.is_(None),
               Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE)
        .order_by(func.lower(User.name), Membership.id)
    )
    if cohort_id is not None:
        stmt = stmt.where(PatronLink.cohort_id == cohort_id)
    rows = db.session.execute(stmt).all()
    cohorts = {c.id: c for c in db.session.scalars(
        select(Cohort).where(Cohort.id.in_({row[1] for row in rows})))} if rows else {}
    return [
        LookedAfter(name=name, cohort=cohorts[cid], membership_id=mid,
                    paused_until=until if paused_from is not None else None,
                    participant_id=uid, joined_at=joined_at, is_managed=managed)
        for name, cid, mid, paused_from, until, uid, joined_at, managed in rows
    ]


def paused_participants(cohort: Cohort, user_ids: list[int]) -> set[int]:
    """Which of ``user_ids`` have their plan in ``cohort`` paused today (one query)."""
    if not user_ids:
        return set()
    from dap.plans.services import is_paused

    today = local_date(now_utc(), cohort.timezone)
    plans = db.session.scalars(select(Plan).where(
        Plan.cohort_id == cohort.id, Plan.participant_id.in_(user_ids),
        Plan.paused_from.is_not(None)))
    return {plan.participant_id for plan in plans if is_paused(plan, today=today)}
