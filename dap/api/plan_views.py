"""My goals and check-ins, through the plan services the web pages use.

Scope: the token owner's own plans in cohorts where they are an active participant. A
goal or check-in of anyone else is a 404, as on the web. Archived cohorts are read-only
(403 ``cohort_archived``).
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from dap.api import pagination, schemas
from dap.api.problems import ApiError, field_error, validation_failed
from dap.api.routing import Reply, operation
from dap.cohorts.models import CohortRole, Membership, MembershipStatus
from dap.extensions import db
from dap.plans import services
from dap.plans.access import Seat, load_seat
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal, Visibility
from dap.timecap import gate

#: plans of the signed-in person where they are an active participant
_MY_PLANS = (Plan.participant_id == Membership.user_id, Plan.cohort_id == Membership.cohort_id,
             Membership.role == CohortRole.PARTICIPANT,
             Membership.status == MembershipStatus.ACTIVE)


def own_goals():
    return (select(PlanGoal).join(PlanGoal.plan).join(Membership, _MY_PLANS[0])
            .where(*_MY_PLANS[1:], Plan.participant_id == current_user.id)
            .options(contains_eager(PlanGoal.plan)))


def goal_out(goal: PlanGoal) -> schemas.Goal:
    return schemas.Goal(
        id=goal.id, cohort_id=goal.plan.cohort_id, title=goal.title, why=goal.why,
        status=goal.status.value, progress=goal.progress, target_date=goal.target_date,
        visibility=goal.visibility.value, library_slug=goal.library_slug,
        reflection=goal.reflection, created_at=goal.created_at, done_at=goal.done_at,
        url=url_for("plans.goal", cohort_id=goal.plan.cohort_id, membership_id=None,
                    goal_id=goal.id, _external=True))


def check_in_out(entry: CheckIn) -> schemas.CheckIn:
    return schemas.CheckIn(id=entry.id, goal_id=entry.goal_id, day=entry.local_date,
                           progress=entry.progress, minutes=entry.minutes, note=entry.note,
                           created_at=entry.created_at)


def my_goal(goal_id: int) -> PlanGoal:
    """One of my goals. :raise 404: anyone else's, or a plan I am no longer active in."""
    goal = db.session.scalar(own_goals().where(PlanGoal.id == goal_id))
    if goal is None:
        abort(404)
    return goal


def writable_seat(cohort_id: int) -> Seat:
    """My seat at my plan in that cohort, to change it.

    :raise 404: not a participant there. :raise ApiError: 403 when the cohort is archived.
    """
    seat = load_seat(current_user, cohort_id, None)
    if not seat.can_write:
        raise ApiError(403, "cohort_archived", "This cohort is archived: its plans are "
                       "read-only.")
    return seat


def default_cohort_id(given: int | None, field: str) -> int:
    """The cohort asked for, or the one whose time cap applies (the newest running cohort
    I take part in)."""
    if given is not None:
        return given
    found = gate.current_measured()
    if found is None:
        raise validation_failed([field_error(field, "You take part in no running cohort: "
                                             "name one.", "no_cohort")])
    return found.cohort.id


# --- goals ------------------------------------------------------------------------------------


@operation("GET", "/goals", summary="My goals", tag="goals", query=schemas.GoalQuery,
           answer=schemas.GoalList)
def list_goals(query: schemas.GoalQuery):
    stmt = own_goals()
    if query.status:
        stmt = stmt.where(PlanGoal.status == GoalStatus(query.status))
    if query.cohort_id:
        stmt = stmt.where(Plan.cohort_id == query.cohort_id)
    goals, cursor = pagination.page(stmt, PlanGoal.id, limit=query.limit, cursor=query.cursor)
    return schemas.GoalList(items=[goal_out(g) for g in goals], next_cursor=cursor)


@operation("GET", "/goals/<int:goal_id>", summary="One of my goals", tag="goals",
           answer=schemas.Goal)
def get_goal(goal_id: int):
    return goal_out(my_goal(goal_id))


@operation("POST", "/goals", summary="Add a goal of my own", tag="goals", scope="read-write",
           body=schemas.GoalCreate, answer=schemas.Goal, status=201,
           description="Library goals are adopted on the library's pages; this adds one's "
                       "own goal to the plan.")
