"""Plan review rules: a participant asks a patron or facilitator to review their plan
(draft → in review → active), reviewers comment on the plan and its goals and suggest
library goals, and the participant answers, adopts or dismisses.

Services flush and never commit (the caller owns the transaction); refusals raise
``DomainError`` naming the form field at fault. Emails go through the outbox with stable
dedup keys, so repeating a request never sends twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, or_, select, true
from sqlalchemy.orm import joinedload, selectinload

from dap import policy
from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, PatronLink
from dap.content.library import Goal as LibraryGoal
from dap.errors import DomainError
from dap.extensions import db
from dap.nudges.models import NotificationKind
from dap.nudges.notify import Message, send
from dap.plans.models import (
    GoalStatus,
    GoalSuggestion,
    Plan,
    PlanComment,
    PlanGoal,
    PlanReview,
    PlanState,
    ReviewStatus,
    SuggestionStatus,
    Visibility,
)
from dap.plans.services import audit_on_behalf
from dap.text import clean_text

MESSAGE_MAX = 500
COMMENT_MAX = 2000
NOTE_MAX = 500



def _check_open(cohort: Cohort) -> None:
    if cohort.is_archived:
        raise DomainError("This cohort is archived: its plans are read-only.")


# --- who reviews ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewer:
    """Someone a participant may ask by name: ``role`` is "patron" or "facilitator"."""

    user: User
    role: str


def reviewers_for(plan: Plan) -> list[Reviewer]:
    """The people a participant may ask to review their plan: their active patrons in the
    cohort, then the cohort's active facilitators, each by name (one query). Deactivated
    and deleted accounts are left out."""
    is_patron = exists().where(
        PatronLink.patron_id == User.id, PatronLink.cohort_id == plan.cohort_id,
        PatronLink.participant_id == plan.participant_id, PatronLink.ended_at.is_(None))
    is_facilitator = exists().where(
        Membership.user_id == User.id, Membership.cohort_id == plan.cohort_id,
        Membership.role == CohortRole.FACILITATOR, Membership.status == MembershipStatus.ACTIVE)
    patron_first = case((is_patron, 0), else_=1)
    rows = db.session.execute(
        select(User, patron_first)
        .where(or_(is_patron, is_facilitator), User.is_active.is_(True),
               User.deleted_at.is_(None), User.id != plan.participant_id)
        .order_by(patron_first, User.name, User.id)
    ).all()
    return [Reviewer(user, "patron" if rank == 0 else "facilitator") for user, rank in rows]


def _facilitators(cohort_id: int) -> list[User]:
    """The cohort's active facilitators (one query)."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, Membership.role == CohortRole.FACILITATOR,
               Membership.status == MembershipStatus.ACTIVE)
        .order_by(User.name, User.id)
    ))


def may_complete(review: PlanReview, user: User) -> bool:
    """The named reviewer, or any manager of the cohort (its facilitators, admins), may mark
    a review done."""
    if review.reviewer_id is not None and review.reviewer_id == user.id:
        return True
    return policy.can_manage_cohort(user, review.plan.cohort)


# --- reads ----------------------------------------------------------------------------------------


def open_review(plan: Plan) -> PlanReview | None:
    """The plan's open review request, if any (one query)."""
    return db.session.scalar(
        select(PlanReview).options(joinedload(PlanReview.reviewer))
        .where(PlanReview.plan_id == plan.id, PlanReview.status == ReviewStatus.OPEN)
    )


def last_done_review(plan: Plan) -> PlanReview | None:
    """The latest finished review, with who finished it (one query)."""
    return db.session.scalar(
        select(PlanReview).options(joinedload(PlanReview.closed_by))
        .where(PlanReview.plan_id == plan.id, PlanReview.status == ReviewStatus.DONE)
        .order_by(PlanReview.closed_at.desc(), PlanReview.id.desc()).limit(1)
    )


def review_state(plan: Plan) -> tuple[PlanReview | None, PlanReview | None]:
    """(the open request, the latest finished review) with their people, in one query: the
    open one sorts first, then finished ones newest first."""
    rows = db.session.scalars(
        select(PlanReview)
        .options(joinedload(PlanReview.reviewer), joinedload(PlanReview.closed_by))
        .where(PlanReview.plan_id == plan.id,
               PlanReview.status.in_([ReviewStatus.OPEN, ReviewStatus.DONE]))
        .order_by(case((PlanReview.status == ReviewStatus.OPEN, 0), else_=1),
                  PlanReview.closed_at.desc(), PlanReview.id.desc())
        .limit(2)
    ).all()
    current = next((r for r in rows if r.status is ReviewStatus.OPEN), None)
    done = next((r for r in rows if r.status is ReviewStatus.DONE), None)
    return current, done


