"""Reading a cohort's roster: search, filter, sort and page, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from dap.accounts.models import User
from dap.accounts.services import escape_like
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Invitation,
    Membership,
    MembershipStatus,
    PatronLink,
    Team,
)
from dap.cohorts.people import latest_invitations
from dap.extensions import db

PER_PAGE = 50

SORTS = {
    "name": (func.lower(User.name), Membership.id),
    "email": (func.lower(User.email), Membership.id),
    "role": (Membership.role, func.lower(User.name)),
    "team": (func.lower(Team.name), func.lower(User.name)),
    "status": (Membership.status, func.lower(User.name)),
    "joined": (Membership.joined_at, Membership.id),
}


@dataclass
class RosterFilters:
    q: str = ""
    team_id: int | None = None
    role: CohortRole | None = None
    status: MembershipStatus | None = None
    patron_id: int | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1


@dataclass
class RosterRow:
    membership: Membership
    patrons: list[User] = field(default_factory=list)
    participants: list[User] = field(default_factory=list)  #: whom this person is patron to
    invitation: Invitation | None = None


@dataclass
class Roster:
    rows: list[RosterRow]
    total: int
    page: int
    per_page: int = PER_PAGE


def _filtered(cohort: Cohort, filters: RosterFilters) -> Select:
    stmt = (
        select(Membership)
        .join(User, Membership.user_id == User.id)
        .outerjoin(Team, Membership.team_id == Team.id)
        .where(Membership.cohort_id == cohort.id)
    )
    if filters.status is not None:
        stmt = stmt.where(Membership.status == filters.status)
    else:
        stmt = stmt.where(Membership.status != MembershipStatus.REMOVED)
    if filters.q:
        like = "%" + escape_like(filters.q.lower()) + "%"
        stmt = stmt.where(or_(func.lower(User.name).like(like, escape="\\"),
                              func.lower(User.email).like(like, escape="\\")))
    if filters.team_id is not None:
        stmt = stmt.where(Membership.team_id == filters.team_id)
    if filters.role is not None:
        stmt = stmt.where(Membership.role == filters.role)
    if filters.patron_id is not None:
        stmt = stmt.where(Membership.user_id.in_(
            select(PatronLink.participant_id).where(
                PatronLink.cohort_id == cohort.id, PatronLink.patron_id == filters.patron_id,
                PatronLink.ended_at.is_(None))
        ))
    return stmt


def roster(cohort: Cohort, filters: RosterFilters, *, per_page: int = PER_PAGE) -> Roster:
    """One page of the roster with each person's patrons, whom they are patron to, and
    their newest invitation. Four queries whatever the cohort's size."""
    stmt = _filtered(cohort, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = SORTS.get(filters.sort, SORTS["name"])
    order_by = [o.desc() for o in order] if filters.descending else list(order)
    # Teams sort with the team-less last, whichever the direction.
    if filters.sort == "team":
        order_by.insert(0, case((Team.id.is_(None), 1), else_=0))
    page = max(filters.page, 1)
    memberships = db.session.scalars(
        stmt.options(contains_eager(Membership.user), contains_eager(Membership.team))
        .order_by(*order_by).limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    user_ids = [m.user_id for m in memberships]
    patrons: dict[int, list[User]] = defaultdict(list)
    participants: dict[int, list[User]] = defaultdict(list)
    if user_ids:
        links = db.session.scalars(
            select(PatronLink)
            .where(PatronLink.cohort_id == cohort.id, PatronLink.ended_at.is_(None),
                   or_(PatronLink.participant_id.in_(user_ids),
                       PatronLink.patron_id.in_(user_ids)))
            .options(selectinload(PatronLink.patron), selectinload(PatronLink.participant))
        ).all()
        for link in links:
            patrons[link.participant_id].append(link.patron)
            participants[link.patron_id].append(link.participant)
    invitations = latest_invitations([m.id for m in memberships])
    rows = [
        RosterRow(m, sorted(patrons[m.user_id], key=lambda u: u.name),
                  sorted(participants[m.user_id], key=lambda u: u.name), invitations.get(m.id))
        for m in memberships
    ]
    return Roster(rows=rows, total=total, page=page, per_page=per_page)


EXPORT_HEADER = ["name", "email", "role", "team", "status", "patrons", "patron to",
                 "invitation", "joined"]
EXPORT_LIMIT = 20000


def export_rows(cohort: Cohort, filters: RosterFilters) -> list[list]:
    """Every roster row matching ``filters`` (not just one page), as CSV cells."""
    page = roster(cohort, RosterFilters(**{**filters.__dict__, "page": 1}),
                  per_page=EXPORT_LIMIT)
    return [
        [r.membership.user.name, r.membership.user.email or "",
         "co-facilitator" if r.membership.role is CohortRole.FACILITATOR
         else r.membership.role.value,
         r.membership.team.name if r.membership.team else "", r.membership.status.value,
         "; ".join(u.name for u in r.patrons), "; ".join(u.name for u in r.participants),
         r.invitation.status if r.invitation else "", r.membership.joined_at]
        for r in page.rows
    ]


def cohort_teams(cohort: Cohort) -> list[Team]:
    """The cohort organisation's current teams, by name."""
    return list(db.session.scalars(
        select(Team).where(Team.organisation_id == cohort.organisation_id,
                           Team.is_archived.is_(False)).order_by(Team.name)
    ))


def cohort_members(cohort: Cohort, *, role: CohortRole | None = None,
                   exclude_role: CohortRole | None = None) -> list[Membership]:
    """Current and invited members (for pickers), by name."""
    stmt = (
        select(Membership).join(User, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort.id, Membership.status != MembershipStatus.REMOVED)
        .options(contains_eager(Membership.user)).order_by(func.lower(User.name))
    )
    if role is not None:
        stmt = stmt.where(Membership.role == role)
    if exclude_role is not None:
        stmt = stmt.where(Membership.role != exclude_role)
    return list(db.session.scalars(stmt).unique())


def patrons_in(cohort: Cohort) -> list[User]:
    """Everyone who is a patron to someone in the cohort now (for the roster's filter)."""
    return list(db.session.scalars(
        select(User).where(User.id.in_(
            select(PatronLink.patron_id).where(PatronLink.cohort_id == cohort.id,
                                               PatronLink.ended_at.is_(None))
        )).order_by(func.lower(User.name))
    ))


def patron_links_of(cohort: Cohort, participant: User) -> list[PatronLink]:
    """A participant's active patron links, with the patrons loaded."""
    return list(db.session.scalars(
        select(PatronLink).where(PatronLink.cohort_id == cohort.id,
                                 PatronLink.participant_id == participant.id,
                                 PatronLink.ended_at.is_(None))
        .options(selectinload(PatronLink.patron)).order_by(PatronLink.created_at)
    ))


def pending_patron_invitations(cohort: Cohort, participant: User) -> list[Invitation]:
    """Patron invitations a participant sent that are neither accepted nor withdrawn."""
    return list(db.session.scalars(
        select(Invitation).where(Invitation.cohort_id == cohort.id,
                                 Invitation.participant_id == participant.id,
                                 Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ))
