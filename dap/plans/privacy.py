"""Privacy rules for plans: what a person's export holds of the plans domain, and what
deleting their account erases from it.

``export_collections`` reads; ``erase_free_text`` writes with bulk UPDATEs and never
commits (``dap.accounts.privacy.delete_account`` owns the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.orm import aliased

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans.models import (
    CheckIn,
    GoalEndorsement,
    GoalSuggestion,
    Plan,
    PlanComment,
    PlanGoal,
    PlanReview,
    ReviewStatus,
    SuggestionStatus,
    Visibility,
)
from dap.plans.services import WEEKDAYS

#: what an erased own goal (one not from the library) is called after deletion
ERASED_GOAL_TITLE = "Goal"

#: the plan collections of the export, in the order of the zip; their CSV columns are in
#: ``dap.accounts.privacy.COLLECTIONS``
NAMES = ("plans", "goals", "check_ins", "plan_reviews", "plan_comments", "goal_suggestions",
         "goal_endorsements")


def _mine(user: User) -> Any:
    """The ids of ``user``'s plans, as a subquery."""
    return select(Plan.id).where(Plan.participant_id == user.id)


def _other(name: str | None, person_id: int | None, user: User) -> str | None:
    """Someone else's name; None when it was ``user`` themselves (or nobody)."""
    return None if person_id is None or person_id == user.id else name


# --- export ---------------------------------------------------------------------------------


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """Everything the plans domain holds about ``user``, one list of rows per name in
    ``NAMES``. Seven queries whatever the number of rows.

    Other people's plans appear only where ``user`` took part: reviews they were asked to
    do (or did, or asked for on someone's behalf), comments they wrote, goals they
    suggested or endorsed. There, an "only me" goal reads "a goal" (its title left out), and a
    suggestion no longer open reads "closed" (a patron is never told of "only me" goals,
    and is not shown whether a suggestion was adopted).
    """
    return {"plans": _plans(user), "goals": _goals(user), "check_ins": _check_ins(user),
            "plan_reviews": _reviews(user), "plan_comments": _comments(user),
            "goal_suggestions": _suggestions(user), "goal_endorsements": _endorsements(user)}


def _plans(user: User) -> list[dict[str, Any]]:
    paused_by = aliased(User)
    rows = db.session.execute(
        select(Plan, Cohort.name, paused_by.name)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .outerjoin(paused_by, paused_by.id == Plan.paused_by_id)
        .where(Plan.participant_id == user.id)
        .order_by(Plan.created_at, Plan.id)
    ).all()
    return [
        {"cohort": cohort, "state": plan.state.value, "days_per_week": plan.days_per_week,
         "rhythm_days": ", ".join(WEEKDAYS[d] for d in plan.rhythm_days or [] if 0 <= d <= 6),
         "rhythm_time": plan.rhythm_time, "rhythm_minutes": plan.rhythm_minutes,
         "paused_from": plan.paused_from, "paused_until": plan.paused_until,
         "pause_reason": plan.pause_reason,
         "paused_by": _other(pauser, plan.paused_by_id, user), "created_at": plan.created_at}
        for plan, cohort, pauser in rows
    ]


def _goals(user: User) -> list[dict[str, Any]]:
    added_by, done_by = aliased(User), aliased(User)
    rows = db.session.execute(
        select(PlanGoal, Cohort.name, added_by.name, done_by.name)
        .join(Plan, Plan.id == PlanGoal.plan_id)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .outerjoin(added_by, added_by.id == PlanGoal.created_by_id)
        .outerjoin(done_by, done_by.id == PlanGoal.done_by_id)
        .where(Plan.participant_id == user.id)
        .order_by(Plan.created_at, Plan.id, PlanGoal.position, PlanGoal.id)
    ).all()
    return [
        {"cohort": cohort, "title": goal.title, "library_slug": goal.library_slug,
         "why": goal.why, "target_date": goal.target_date, "visibility": goal.visibility.value,
         "status": goal.status.value, "drop_reason": goal.drop_reason,
         "progress": goal.progress, "reflection": goal.reflection,
         "evidence": [link.get("url", "") for link in goal.evidence or []
                      if isinstance(link, dict)],
         "created_at": goal.created_at, "done_at": goal.done_at,
         "added_by": _other(adder, goal.created_by_id, user),
         "done_by": _other(finisher, goal.done_by_id, user)}
        for goal, cohort, adder, finisher in rows
    ]


