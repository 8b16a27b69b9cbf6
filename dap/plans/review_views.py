"""Plan review through the plan pages (rules in dap.plans.review): asking for a review and
withdrawing it, comments on the plan and on goals, marking the plan reviewed, suggesting
library goals and dismissing them; and /reviews, the requests waiting for the signed-in
reviewer.

The routes share the plans blueprint and ``plan_route`` (own plan and /people/<membership>
URLs, see dap.plans.access). A refused form shows the plan (or goal) page again with the
errors and a 4xx status; what the page shows of the review comes from ``plan_review`` and
``goal_discussion``, which the plan templates call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, g, redirect, render_template
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

from dap import policy
from dap.accounts.models import User
from dap.content.library import current_library
from dap.core.forms import ConfirmForm, attempt
from dap.core.links import base_url
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.plans import review, views
from dap.plans.access import Role, Seat
from dap.plans.models import (
    GoalStatus,
    GoalSuggestion,
    PlanComment,
    PlanGoal,
    PlanReview,
    SuggestionStatus,
)
from dap.plans.views import _goal_of, _me, _seat, bp, plan_route

# --- forms ----------------------------------------------------------------------------------------


class ReviewRequestForm(FlaskForm):
    reviewer = SelectField("Who should review it", choices=[], validate_choice=False)
    message = TextAreaField(
        "Anything you would like them to look at? (optional)",
        description=f"Up to {review.MESSAGE_MAX} characters.",
        render_kw={"rows": 3, "maxlength": review.MESSAGE_MAX})


class CommentForm(FlaskForm):
    body = TextAreaField("Add a comment", description=f"Up to {review.COMMENT_MAX:,} characters.",
                         render_kw={"rows": 3, "maxlength": review.COMMENT_MAX})


class CompleteForm(FlaskForm):
    comment = TextAreaField(
        "Overall comment (optional)",
        description="What works well, and what to try next. The participant is told the plan "
                    "is reviewed.",
        render_kw={"rows": 3, "maxlength": review.COMMENT_MAX})


class SuggestForm(FlaskForm):
    slug = SelectField("Goal from the library", choices=[], validate_choice=False)
    note = TextAreaField("Why it would suit them (optional)",
                         description=f"Up to {review.NOTE_MAX} characters.",
                         render_kw={"rows": 2, "maxlength": review.NOTE_MAX})


#: the prefix of each form, so that their fields keep distinct ids on one page
PREFIXES = {"request": "review", "comment": "comment", "complete": "reviewed",
            "suggest": "suggest", "goal_comment": "goal-comment"}


def _form(kind: str, cls: type[FlaskForm], *, posted: bool = False) -> Any:
    if posted:
        return cls(prefix=PREFIXES[kind])
    shown = g.get("review_forms", {}).get(kind)
    return shown if shown is not None else cls(prefix=PREFIXES[kind], formdata=None)


def _per_user(action: str):
    """A rate limit per signed-in account for a POST that emails or posts text: a safety
    net against floods (repeating ask and withdraw, scripted comments), far above real use."""
    return lambda: f"{action}:{getattr(current_user, 'id', 'anon')}"



# --- what the pages show --------------------------------------------------------------------------


@dataclass
class ReviewPanel:
    """The review part of a plan page."""

    seat: Seat
    open: PlanReview | None
    last_done: PlanReview | None
    comments: list[PlanComment]
    suggestions: list[GoalSuggestion]
    has_goals: bool
    can_comment: bool
    can_complete: bool
    forms: dict[str, Any] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    #: library goals in the plan that the viewer can see (not dropped)
    in_plan: set[str] = field(default_factory=set)


def _may_comment(seat: Seat) -> bool:
    """Reviewers comment; the participant (or a facilitator keeping the plan) answers."""
    return not seat.cohort.is_archived and (seat.can_review or seat.can_write)


def plan_review(seat: Seat, goals: list[PlanGoal]) -> ReviewPanel:
    """Everything ``plans/_review.html`` shows, for the goals the viewer sees (a fixed number
    of queries)."""
    plan = seat.plan
    current, last_done = review.review_state(plan)
    library = current_library()
    suggestions = review.suggestions_for(plan, closed=seat.role is not Role.PATRON)
    panel = ReviewPanel(
        seat=seat, open=current, last_done=last_done,
        comments=review.comments_on(plan), suggestions=suggestions,
        has_goals=any(goal.status is not GoalStatus.DROPPED for goal in goals),
        can_comment=_may_comment(seat),
        can_complete=(current is not None and seat.can_review
                      and review.may_complete(current, seat.viewer)),
        titles={s.library_slug: library.goals[s.library_slug].title
                for s in suggestions if s.library_slug in library.goals},
        in_plan={goal.library_slug for goal in goals
                 if goal.library_slug and goal.status is not GoalStatus.DROPPED},
    )
    if seat.can_write and current is None and panel.has_goals:
        form = _form("request", ReviewRequestForm)
        form.reviewer.choices = [SelectChoice("", "Any facilitator of the cohort")] + [
            SelectChoice(str(r.user.id), f"{r.user.name} ({_role_label(seat, r.role)})")
            for r in review.reviewers_for(plan)
        ]
        panel.forms["request"] = form
    if seat.can_write and current is not None:
        panel.forms["withdraw"] = ConfirmForm()
    if panel.can_complete:
        panel.forms["complete"] = _form("complete", CompleteForm)
    if panel.can_comment:
        panel.forms["comment"] = _form("comment", CommentForm)
    if seat.can_write and any(s.status is SuggestionStatus.OPEN for s in suggestions):
        panel.forms["dismiss"] = ConfirmForm()
    if seat.can_review:
        panel.forms["suggest"] = _suggest_form(panel.in_plan, suggestions)
    return panel


def _role_label(seat: Seat, role: str) -> str:
    if role == "patron":
        return "your patron" if seat.own else "patron"
    return "facilitator"


def _suggest_form(in_plan: set[str], suggestions: list[GoalSuggestion]) -> SuggestForm:
    """The library goals a reviewer may suggest: not in the plan as far as they can see (a
    patron is not told about "only me" goals), and not suggested already."""
    form = _form("suggest", SuggestForm)
    library = current_library()
    taken = in_plan | {s.library_slug for s in suggestions if s.status is SuggestionStatus.OPEN}
    form.slug.choices = [SelectChoice("", "Choose a goal…")] + [
        SelectChoice(goal.slug, goal.title, optgroup=area.name)
        for area in library.areas.values() for goal in library.goals_in(area.slug)
        if goal.slug not in taken
    ]
    return form


@dataclass
class GoalDiscussion:
    """The comments part of a goal's page."""

    comments: list[PlanComment]
    form: CommentForm | None


