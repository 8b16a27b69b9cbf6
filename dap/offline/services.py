"""What a participant's device keeps for offline use."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.extensions import db
from dap.plans.models import GoalStatus, Plan, PlanGoal

#: at most this many goal pages are kept (the newest first)
MAX_GOALS = 30
OPEN = (GoalStatus.PLANNED, GoalStatus.ACTIVE)


def kept_urls(user_id: int) -> list[str]:
    """The pages to keep: the plan of each running cohort the person takes part in, its
    open goals, their library pages, and the web-time log. Empty for anyone else."""
    plans = db.session.execute(
        select(Plan.id, Plan.cohort_id)
        .join(Membership, (Membership.user_id == Plan.participant_id)
              & (Membership.cohort_id == Plan.cohort_id))
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .where(Plan.participant_id == user_id, Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE, Cohort.is_archived.is_(False))
        .order_by(Cohort.start_date.desc(), Cohort.id.desc())).all()
    if not plans:
        return []
    cohort_of = {plan_id: cohort_id for plan_id, cohort_id in plans}  # noqa: C416 - rows
    goals = db.session.execute(
        select(PlanGoal.id, PlanGoal.plan_id, PlanGoal.library_slug)
        .where(PlanGoal.plan_id.in_(cohort_of), PlanGoal.status.in_(OPEN))
        .order_by(PlanGoal.id.desc()).limit(MAX_GOALS)).all()
    urls = [url_for("plans.plan", cohort_id=cohort_id, membership_id=None)
            for _, cohort_id in plans]
    urls += [url_for("plans.goal", cohort_id=cohort_of[plan_id], membership_id=None,
                     goal_id=goal_id) for goal_id, plan_id, _ in goals]
    urls += sorted({url_for("library.goal", slug=slug) for _, _, slug in goals if slug})
    urls.append(url_for("timecap.log"))
    return urls
