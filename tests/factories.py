"""Plain factory functions with sequences; each flushes and returns the object."""

from __future__ import annotations

import itertools
from datetime import timedelta

from dap.accounts.models import User
from dap.accounts.services import hash_password
from dap.clock import now_utc
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Invitation,
    InvitationKind,
    Membership,
    MembershipStatus,
    Organisation,
    PatronLink,
    Team,
)
from dap.extensions import db

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
_hash_cache: dict[str, str] = {}


def _hash(password: str) -> str:
    from tests.conftest import FAST_HASH

    if password not in _hash_cache:
        _hash_cache[password] = hash_password(password, FAST_HASH)
    return _hash_cache[password]


def make_user(email: str | None = None, name: str | None = None, password: str = PASSWORD,
              **fields) -> User:
    n = next(_seq)
    user = User(email=email or f"user{n}@example.org", name=name or f"Person {n}",
                password_hash=_hash(password) if password else "", **fields)
    db.session.add(user)
    db.session.flush()
    return user


def make_organisation(name: str | None = None) -> Organisation:
    org = Organisation(name=name or f"Organisation {next(_seq)}")
    db.session.add(org)
    db.session.flush()
    return org


def make_team(org: Organisation, name: str | None = None) -> Team:
    team = Team(organisation=org, name=name or f"Team {next(_seq)}")
    db.session.add(team)
    db.session.flush()
    return team


def make_cohort(org: Organisation | None = None, **fields) -> Cohort:
    today = now_utc().date()
    cohort = Cohort(
        organisation=org or make_organisation(),
        name=fields.pop("name", f"Cohort {next(_seq)}"),
        start_date=fields.pop("start_date", today - timedelta(days=7)),
        end_date=fields.pop("end_date", today + timedelta(days=60)),
        **fields,
    )
    db.session.add(cohort)
    db.session.flush()
    return cohort


def add_member(cohort: Cohort, user: User, role: CohortRole, team: Team | None = None) -> Membership:
    membership = Membership(cohort=cohort, user=user, role=role, team=team)
    db.session.add(membership)
    db.session.flush()
    return membership


def link_patron(cohort: Cohort, patron: User, participant: User) -> PatronLink:
    link = PatronLink(cohort=cohort, patron=patron, participant=participant)
    db.session.add(link)
    db.session.flush()
    return link


def make_invitation(cohort: Cohort, user: User, role: CohortRole, invited_by: User) -> Invitation:
    """A pending invitation with its invited membership (as ``invite_member`` leaves them)."""
    membership = Membership(cohort=cohort, user=user, role=role, status=MembershipStatus.INVITED)
    db.session.add(membership)
    invitation = Invitation(kind=InvitationKind.MEMBERSHIP, cohort=cohort, membership=membership,
                            email=user.email, invited_by_id=invited_by.id, nonce="0" * 16,
                            expires_at=now_utc() + timedelta(days=14))
    db.session.add(invitation)
    db.session.flush()
    return invitation


def make_world() -> dict:
    """One of everything: admin, facilitator, patron, participant in one cohort, plus an
    outsider in no cohort and a pending invitation."""
    org = make_organisation()
    team = make_team(org, "Customer Services")
    cohort = make_cohort(org)
    admin = make_user(name="Ada Admin", is_admin=True)
    facilitator = make_user(name="Sam Facilitator", is_facilitator=True)
    patron = make_user(name="Pat Patron")
    participant = make_user(name="Alex Participant")
    outsider = make_user(name="Olly Outsider")
    add_member(cohort, facilitator, CohortRole.FACILITATOR)
    add_member(cohort, patron, CohortRole.PATRON, team)
    participant_membership = add_member(cohort, participant, CohortRole.PARTICIPANT, team)
    patron_link = link_patron(cohort, patron, participant)
    invitation = make_invitation(cohort, make_user(name="Ivy Invited"), CohortRole.PARTICIPANT,
                                 facilitator)
    from dap.baseline.services import ensure_baseline_checkpoint

    checkpoint = ensure_baseline_checkpoint(cohort)
    return {"organisation": org, "team": team, "cohort": cohort, "admin": admin,
            "checkpoint": checkpoint,
            "facilitator": facilitator, "patron": patron, "participant": participant,
            "outsider": outsider, "participant_membership": participant_membership,
            "patron_link": patron_link, "invitation": invitation}