def goal_discussion(seat: Seat, goal: PlanGoal) -> GoalDiscussion:
    """What ``plans/_goal_comments.html`` shows (one query)."""
    return GoalDiscussion(
        comments=review.comments_on(seat.plan, goal),
        form=_form("goal_comment", CommentForm) if _may_comment(seat) else None,
    )


@bp.context_processor
def _review_helpers() -> dict[str, Any]:
    return {"plan_review": plan_review, "goal_discussion": goal_discussion}


def _plan_page(seat: Seat, status: int = 400, **forms: FlaskForm):
    """The plan page again, showing ``forms`` with their errors."""
    g.review_forms = forms
    return views.plan(seat.cohort.id, seat.membership_id), status


def _confirmed(form: ConfirmForm) -> bool:
    """A button-only form: only its CSRF token can be wrong."""
    if form.validate_on_submit():
        return True
    flash("The form had expired. Please try again.", "error")
    return False


def _back(seat: Seat, anchor: str):
    return redirect(seat.url("plans.plan", _anchor=anchor), code=303)


# --- asking for a review --------------------------------------------------------------------------


def _chosen_reviewer(raw: str | None) -> User | None:
    """The user picked in the reviewer list; "" means any facilitator.

    :raise DomainError: for anything that is not a user id (``review.request_review`` then
        checks the user is one of the participant's patrons or the cohort's facilitators).
    """
    raw = (raw or "").strip()
    if not raw:
        return None
    user = db.session.get(User, int(raw)) if raw.isdigit() and len(raw) <= 10 else None
    if user is None:
        raise DomainError("Choose one of the patrons or facilitators in the list.",
                          field="reviewer")
    return user


@plan_route("/review", methods=["POST"])
@limiter.limit("20 per hour", key_func=_per_user("review"))
@policy.signed_in
def request_review(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.can_write)
    form = _form("request", ReviewRequestForm, posted=True)
    if form.validate_on_submit() and attempt(form, lambda: review.request_review(
            seat.plan, actor=_me(), reviewer=_chosen_reviewer(form.reviewer.data),
            message=form.message.data or "", base_url=base_url())):
        flash("Review asked for. You can keep working on your plan meanwhile.", "success")
        return _back(seat, "review")
    return _plan_page(seat, request=form)