def comments_on(plan: Plan, goal: PlanGoal | None = None) -> list[PlanComment]:
    """The comments on the whole plan (``goal`` None) or on one goal, oldest first, with
    their authors (one query)."""
    about = PlanComment.goal_id.is_(None) if goal is None else PlanComment.goal_id == goal.id
    return list(db.session.scalars(
        select(PlanComment).options(joinedload(PlanComment.author))
        .where(PlanComment.plan_id == plan.id, about)
        .order_by(PlanComment.created_at, PlanComment.id)
    ))


def suggestions_for(plan: Plan, *, closed: bool = False) -> list[GoalSuggestion]:
    """The plan's open suggestions (and, with ``closed``, the adopted and dismissed ones
    after them), newest first, with who suggested them (one query)."""
    stmt = select(GoalSuggestion).options(joinedload(GoalSuggestion.suggested_by)).where(
        GoalSuggestion.plan_id == plan.id)
    if not closed:
        stmt = stmt.where(GoalSuggestion.status == SuggestionStatus.OPEN)
    stmt = stmt.order_by((GoalSuggestion.status == SuggestionStatus.OPEN).desc(),
                         GoalSuggestion.created_at.desc(), GoalSuggestion.id.desc())
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class InboxItem:
    review: PlanReview
    #: the participant's membership, for the plan's URL
    membership_id: int


def review_inbox(user: User) -> list[InboxItem]:
    """Open review requests ``user`` should answer, oldest first: those addressed to them
    (while they are still the participant's patron or manage the cohort) and those
    addressed to any facilitator of a cohort they manage. Archived cohorts and participants
    no longer in the cohort are left out. One query for the list, one for the people."""
    managed_cohorts = (true() if policy.is_admin(user) else Plan.cohort_id.in_(
        select(Membership.cohort_id).where(
            Membership.user_id == user.id, Membership.role == CohortRole.FACILITATOR,
            Membership.status == MembershipStatus.ACTIVE)))
    still_patron = exists().where(
        PatronLink.patron_id == user.id, PatronLink.participant_id == Plan.participant_id,
        PatronLink.cohort_id == Plan.cohort_id, PatronLink.ended_at.is_(None))
    rows = db.session.execute(
        select(PlanReview, Membership.id)
        .join(Plan, Plan.id == PlanReview.plan_id)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .join(Membership, and_(Membership.cohort_id == Plan.cohort_id,
                               Membership.user_id == Plan.participant_id,
                               Membership.role == CohortRole.PARTICIPANT,
                               Membership.status == MembershipStatus.ACTIVE))
        .options(selectinload(PlanReview.plan).selectinload(Plan.participant),
                 selectinload(PlanReview.plan).selectinload(Plan.cohort),
                 selectinload(PlanReview.requested_by))
        .where(PlanReview.status == ReviewStatus.OPEN, Cohort.is_archived.is_(False),
               or_(and_(PlanReview.reviewer_id == user.id, or_(still_patron, managed_cohorts)),
                   and_(PlanReview.reviewer_id.is_(None), managed_cohorts)))
        .order_by(PlanReview.created_at, PlanReview.id)
    ).all()
    return [InboxItem(review=row[0], membership_id=row[1]) for row in rows]


# --- asking for a review --------------------------------------------------------------------------


