"""Endorsements: a participant's patrons and the cohort's facilitators endorse a finished goal
with a short comment ("Well done — the team loved the poll"), and the participant is told.

One endorsement per person and goal (a unique constraint): endorsing again edits the comment
and tells nobody again. The author may withdraw it. Who may endorse is the plan pages' rule
(dap.plans.access: the cohort's managers, and the participant's active patrons for the goals
they see, never "only me" goals), minus the participant themselves.

Services flush and never commit (the caller owns the transaction). Refusals raise
``DomainError``: naming the field ``comment`` for the comment, or with the code ``archived``
(an archived cohort is read-only), ``not_done`` (only finished goals are endorsed) or
``not_allowed`` (someone who may not endorse the goal; the views answer 404 before this).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from dap import policy
from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.db import insert_for
from dap.errors import DomainError
from dap.extensions import db
from dap.nudges.models import NotificationKind
from dap.nudges.notify import notify
from dap.plans.access import ENDORSERS, role_of, sees_goal
from dap.plans.models import GoalEndorsement, GoalStatus, PlanGoal
from dap.text import clean_text

#: the longest comment, in characters (the column's length)
COMMENT_MAX = 280


def _check_open(cohort: Cohort) -> None:
    if cohort.is_archived:
        raise DomainError("This cohort is archived: its plans are read-only.", code="archived")


# --- who may endorse ------------------------------------------------------------------------------


def may_endorse(goal: PlanGoal, user: User) -> bool:
    """Whether ``user`` may endorse ``goal`` (whatever its status): a manager of the cohort
    (its facilitators, admins), or an active patron of the participant who sees the goal
    (never an "only me" goal) and is a member of the cohort. Never the participant. The
    views also require the participant to be an active member (``access.load_seat``)."""
    plan = goal.plan
    if not policy.can_view_cohort(user, plan.cohort):
        return False
    role = role_of(user, plan.cohort, plan.participant_id)
    return role in ENDORSERS and sees_goal(role, goal.visibility)


# --- reads ----------------------------------------------------------------------------------------


def endorsements_of(goal_ids: Iterable[int]) -> dict[int, list[GoalEndorsement]]:
    """Goal id → its endorsements, oldest first, with their authors: one query for all the
    goals of a page (none when there are no goals). Goals without endorsements are left
    out. The caller passes only goals the viewer may see."""
    ids = sorted(set(goal_ids))
    if not ids:
        return {}
    found: dict[int, list[GoalEndorsement]] = {}
    for endorsement in db.session.scalars(
        select(GoalEndorsement).options(joinedload(GoalEndorsement.author))
        .where(GoalEndorsement.goal_id.in_(ids))
        .order_by(GoalEndorsement.created_at, GoalEndorsement.id)
    ):
        found.setdefault(endorsement.goal_id, []).append(endorsement)
    return found


def endorsement_by(goal: PlanGoal, author: User) -> GoalEndorsement | None:
    """``author``'s endorsement of ``goal``, if they gave one (one query)."""
    return db.session.scalar(select(GoalEndorsement).where(
        GoalEndorsement.goal_id == goal.id, GoalEndorsement.author_id == author.id))


# --- endorsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endorsed:
    """What ``endorse`` did: the endorsement, and whether it is new (or an edit)."""

    endorsement: GoalEndorsement
    created: bool


def endorse(goal: PlanGoal, *, author: User, comment: str,
            base_url: str | None = None) -> Endorsed:
    """Endorse a finished goal with an optional short comment, or edit the comment of
    ``author``'s endorsement of it.

    The first time, the participant gets a notification (in-app, and its email copy as
    their preferences allow: ``dap.nudges.notify.notify``) and ``goal.endorsed`` is audited
    (ids only, never the comment). Its dedup key names the goal and the author, so neither
    an edit nor withdrawing and endorsing again tells the participant twice. Two requests
    at once store one endorsement (``INSERT … ON CONFLICT DO NOTHING``; the second edits).
    ``base_url`` is the address the email's link starts with (the configured one if None).

    :raise DomainError: archived cohort (code ``archived``); ``author`` may not endorse the
        goal (``not_allowed``, see ``may_endorse``); the goal is not done (``not_done``);
        a comment longer than ``COMMENT_MAX`` (field ``comment``).
    """
    plan = goal.plan
    _check_open(plan.cohort)
    if not may_endorse(goal, author):
        raise DomainError("Only the participant’s patrons and the cohort’s facilitators can "
                          "endorse their goals.", code="not_allowed")
    if goal.status is not GoalStatus.DONE:
        raise DomainError("Only a finished goal can be endorsed: this one is not marked "
                          "done.", code="not_done")
    comment = clean_text(comment, field="comment", max_len=COMMENT_MAX, label="a comment")
    now = now_utc()
    existing = endorsement_by(goal, author)
    if existing is None:
        insert = insert_for(db.session)
        new_id = db.session.execute(
            insert(GoalEndorsement)
            .values(goal_id=goal.id, author_id=author.id, comment=comment, created_at=now,
                    updated_at=now)
            .on_conflict_do_nothing(index_elements=["goal_id", "author_id"])
            .returning(GoalEndorsement.id)
        ).scalar_one_or_none()
        if new_id is not None:
            endorsement = db.session.get(GoalEndorsement, new_id)
            record("goal.endorsed", actor=author, cohort=plan.cohort,
                   subject=plan.participant, goal_id=goal.id, endorsement_id=new_id)
            _tell_participant(goal, author=author, comment=comment, base_url=base_url)
            return Endorsed(endorsement, created=True)
        # another request stored it meanwhile: this one edits it
        existing = endorsement_by(goal, author)
        if existing is None:  # ... and it was withdrawn since
            raise DomainError("Your endorsement changed meanwhile. Please try again.")
    if existing.comment != comment:
        existing.comment = comment
        existing.updated_at = now
        db.session.flush()
    return Endorsed(existing, created=False)


def _tell_participant(goal: PlanGoal, *, author: User, comment: str,
                      base_url: str | None) -> None:
    plan = goal.plan
    notify(
        plan.participant, kind=NotificationKind.ENDORSEMENT,
        title=f"{author.name} endorsed your goal: {goal.title}", body=comment,
        dedup_key=f"endorsement:{goal.id}:{author.id}",
        link=f"/cohorts/{plan.cohort_id}/plan/goals/{goal.id}#endorsements",
        sender=author, cohort=plan.cohort, base_url=base_url,
    )


def withdraw_endorsement(goal: PlanGoal, *, author: User) -> bool:
    """Withdraw (delete) ``author``'s endorsement of ``goal``, whatever the goal's status
    now; audited as ``goal.endorsement_withdrawn``. Returns False when there was none
    (withdrawing twice changes nothing). The participant's notification stays: like an
    email, it has been delivered.

    :raise DomainError: archived cohort (code ``archived``).
    """
    plan = goal.plan
    _check_open(plan.cohort)
    endorsement = endorsement_by(goal, author)
    if endorsement is None:
        return False
    endorsement_id = endorsement.id
    db.session.delete(endorsement)
    db.session.flush()
    record("goal.endorsement_withdrawn", actor=author, cohort=plan.cohort,
           subject=plan.participant, goal_id=goal.id, endorsement_id=endorsement_id)
    return True