@plan_route("/review/withdraw", methods=["POST"])
@policy.signed_in
def withdraw_review(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.can_write)
    form = ConfirmForm()
    if _confirmed(form) and attempt(form, lambda: review.withdraw_review(
            review.require_open_review(seat.plan), actor=_me())):
        flash("The review request is withdrawn.", "success")
        return _back(seat, "review")
    return _plan_page(seat)


@plan_route("/review/done", methods=["POST"])
@policy.signed_in
def complete_review(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.can_review)
    current = review.open_review(seat.plan)
    if current is not None and not review.may_complete(current, _me()):
        abort(403)
    form = _form("complete", CompleteForm, posted=True)
    if form.validate_on_submit() and attempt(form, lambda: review.complete_review(
            review.require_open_review(seat.plan), reviewer=_me(),
            comment=form.comment.data or "", base_url=base_url())):
        flash(f"{seat.participant.name}’s plan is marked as reviewed.", "success")
        return _back(seat, "review")
    return _plan_page(seat, complete=form)


# --- comments -------------------------------------------------------------------------------------


@plan_route("/comments", methods=["POST"])
@limiter.limit("120 per hour", key_func=_per_user("comment"))
@policy.signed_in
def comment(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id, allowed=_may_comment)
    form = _form("comment", CommentForm, posted=True)
    if form.validate_on_submit() and attempt(form, lambda: review.comment(
            seat.plan, author=_me(), goal=None, body=form.body.data or "")):
        flash("Comment added.", "success")
        return _back(seat, "comments")
    return _plan_page(seat, comment=form)


@plan_route("/goals/<int:goal_id>/comments", methods=["POST"])
@limiter.limit("120 per hour", key_func=_per_user("comment"))
@policy.signed_in
def goal_comment(cohort_id: int, membership_id: int | None, goal_id: int):
    seat = _seat(cohort_id, membership_id, allowed=_may_comment)
    goal = _goal_of(seat, goal_id)
    form = _form("goal_comment", CommentForm, posted=True)
    if form.validate_on_submit() and attempt(form, lambda: review.comment(
            seat.plan, author=_me(), goal=goal, body=form.body.data or "")):
        flash("Comment added.", "success")
        return redirect(seat.url("plans.goal", goal_id=goal.id, _anchor="comments"), code=303)
    g.review_forms = {"goal_comment": form}
    return views._goal_page(seat, goal, status=400)


# --- suggested goals ------------------------------------------------------------------------------


@plan_route("/suggestions", methods=["POST"])
@limiter.limit("60 per hour", key_func=_per_user("suggest"))
@policy.signed_in
def suggest_goal(cohort_id: int, membership_id: int | None):
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.can_review)
    form = _form("suggest", SuggestForm, posted=True)
    library_goal = current_library().goals.get(form.slug.data or "")
    if form.validate_on_submit():
        if library_goal is None:
            form.slug.errors = ["Choose a goal from the library."]
        elif attempt(form, lambda: review.suggest_goal(
                seat.plan, by=_me(), library_goal=library_goal, note=form.note.data or "",
                base_url=base_url())):
            flash(f"“{library_goal.title}” is suggested to {seat.participant.name}.", "success")
            return _back(seat, "suggestions")
    return _plan_page(seat, suggest=form)


@plan_route("/suggestions/<int:suggestion_id>/dismiss", methods=["POST"])
@policy.signed_in
def dismiss_suggestion(cohort_id: int, membership_id: int | None, suggestion_id: int):
    seat = _seat(cohort_id, membership_id, allowed=lambda s: s.can_write)
    suggestion = db.session.get(GoalSuggestion, suggestion_id)
    if suggestion is None or suggestion.plan_id != seat.plan.id:
        abort(404)
    form = ConfirmForm()
    if _confirmed(form) and attempt(form, lambda: review.dismiss_suggestion(
            suggestion, actor=_me())):
        flash("Suggestion dismissed.", "success")
        return _back(seat, "suggestions")
    return _plan_page(seat)


# --- the reviewer's inbox -------------------------------------------------------------------------


@bp.get("/reviews")
@policy.signed_in
def reviews():
    """Open review requests addressed to me, or to the facilitators of cohorts I manage."""
    return render_template("plans/reviews.html", items=review.review_inbox(_me()))
