"""Whose plan a page is about, and what the person looking at it may do.

A plan page is reached two ways: ``/cohorts/<id>/plan/…`` is the signed-in participant's
own plan; ``/cohorts/<id>/people/<membership_id>/plan/…`` is someone else's, for the
cohort's facilitators (who act on behalf of managed participants, pause anyone's plan and
review it) and for the participant's patrons (who read the goals shared with them and
review). Everyone else gets 404, as if the plan did not exist.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from flask import abort, url_for

from dap import policy
from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.plans.models import Plan, PlanGoal, Visibility


class Role(enum.StrEnum):
    SELF = "self"  #: the participant
    MANAGER = "manager"  #: a facilitator of the cohort, or an admin
    PATRON = "patron"  #: one of the participant's patrons


#: who endorses a participant's finished goals: never the participant themselves
ENDORSERS = frozenset({Role.MANAGER, Role.PATRON})


def sees_goal(role: Role, visibility: Visibility) -> bool:
    """The goal visibility rule: "only me" goals are hidden from patrons (facilitators run
    the programme and see every goal). Pages that count goals without a seat (the patron
    home) apply it too."""
    return role is not Role.PATRON or visibility is not Visibility.PRIVATE


@dataclass(frozen=True)
class Seat:
    """A viewer in front of a participant's plan."""

    cohort: Cohort
    membership: Membership
    participant: User
    plan: Plan
    viewer: User
    role: Role

    @property
    def own(self) -> bool:
        return self.role is Role.SELF

    @property
    def membership_id(self) -> int | None:
        """The URL parameter: None for one's own plan (the short URLs)."""
        return None if self.own else self.membership.id

    @property
    def can_write(self) -> bool:
        """Add, change and check in on goals: the participant, or a facilitator on behalf
        of a managed participant (someone without their own access). Archived cohorts are
        read-only."""
        if self.cohort.is_archived:
            return False
        return self.own or (self.role is Role.MANAGER and self.participant.is_managed)

    @property
    def can_pause(self) -> bool:
        """A participant pauses their own plan; a facilitator may pause anyone's."""
        return not self.cohort.is_archived and self.role in (Role.SELF, Role.MANAGER)

    @property
    def can_review(self) -> bool:
        """Comment on the plan, suggest goals, mark it reviewed: patrons and facilitators."""
        return not self.cohort.is_archived and self.role in (Role.MANAGER, Role.PATRON)

    @property
    def can_endorse(self) -> bool:
        """Endorse finished goals: patrons and facilitators, never the participant.
        Archived cohorts are read-only."""
        return not self.cohort.is_archived and self.role in ENDORSERS

    @property
    def on_behalf(self) -> bool:
        """Whether what the viewer records is made for someone else."""
        return self.can_write and not self.own

    def sees(self, goal: PlanGoal) -> bool:
        """"Only me" goals are hidden from patrons (facilitators run the programme and see
        every goal)."""
        return sees_goal(self.role, goal.visibility)

    def url(self, endpoint: str, **values: Any) -> str:
        """``url_for`` for a plan page of this same plan."""
        return url_for(endpoint, cohort_id=self.cohort.id, membership_id=self.membership_id,
                       **values)

    @property
    def title(self) -> str:
        return "My plan" if self.own else f"{self.participant.name}’s plan"


def role_of(viewer: Any, cohort: Cohort, participant_id: int) -> Role | None:
    """How ``viewer`` stands to a participant's plan in ``cohort``: the participant
    themselves, a manager of the cohort, one of their active patrons, or None (no access).
    The caller has checked that the viewer may see the cohort at all."""
    if viewer.id == participant_id:
        return Role.SELF
    if policy.can_manage_cohort(viewer, cohort):
        return Role.MANAGER
    if policy.is_patron_of(viewer, participant_id, cohort.id):
        return Role.PATRON
    return None


def load_seat(viewer: Any, cohort_id: int, membership_id: int | None) -> Seat:
    """The seat for a plan URL.

    :raise 404: when the viewer may not see that plan, or the membership is not an active
        participant of the cohort.
    """
    from dap.plans.services import plan_for

    cohort = policy.load_cohort(viewer, cohort_id)
    if membership_id is None:
        membership = policy.require_participant(viewer, cohort)
        role = Role.SELF
    else:
        membership = policy.load_membership(cohort, membership_id)
        if (membership.role is not CohortRole.PARTICIPANT
                or membership.status is not MembershipStatus.ACTIVE):
            abort(404)
        role = role_of(viewer, cohort, membership.user_id)
        if role is None:
            abort(404)
    participant = membership.user
    return Seat(cohort=cohort, membership=membership, participant=participant,
                plan=plan_for(cohort, participant), viewer=viewer, role=role)


def require(allowed: bool) -> None:
    """Refuse (403) an action the viewer may not take on a plan they can see."""
    if not allowed:
        abort(403)