def _check_ins(user: User) -> list[dict[str, Any]]:
    recorder = aliased(User)
    rows = db.session.execute(
        select(CheckIn, Cohort.name, PlanGoal.title, recorder.name)
        .join(PlanGoal, PlanGoal.id == CheckIn.goal_id)
        .join(Plan, Plan.id == CheckIn.plan_id)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .outerjoin(recorder, recorder.id == CheckIn.created_by_id)
        .where(Plan.participant_id == user.id)
        .order_by(CheckIn.created_at, CheckIn.id)
    ).all()
    return [
        {"cohort": cohort, "goal": title, "local_date": entry.local_date,
         "progress": entry.progress, "minutes": entry.minutes, "note": entry.note,
         "created_at": entry.created_at, "updated_at": entry.updated_at,
         "recorded_by": _other(name, entry.created_by_id, user)}
        for entry, cohort, title, name in rows
    ]


def _reviews(user: User) -> list[dict[str, Any]]:
    participant, requester, reviewer, closer = (aliased(User) for _ in range(4))
    rows = db.session.execute(
        select(PlanReview, Cohort.name, Plan.participant_id, participant.name, requester.name,
               reviewer.name, closer.name)
        .join(Plan, Plan.id == PlanReview.plan_id)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .join(participant, participant.id == Plan.participant_id)
        .join(requester, requester.id == PlanReview.requested_by_id)
        .outerjoin(reviewer, reviewer.id == PlanReview.reviewer_id)
        .outerjoin(closer, closer.id == PlanReview.closed_by_id)
        .where(or_(Plan.participant_id == user.id, PlanReview.reviewer_id == user.id,
                   PlanReview.closed_by_id == user.id, PlanReview.requested_by_id == user.id))
        .order_by(PlanReview.created_at, PlanReview.id)
    ).all()
    out = []
    for review, cohort, participant_id, participant_name, asked_by, asked, closed_by in rows:
        if participant_id == user.id:
            role = "your plan"
        elif user.id in (review.reviewer_id, review.closed_by_id):
            role = "reviewer"
        else:
            role = "asked on their behalf"
        out.append({
            "cohort": cohort, "your_role": role, "participant": participant_name,
            "requested_by": asked_by, "reviewer": asked or "any facilitator of the cohort",
            "message": review.message, "status": review.status.value,
            "created_at": review.created_at, "closed_at": review.closed_at,
            "closed_by": closed_by, "comment": review.comment,
        })
    return out


def _comments(user: User) -> list[dict[str, Any]]:
    participant, author = aliased(User), aliased(User)
    rows = db.session.execute(
        select(PlanComment, Cohort.name, Plan.participant_id, participant.name, author.name,
               PlanGoal.title, PlanGoal.visibility)
        .join(Plan, Plan.id == PlanComment.plan_id)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .join(participant, participant.id == Plan.participant_id)
        .join(author, author.id == PlanComment.author_id)
        .outerjoin(PlanGoal, PlanGoal.id == PlanComment.goal_id)
        .where(or_(PlanComment.author_id == user.id, Plan.participant_id == user.id))
        .order_by(PlanComment.created_at, PlanComment.id)
    ).all()
    out = []
    for entry, cohort, participant_id, participant_name, author_name, title, visibility in rows:
        own_plan = participant_id == user.id
        if entry.goal_id is None:
            about = "the whole plan"
        elif own_plan or visibility is not Visibility.PRIVATE:
            about = title
        else:
            about = "a goal"
        out.append({"cohort": cohort, "plan_of": participant_name, "goal": about,
                    "author": author_name, "body": entry.body, "created_at": entry.created_at})
    return out