def create_goal(body: schemas.GoalCreate):
    seat = writable_seat(default_cohort_id(body.cohort_id, "cohort_id"))
    goal = services.write_goal(seat.plan, actor=current_user, title=body.title, why=body.why,
                               target_date=body.target_date,
                               visibility=Visibility(body.visibility))
    return Reply(goal_out(goal), 201, url_for("api.get_goal", goal_id=goal.id))


@operation("PATCH", "/goals/<int:goal_id>", summary="Change, start, drop or finish a goal",
           tag="goals", scope="read-write", body=schemas.GoalUpdate, answer=schemas.Goal,
           errors=(409,), fields={"reason": "drop_reason"})
def update_goal(goal_id: int, body: schemas.GoalUpdate):
    goal = my_goal(goal_id)
    writable_seat(goal.plan.cohort_id)
    sent = body.model_fields_set
    cannot_be_null = [field_error(name, "This cannot be null: leave it out to keep it.",
                                  "required")
                      for name in ("title", "visibility", "status")
                      if name in sent and getattr(body, name) is None]
    if cannot_be_null:
        raise validation_failed(cannot_be_null)
    if sent & {"title", "why", "target_date", "visibility"}:
        if "title" in sent and goal.library_slug is not None and body.title != goal.title:
            raise validation_failed([field_error("title", "A library goal keeps its title.",
                                                 "read_only")])
        services.update_goal(
            goal, title=body.title if "title" in sent else None,
            why=("" if body.why is None else body.why) if "why" in sent else goal.why,
            target_date=body.target_date if "target_date" in sent else goal.target_date,
            visibility=Visibility(body.visibility) if body.visibility else goal.visibility)
    if body.status == "done":
        if goal.status is GoalStatus.DONE:
            raise ApiError(409, "already_done", "This goal is already done.")
        services.complete_goal(goal, actor=current_user, reflection=body.reflection or "",
                               evidence=body.evidence or [])
    elif body.status is not None:
        services.set_status(goal, status=GoalStatus(body.status), reason=body.drop_reason or "")
    elif sent & {"reflection", "evidence", "drop_reason"}:
        raise validation_failed([field_error("status", "Send status “done” with a reflection, "
                                             "or “dropped” with a drop_reason.", "missing")])
    return goal_out(goal)


# --- check-ins --------------------------------------------------------------------------------


@operation("GET", "/check-ins", summary="My check-ins", tag="check-ins",
           query=schemas.CheckInQuery, answer=schemas.CheckInList)
def list_check_ins(query: schemas.CheckInQuery):
    stmt = (select(CheckIn).join(Plan, Plan.id == CheckIn.plan_id)
            .join(Membership, _MY_PLANS[0])
            .where(*_MY_PLANS[1:], Plan.participant_id == current_user.id))
    if query.goal_id:
        stmt = stmt.where(CheckIn.goal_id == query.goal_id)
    entries, cursor = pagination.page(stmt, CheckIn.id, limit=query.limit, cursor=query.cursor)
    return schemas.CheckInList(items=[check_in_out(e) for e in entries], next_cursor=cursor)


@operation("POST", "/check-ins", summary="Check in on a goal", tag="check-ins",
           scope="read-write", body=schemas.CheckInCreate, answer=schemas.CheckIn, status=201,
           errors=(409,),
           description="Progress, minutes spent on the wider web (they count as web time for "
                       "the cap) and a note; at least one of them.")
def create_check_in(body: schemas.CheckInCreate):
    missing = validation_failed([field_error("goal_id", "That is not one of your goals.",
                                             "not_found")])
    return Reply(check_in_out(add_check_in(body, missing=missing)), 201)


def add_check_in(body: schemas.CheckInCreate, *, missing: ApiError,
                 at: datetime | None = None) -> CheckIn:
    """A check-in on one of my goals (by the API, and by a device sending what it queued
    offline, ``at`` the time it was made).

    :raise ApiError: ``missing`` for a goal that is not mine; 403 ``cohort_archived``.
    :raise DomainError: the service's rules.
    """
    goal = db.session.scalar(own_goals().where(PlanGoal.id == body.goal_id))
    if goal is None:
        raise missing
    writable_seat(goal.plan.cohort_id)
    return services.check_in(goal, actor=current_user, progress=body.progress,
                             minutes=body.minutes, note=body.note, at=at)