def request_review(plan: Plan, *, actor: User, reviewer: User | None, message: str,
                   base_url: str) -> PlanReview:
    """Ask ``reviewer`` (one of ``reviewers_for(plan)``; None for any facilitator of the
    cohort) to review the plan: the plan goes "in review" and the reviewer (or every
    facilitator) is emailed. ``actor`` is the participant, or a facilitator asking for a
    managed participant (audited).

    :raise DomainError: archived cohort, a plan without goals, a review already open, a
        reviewer who is not one of the participant's patrons or the cohort's facilitators
        (``reviewer``), a message too long (``message``).
    """
    _check_open(plan.cohort)
    message = clean_text(message, field="message", max_len=MESSAGE_MAX, label="a message")
    if reviewer is not None and reviewer.id not in {r.user.id for r in reviewers_for(plan)}:
        raise DomainError("Choose one of the patrons or facilitators in the list.",
                          field="reviewer")
    has_goals = db.session.scalar(
        select(PlanGoal.id).where(PlanGoal.plan_id == plan.id,
                                  PlanGoal.status != GoalStatus.DROPPED).limit(1))
    if has_goals is None:
        raise DomainError("Add at least one goal before asking for a review.")
    if open_review(plan) is not None:
        raise DomainError("A review is already under way. Withdraw it first to ask someone "
                          "else.")
    review = PlanReview(plan=plan, requested_by_id=actor.id,
                        reviewer_id=reviewer.id if reviewer else None, message=message,
                        status=ReviewStatus.OPEN)
    db.session.add(review)
    plan.state = PlanState.IN_REVIEW
    db.session.flush()
    audit_on_behalf("plan.review_requested", plan, actor, review_id=review.id,
                     reviewer_id=review.reviewer_id)
    recipients = [reviewer] if reviewer is not None else _facilitators(plan.cohort_id)
    send([Message(
        person=person, kind=NotificationKind.REVIEW_REQUESTED,
        title=f"{plan.participant.name} asks you to review their plan",
        body=review.message or "They would welcome your comments on their goals.",
        link=f"{_people_path(plan)}#review", sender=actor, cohort=plan.cohort,
        dedup_key=f"plan-review:{review.id}:requested:{person.id}",
        email_template="review_requested",
        email_context={"participant": plan.participant, "review": review,
                       "named": reviewer is not None,
                       "on_behalf": actor.id != plan.participant_id, "actor": actor})
        for person in recipients if _mailable(person) and person.id != actor.id],
        base_url=base_url)
    return review


def require_open_review(plan: Plan) -> PlanReview:
    """The plan's open review request.

    :raise DomainError: when none is open (never asked, withdrawn or already done).
    """
    review = open_review(plan)
    if review is None:
        raise DomainError("There is no review under way: none was asked for, or it was "
                          "withdrawn or already done.")
    return review


def withdraw_review(review: PlanReview, *, actor: User) -> None:
    """Take back an open review request (the participant, or a facilitator for a managed
    participant: audited). The plan goes back to draft if it was never reviewed, otherwise
    back to active.

    :raise DomainError: archived cohort, or the request no longer open.
    """
    plan = review.plan
    _check_open(plan.cohort)
    if review.status is not ReviewStatus.OPEN:
        raise DomainError("This review request is no longer open.")
    review.status = ReviewStatus.WITHDRAWN
    review.closed_at = now_utc()
    review.closed_by_id = actor.id
    db.session.flush()
    plan.state = PlanState.ACTIVE if last_done_review(plan) is not None else PlanState.DRAFT
    audit_on_behalf("plan.review_withdrawn", plan, actor, review_id=review.id)
    db.session.flush()


def complete_review(review: PlanReview, *, reviewer: User, comment: str,
                    base_url: str) -> None:
    """Mark an open review done, with an optional overall comment: the plan becomes active
    and the participant is emailed (when they have an address).

    :raise DomainError: archived cohort, the request no longer open, a reviewer who may not
        finish it (see ``may_complete``), a comment too long (``comment``).
    """
    plan = review.plan
    _check_open(plan.cohort)
    if review.status is not ReviewStatus.OPEN:
        raise DomainError("This review request is no longer open.")
    if not may_complete(review, reviewer):
        raise DomainError("Only the person asked, or a facilitator of the cohort, can mark "
                          "this review done.")
    review.comment = clean_text(comment, field="comment", max_len=COMMENT_MAX,
                            label="an overall comment")
    review.status = ReviewStatus.DONE
    review.closed_at = now_utc()
    review.closed_by_id = reviewer.id
    plan.state = PlanState.ACTIVE
    db.session.flush()
    participant = plan.participant
    if _mailable(participant):
        send([Message(
            person=participant, kind=NotificationKind.REVIEW_DONE,
            title=f"{reviewer.name} has reviewed your plan", body=review.comment,
            link=f"{_own_path(plan)}#review", sender=reviewer, cohort=plan.cohort,
            dedup_key=f"plan-review:{review.id}:done", email_template="review_done",
            email_context={"participant": participant, "reviewer": reviewer,
                           "review": review})], base_url=base_url)


# --- comments -------------------------------------------------------------------------------------