def _suggestions(user: User) -> list[dict[str, Any]]:
    participant, suggester = aliased(User), aliased(User)
    rows = db.session.execute(
        select(GoalSuggestion, Cohort.name, Plan.participant_id, participant.name,
               suggester.name)
        .join(Plan, Plan.id == GoalSuggestion.plan_id)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .join(participant, participant.id == Plan.participant_id)
        .join(suggester, suggester.id == GoalSuggestion.suggested_by_id)
        .where(or_(GoalSuggestion.suggested_by_id == user.id, Plan.participant_id == user.id))
        .order_by(GoalSuggestion.created_at, GoalSuggestion.id)
    ).all()
    out = []
    for suggestion, cohort, participant_id, participant_name, by in rows:
        own_plan = participant_id == user.id
        status = suggestion.status.value
        if not own_plan and suggestion.status is not SuggestionStatus.OPEN:
            status = "closed"
        out.append({"cohort": cohort, "direction": "to you" if own_plan else "by you",
                    "participant": participant_name, "suggested_by": by,
                    "library_slug": suggestion.library_slug, "note": suggestion.note,
                    "status": status, "created_at": suggestion.created_at,
                    "closed_at": suggestion.closed_at})
    return out


def _endorsements(user: User) -> list[dict[str, Any]]:
    participant, author = aliased(User), aliased(User)
    rows = db.session.execute(
        select(GoalEndorsement, Cohort.name, Plan.participant_id, participant.name,
               author.name, PlanGoal.title, PlanGoal.visibility)
        .join(PlanGoal, PlanGoal.id == GoalEndorsement.goal_id)
        .join(Plan, Plan.id == PlanGoal.plan_id)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .join(participant, participant.id == Plan.participant_id)
        .join(author, author.id == GoalEndorsement.author_id)
        .where(or_(GoalEndorsement.author_id == user.id, Plan.participant_id == user.id))
        .order_by(GoalEndorsement.created_at, GoalEndorsement.id)
    ).all()
    out = []
    for entry, cohort, participant_id, participant_name, author_name, title, visibility in rows:
        own_plan = participant_id == user.id
        out.append({"cohort": cohort, "direction": "to you" if own_plan else "by you",
                    "participant": participant_name,
                    "goal": title if own_plan or visibility is not Visibility.PRIVATE
                    else "a goal",
                    "endorsed_by": author_name, "comment": entry.comment,
                    "created_at": entry.created_at, "updated_at": entry.updated_at})
    return out


# --- deletion -------------------------------------------------------------------------------


def erase_free_text(user: User) -> None:
    """Erase the words ``user`` wrote in plans, for ``delete_account`` (same transaction;
    the caller commits). Eight bulk UPDATEs, whatever the number of rows.

    In their own plans: the pause reason; each goal's why, drop reason, reflection and
    evidence links, and the title of their own goals (→ "Goal"; library goal titles are
    the library's); every check-in note. Anywhere: the messages of review requests on their
    plans or asked by them, the overall comments of reviews they finished, their comments
    on anyone's plan, their notes on suggested goals and the comments of their endorsements
    (all → ""; an endorsement itself stays, by "Deleted user").

    Kept: counts, minutes, progress, dates, statuses, visibility and library slugs, so the
    cohort's insights stay right; what other people wrote on their plan (their comments
    and endorsements).
    """
    mine = _mine(user)
    statements = [
        update(Plan).where(Plan.participant_id == user.id).values(pause_reason=""),
        update(PlanGoal).where(PlanGoal.plan_id.in_(mine)).values(
            why="", drop_reason="", reflection="", evidence=[],
            title=case((PlanGoal.library_slug.is_(None), literal(ERASED_GOAL_TITLE)),
                       else_=PlanGoal.title)),
        update(CheckIn).where(CheckIn.plan_id.in_(mine)).values(note=""),
        update(PlanReview)
        .where(or_(PlanReview.plan_id.in_(mine), PlanReview.requested_by_id == user.id))
        .values(message=""),
        update(PlanReview)
        .where(PlanReview.closed_by_id == user.id, PlanReview.status == ReviewStatus.DONE)
        .values(comment=""),
        update(PlanComment).where(PlanComment.author_id == user.id).values(body=""),
        update(GoalSuggestion).where(GoalSuggestion.suggested_by_id == user.id).values(note=""),
        update(GoalEndorsement).where(GoalEndorsement.author_id == user.id).values(comment=""),
    ]
    for statement in statements:
        db.session.execute(statement)
