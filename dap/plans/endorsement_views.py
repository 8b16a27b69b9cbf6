"""Endorsing finished goals through the plan pages (rules in dap.plans.endorsements): a
participant's patrons and the cohort's facilitators endorse a done goal with a short comment
from the goal's page, edit it, and withdraw it.

The routes share the plans blueprint and exist only at someone else's plan's address
(``/cohorts/<id>/people/<membership_id>/plan/goals/<goal_id>/endorsement``): nobody endorses
their own goal, so the participant gets 404 there, as does anyone who may not see the goal
(see dap.plans.access). A refused form shows the goal's page again with the errors: 400, or
403 when the cohort is archived. What the pages show of endorsements comes from
``plan_endorsements`` and ``goal_endorsements``, which the plan templates call.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, g, redirect
from flask_login import current_user

from dap import policy
from dap.core.forms import ConfirmForm, apply_domain_error
from dap.core.links import base_url
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.plans import endorsements, views
from dap.plans.access import ENDORSERS, Seat
from dap.plans.forms import EndorseForm
from dap.plans.models import GoalEndorsement, GoalStatus, PlanGoal
from dap.plans.views import _goal_of, _me, _seat, bp

ENDORSEMENT = ("/cohorts/<int:cohort_id>/people/<int:membership_id>/plan/goals/<int:goal_id>"
               "/endorsement")


def _per_user(action: str):
    """A rate limit per signed-in account: a safety net against scripted floods (each new
    endorsement notifies the participant), far above real use."""
    return lambda: f"{action}:{getattr(current_user, 'id', 'anon')}"


# --- what the pages show --------------------------------------------------------------------------


@dataclass
class EndorsementPanel:
    """The endorsements part of a goal's page."""

    endorsements: list[GoalEndorsement]
    #: the viewer's own endorsement, if they gave one
    mine: GoalEndorsement | None
    #: endorsing (or editing): the goal is done and the viewer may endorse it
    form: EndorseForm | None
    #: withdrawing the viewer's own endorsement (not in an archived cohort)
    withdraw: ConfirmForm | None


def goal_endorsements(seat: Seat, goal: PlanGoal) -> EndorsementPanel:
    """What ``plans/_endorsements.html`` shows on a goal's page (one query)."""
    found = endorsements.endorsements_of([goal.id]).get(goal.id, [])
    mine = next((e for e in found if e.author_id == seat.viewer.id), None)
    form = None
    if seat.can_endorse and goal.status is GoalStatus.DONE:
        form = g.get("endorse_form") or EndorseForm(
            prefix="endorse", formdata=None, comment=mine.comment if mine else "")
    withdraw = ConfirmForm() if mine is not None and not seat.cohort.is_archived else None
    return EndorsementPanel(endorsements=found, mine=mine, form=form, withdraw=withdraw)


def plan_endorsements(goals: list[PlanGoal]) -> dict[int, list[GoalEndorsement]]:
    """Goal id → its endorsements with their authors, for the goals a plan page shows (which
    the viewer may see): one query, whatever the number of goals."""
    return endorsements.endorsements_of(goal.id for goal in goals)


@bp.context_processor
def _endorsement_helpers() -> dict:
    return {"goal_endorsements": goal_endorsements, "plan_endorsements": plan_endorsements}


# --- endorsing and withdrawing --------------------------------------------------------------------


def _endorsable(cohort_id: int, membership_id: int, goal_id: int) -> tuple[Seat, PlanGoal]:
    """Someone else's plan and a goal of it the viewer sees, for a patron or facilitator.

    :raise 404: the plan or goal is out of the viewer's scope (an "only me" goal for a
        patron, another plan's goal), or the viewer is the participant: nobody endorses
        their own goal.
    """
    seat = _seat(cohort_id, membership_id)
    if seat.role not in ENDORSERS:
        abort(404)
    return seat, _goal_of(seat, goal_id)


def _back(seat: Seat, goal: PlanGoal):
    return redirect(seat.url("plans.goal", goal_id=goal.id, _anchor="endorsements"), code=303)


@bp.post(ENDORSEMENT)
@limiter.limit("60 per hour", key_func=_per_user("endorse"))
@policy.signed_in
def endorse(cohort_id: int, membership_id: int, goal_id: int):
    seat, goal = _endorsable(cohort_id, membership_id, goal_id)
    form = EndorseForm(prefix="endorse")
    status = 400
    if form.validate_on_submit():
        try:
            outcome = endorsements.endorse(goal, author=_me(), comment=form.comment.data or "",
                                           base_url=base_url())
        except DomainError as error:
            db.session.rollback()
            if error.code == "not_allowed":
                abort(404)
            apply_domain_error(form, error)
            status = 403 if error.code == "archived" else 400
        else:
            db.session.commit()
            flash(f"You endorsed “{goal.title}”." if outcome.created
                  else "Your endorsement is saved.", "success")
            return _back(seat, goal)
    g.endorse_form = form
    return views._goal_page(seat, goal, status=status)


@bp.post(ENDORSEMENT + "/withdraw")
@policy.signed_in
def withdraw_endorsement(cohort_id: int, membership_id: int, goal_id: int):
    seat, goal = _endorsable(cohort_id, membership_id, goal_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form had expired. Please try again.", "error")
        return views._goal_page(seat, goal, status=400)
    try:
        withdrawn = endorsements.withdraw_endorsement(goal, author=_me())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return views._goal_page(seat, goal, status=403 if error.code == "archived" else 400)
    db.session.commit()
    flash("Your endorsement is withdrawn." if withdrawn
          else "There was no endorsement of yours to withdraw.", "success")
    return _back(seat, goal)