def comment(plan: Plan, *, author: User, goal: PlanGoal | None, body: str) -> PlanComment:
    """Add a plain-text comment on the plan, or on one of its goals.

    :raise DomainError: archived cohort, an empty or too long comment (``body``), a goal of
        another plan.
    """
    _check_open(plan.cohort)
    if goal is not None and goal.plan_id != plan.id:
        raise DomainError("That goal is not in this plan.")
    entry = PlanComment(plan=plan, goal=goal, author_id=author.id,
                        body=clean_text(body, field="body", max_len=COMMENT_MAX, label="a comment",
                                    required=True))
    db.session.add(entry)
    db.session.flush()
    return entry


# --- suggested goals ------------------------------------------------------------------------------


def suggest_goal(plan: Plan, *, by: User, library_goal: LibraryGoal, note: str,
                 base_url: str) -> GoalSuggestion:
    """Suggest a library goal for the plan, with an optional note; the participant is
    emailed (when they have an address).

    :raise DomainError: archived cohort; the goal already in the plan (and not dropped) or
        already suggested and still open (``slug``); a note too long (``note``).
    """
    _check_open(plan.cohort)
    note = clean_text(note, field="note", max_len=NOTE_MAX, label="a note")
    in_plan = select(PlanGoal.id).where(PlanGoal.plan_id == plan.id,
                                        PlanGoal.library_slug == library_goal.slug,
                                        PlanGoal.status != GoalStatus.DROPPED)
    if not policy.can_manage_cohort(by, plan.cohort):
        # a patron must not learn of an "only me" goal by being refused: the suggestion is
        # stored, and the participant sees it is already in their plan
        in_plan = in_plan.where(PlanGoal.visibility != Visibility.PRIVATE)
    if db.session.scalar(in_plan) is not None:
        raise DomainError("This goal is already in the plan.", field="slug")
    pending = db.session.scalar(
        select(GoalSuggestion.id).where(GoalSuggestion.plan_id == plan.id,
                                        GoalSuggestion.library_slug == library_goal.slug,
                                        GoalSuggestion.status == SuggestionStatus.OPEN))
    if pending is not None:
        raise DomainError("This goal has already been suggested.", field="slug")
    suggestion = GoalSuggestion(plan=plan, library_slug=library_goal.slug,
                                suggested_by_id=by.id, note=note)
    db.session.add(suggestion)
    db.session.flush()
    participant = plan.participant
    if _mailable(participant):
        send([Message(
            person=participant, kind=NotificationKind.GOAL_SUGGESTED,
            title=f"{by.name} suggests a goal for your plan: {library_goal.title}",
            body=note, link=f"{_own_path(plan)}#suggestions", sender=by, cohort=plan.cohort,
            dedup_key=f"goal-suggestion:{suggestion.id}", email_template="goal_suggested",
            email_context={"participant": participant, "by": by, "goal": library_goal,
                           "suggestion": suggestion,
                           "goal_link": f"{base_url}/library/{library_goal.slug}"})],
            base_url=base_url)
    return suggestion


def dismiss_suggestion(suggestion: GoalSuggestion, *, actor: User) -> None:
    """Say no thanks to an open suggestion (the participant, or a facilitator for a managed
    participant: audited).

    :raise DomainError: archived cohort, or the suggestion already adopted or dismissed.
    """
    _check_open(suggestion.plan.cohort)
    if suggestion.status is not SuggestionStatus.OPEN:
        raise DomainError("This suggestion was already "
                          f"{suggestion.status.value}.")
    suggestion.status = SuggestionStatus.DISMISSED
    suggestion.closed_at = now_utc()
    suggestion.closed_by_id = actor.id
    audit_on_behalf("plan.suggestion_dismissed", suggestion.plan, actor,
                     suggestion_id=suggestion.id, slug=suggestion.library_slug)
    db.session.flush()


# --- emails ---------------------------------------------------------------------------------------


def _mailable(user: User | None) -> bool:
    """People with an address who can still use it: managed participants have none,
    deleted accounts lose theirs, deactivated ones cannot sign in to answer."""
    return user is not None and bool(user.email) and user.is_active and user.deleted_at is None


def _membership_id(plan: Plan) -> int | None:
    return db.session.scalar(
        select(Membership.id).where(Membership.cohort_id == plan.cohort_id,
                                    Membership.user_id == plan.participant_id))


def _own_path(plan: Plan) -> str:
    """The participant's own address for the plan (``plans.plan`` without a membership)."""
    return f"/cohorts/{plan.cohort_id}/plan"


def _people_path(plan: Plan) -> str:
    """The address a reviewer opens the plan at (``plans.plan`` with the membership)."""
    return f"/cohorts/{plan.cohort_id}/people/{_membership_id(plan)}/plan"
