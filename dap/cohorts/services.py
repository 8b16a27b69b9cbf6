"""Setting up a programme: organisations, teams, cohorts and their facilitators, and the
queries behind the cohort pages.

Every function takes explicit arguments (``actor=`` is the person acting), flushes but
never commits, records an audit event for every change, and raises
``DomainError(field=…)`` when a rule says no. Who may call them is decided by
``dap.policy`` before they are called.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from dap.accounts.models import User
from dap.accounts.services import get_user_by_email, normalise_email, validate_timezone
from dap.audit.services import record
from dap.clock import now_utc
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Membership,
    MembershipStatus,
    Organisation,
    Team,
)
from dap.cohorts.people import remove_member
from dap.errors import DomainError
from dap.extensions import db

log = logging.getLogger(__name__)

ORGANISATION_NAME_MAX = 160
TEAM_NAME_MAX = 120
COHORT_NAME_MAX = 160
DESCRIPTION_MAX = 20_000

#: (smallest, largest) accepted value of each cohort setting
PLATFORM_MINUTES_RANGE = (0, 10_080)  #: a whole week at most
WEB_SHARE_RANGE = (0.1, 0.9)
GRACE_MINUTES_RANGE = (0, 600)
SILENT_AFTER_DAYS_RANGE = (1, 90)
SUPPORT_BOOKINGS_RANGE = (1, 10)
EMAILS_PER_DAY_RANGE = (1, 10)
EMAILS_PER_WEEK_RANGE = (1, 50)
#: cohort dates outside these are typing mistakes (year 20026, 0202…)
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)

ARCHIVED_COHORT = "This cohort is archived, so it can no longer be changed. Unarchive it first."


# --- text -------------------------------------------------------------------------------


def _has_control_characters(value: str, allowed: str = "") -> bool:
    """True when ``value`` holds control characters other than ``allowed`` (a NUL would
    also be refused by PostgreSQL with an error, not a message)."""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in value)


def clean_name(value: str | None, *, field: str, max_len: int, what: str) -> str:
    """A one-line name: whitespace collapsed, 1 to ``max_len`` characters, any script.

    :raise DomainError: naming ``field`` when it is empty, too long or holds control characters.
    """
    text = " ".join((value or "").split())
    if not text:
        raise DomainError(f"Enter a name for the {what}.", field=field)
    if len(text) > max_len:
        raise DomainError(f"Use at most {max_len} characters.", field=field)
    if _has_control_characters(text):
        raise DomainError("Remove the control characters from the name.", field=field)
    return text


def clean_description(value: str | None, *, field: str = "description") -> str:
    """Markdown text: line endings normalised, outer blank space trimmed, at most
    ``DESCRIPTION_MAX`` characters. Rendering and sanitising happen on display.

    :raise DomainError: when it is too long or holds control characters other than tab
        and newline.
    """
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > DESCRIPTION_MAX:
        raise DomainError(f"Use at most {DESCRIPTION_MAX:,} characters.", field=field)
    if _has_control_characters(text, allowed="\n\t"):
        raise DomainError("Remove the control characters from the text.", field=field)
    return text


def _same_name_exists(column: Any, name: str, *conditions: Any) -> bool:
    """Whether a row whose ``column`` equals ``name`` ignoring case exists.

    The comparison is done in Python: SQLite's ``lower()`` folds only ASCII, and so does
    PostgreSQL's under the C locale, so "ÉCOLE" and "école" would slip through in SQL.
    Filtering by length first keeps the rows fetched to a handful.
    """
    wanted = name.casefold()
    candidates = db.session.scalars(
        select(column).where(func.length(column) == len(name), *conditions)
    )
    return any(candidate.casefold() == wanted for candidate in candidates)


@contextmanager
def _unique(message: str, field: str) -> Iterator[None]:
    """Make the block's change and flush it inside a savepoint: when a concurrent request
    took the name between our check and our write, the unique constraint stops it, only
    the savepoint is rolled back, and the person gets ``message`` instead of a 500.

    :raise DomainError: naming ``field``.
    """
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError:
        raise DomainError(message, field=field) from None


# --- organisations and teams -----------------------------------------------------------------


def list_organisations(*, archived: bool = False) -> list[Organisation]:
    """Organisations (archived or not) by name, each with its teams loaded (two queries)."""
    return list(db.session.scalars(
        select(Organisation)
        .where(Organisation.is_archived.is_(archived))
        .options(selectinload(Organisation.teams))
        .order_by(func.lower(Organisation.name), Organisation.id)
    ))


def get_organisation(organisation_id: int) -> Organisation | None:
    """The organisation with this id, archived or not, or ``None``."""
    return db.session.get(Organisation, organisation_id)


def get_team(organisation: Organisation, team_id: int) -> Team | None:
    """The team with this id *in this organisation*, or ``None`` (another organisation's
    team id is treated as unknown)."""
    team = db.session.get(Team, team_id)
    if team is None or team.organisation_id != organisation.id:
        return None
    return team


def create_organisation(*, name: str, actor: User) -> Organisation:
    """Add an organisation.

    :raise DomainError: ``name`` empty, too long, or already used (ignoring case).
    """
    clean = clean_name(name, field="name", max_len=ORGANISATION_NAME_MAX, what="organisation")
    taken = "There is already an organisation with this name."
    if _same_name_exists(Organisation.name, clean):
        raise DomainError(taken, field="name")
    organisation = Organisation(name=clean)
    with _unique(taken, "name"):
        db.session.add(organisation)
    record("organisation.created", actor=actor, organisation_id=organisation.id, name=clean)
    return organisation


def rename_organisation(organisation: Organisation, *, name: str, actor: User) -> None:
    """Rename an organisation (archived ones too).

    :raise DomainError: as for ``create_organisation``.
    """
    clean = clean_name(name, field="name", max_len=ORGANISATION_NAME_MAX, what="organisation")
    if clean == organisation.name:
        return
    taken = "There is already an organisation with this name."
    if _same_name_exists(Organisation.name, clean, Organisation.id != organisation.id):
        raise DomainError(taken, field="name")
    old = organisation.name
    with _unique(taken, "name"):
        organisation.name = clean
    record("organisation.renamed", actor=actor, organisation_id=organisation.id, old=old, new=clean)


def set_organisation_archived(organisation: Organisation, *, archived: bool, actor: User) -> None:
    """Archive or unarchive an organisation. Archived organisations (and their teams) are
    kept, and their cohorts keep working, but they are left out of pickers. No change, no
    audit event."""
    if organisation.is_archived is archived:
        return
    organisation.is_archived = archived
    db.session.flush()
    record("organisation.archived" if archived else "organisation.unarchived", actor=actor,
           organisation_id=organisation.id, name=organisation.name)


def _team_name(organisation: Organisation, name: str, *, team_id: int | None = None) -> str:
    clean = clean_name(name, field="name", max_len=TEAM_NAME_MAX, what="team")
    conditions = [Team.organisation_id == organisation.id]
    if team_id is not None:
        conditions.append(Team.id != team_id)
    if _same_name_exists(Team.name, clean, *conditions):
        raise DomainError(f"{organisation.name} already has a team with this name.", field="name")
    return clean


def create_team(organisation: Organisation, *, name: str, actor: User) -> Team:
    """Add a team (any name: customer service, policy…) to an organisation.

    :raise DomainError: the organisation is archived, or ``name`` is empty, too long or
        already used in this organisation (ignoring case).
    """
    if organisation.is_archived:
        raise DomainError("This organisation is archived. Unarchive it to add teams.", field="name")
    clean = _team_name(organisation, name)
    team = Team(organisation_id=organisation.id, name=clean)
    with _unique(f"{organisation.name} already has a team with this name.", "name"):
        db.session.add(team)
    record("team.created", actor=actor, organisation_id=organisation.id, team_id=team.id, name=clean)
    return team


def rename_team(team: Team, *, name: str, actor: User) -> None:
    """Rename a team.

    :raise DomainError: as for ``create_team`` (archived organisations excepted).
    """
    clean = _team_name(team.organisation, name, team_id=team.id)
    if clean == team.name:
        return
    old = team.name
    with _unique(f"{team.organisation.name} already has a team with this name.", "name"):
        team.name = clean
    record("team.renamed", actor=actor, organisation_id=team.organisation_id, team_id=team.id,
           old=old, new=clean)


def set_team_archived(team: Team, *, archived: bool, actor: User) -> None:
    """Archive or unarchive a team: archived teams keep their members but leave pickers."""
    if team.is_archived is archived:
        return
    team.is_archived = archived
    db.session.flush()
    record("team.archived" if archived else "team.unarchived", actor=actor,
           organisation_id=team.organisation_id, team_id=team.id, name=team.name)


# --- cohorts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortSettings:
    """Everything a facilitator sets on a cohort, as entered (checked by the services).

    ``web_share`` is a fraction (0.5 = half of learning time on the wider web)."""

    name: str
    organisation_id: int | None
    start_date: date | None
    end_date: date | None
    timezone: str
    description: str = ""
    is_volunteer: bool = False
    platform_minutes_per_week: int | None = 60
    web_share: float | None = 0.5
    grace_minutes: int | None = 15
    silent_after_days: int | None = 10
    support_bookings_max: int | None = 1
    emails_per_day_max: int | None = 2
    emails_per_week_max: int | None = 8


def _in_range(value: Any, bounds: tuple[Any, Any], *, field: str, message: str) -> Any:
    if value is None or isinstance(value, bool) or not bounds[0] <= value <= bounds[1]:
        raise DomainError(message, field=field)
    return value


def _check_settings(settings: CohortSettings, *, current: Cohort | None = None) -> dict[str, Any]:
    """Check every setting; return the clean values keyed by ``Cohort`` attribute.

    :raise DomainError: naming the first field at fault.
    """
    values: dict[str, Any] = {
        "name": clean_name(settings.name, field="name", max_len=COHORT_NAME_MAX, what="cohort"),
    }
    organisation = (db.session.get(Organisation, settings.organisation_id)
                    if settings.organisation_id else None)
    # An archived organisation is offered to nobody, but a cohort may keep the one it has.
    keeps_own = (current is not None and organisation is not None
                 and organisation.id == current.organisation_id)
    if organisation is None or (organisation.is_archived and not keeps_own):
        raise DomainError("Choose an organisation from the list.", field="organisation_id")
    values["organisation"] = organisation
    values["description"] = clean_description(settings.description)
    for name in ("start_date", "end_date"):
        value = getattr(settings, name)
        if not isinstance(value, date):
            raise DomainError("Enter a date, for example 2026-03-02.", field=name)
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            raise DomainError(f"Enter a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}.",
                              field=name)
        values[name] = value
    if values["end_date"] < values["start_date"]:
        raise DomainError("The end date must be on or after the start date.", field="end_date")
    values["timezone"] = validate_timezone(settings.timezone, field="timezone")
    values["is_volunteer"] = bool(settings.is_volunteer)
    values["platform_minutes_per_week"] = _in_range(
        settings.platform_minutes_per_week, PLATFORM_MINUTES_RANGE, field="platform_minutes_per_week",
        message="Enter a whole number of minutes from 0 to 10,080 (a whole week).")
    share = settings.web_share
    if isinstance(share, int | float) and not isinstance(share, bool):
        share = round(float(share), 4)
    values["web_share"] = _in_range(
        share, WEB_SHARE_RANGE, field="web_share",
        message="Enter a share of the wider web from 10% to 90%.")
    values["grace_minutes"] = _in_range(
        settings.grace_minutes, GRACE_MINUTES_RANGE, field="grace_minutes",
        message="Enter a whole number of minutes from 0 to 600.")
    values["silent_after_days"] = _in_range(
        settings.silent_after_days, SILENT_AFTER_DAYS_RANGE, field="silent_after_days",
        message="Enter a whole number of days from 1 to 90.")
    values["support_bookings_max"] = _in_range(
        settings.support_bookings_max, SUPPORT_BOOKINGS_RANGE, field="support_bookings_max",
        message="Enter a whole number of sessions from 1 to 10.")
    values["emails_per_day_max"] = _in_range(
        settings.emails_per_day_max, EMAILS_PER_DAY_RANGE, field="emails_per_day_max",
        message="Enter a whole number of emails from 1 to 10.")
    values["emails_per_week_max"] = _in_range(
        settings.emails_per_week_max, EMAILS_PER_WEEK_RANGE, field="emails_per_week_max",
        message="Enter a whole number of emails from 1 to 50.")
    if values["emails_per_week_max"] < values["emails_per_day_max"]:
        raise DomainError("Allow at least as many emails a week as a day.",
                          field="emails_per_week_max")
    return values


def create_cohort(settings: CohortSettings, *, actor: User) -> Cohort:
    """Create a cohort; ``actor`` becomes its first facilitator (an active membership).

    :raise DomainError: naming the field at fault (see ``CohortSettings``).
    """
    values = _check_settings(settings)
    cohort = Cohort(**values)
    db.session.add(cohort)
    db.session.flush()
    _make_facilitator(cohort, actor)
    from dap.baseline.services import ensure_baseline_checkpoint  # local: baseline imports cohorts

    ensure_baseline_checkpoint(cohort)
    record("cohort.created", actor=actor, cohort=cohort, name=cohort.name,
           organisation_id=cohort.organisation_id)
    log.info("cohort %s created by %s", cohort.id, actor.id)
    return cohort


def _audit_value(value: Any) -> Any:
    if isinstance(value, Organisation):
        return value.id
    if isinstance(value, date):
        return value.isoformat()
    return value


def update_cohort(cohort: Cohort, settings: CohortSettings, *, actor: User) -> list[str]:
    """Change a cohort's settings; returns the names of the fields that changed (and
    records them, old and new, except the description's text).

    :raise DomainError: the cohort is archived, or a field is at fault.
    """
    if cohort.is_archived:
        raise DomainError(ARCHIVED_COHORT)
    values = _check_settings(settings, current=cohort)
    changes: dict[str, Any] = {}
    for name, new in values.items():
        old = getattr(cohort, name)
        if old == new:
            continue
        key = "organisation_id" if name == "organisation" else name
        changes[key] = (True if name == "description"
                        else {"old": _audit_value(old), "new": _audit_value(new)})
        setattr(cohort, name, new)
    if changes:
        db.session.flush()
        record("cohort.updated", actor=actor, cohort=cohort, fields=sorted(changes), changes=changes)
    return sorted(changes)


def set_cohort_archived(cohort: Cohort, *, archived: bool, actor: User) -> None:
    """Archive a cohort (read-only afterwards, still viewable and reportable) or bring it
    back. No change, no audit event."""
    if cohort.is_archived is archived:
        return
    cohort.is_archived = archived
    db.session.flush()
    record("cohort.archived" if archived else "cohort.unarchived", actor=actor, cohort=cohort)


def list_cohorts(*, manager: User | None, archived: bool | None, page: int = 1,
                 per_page: int = 25) -> tuple[list[Cohort], int]:
    """One page of cohorts, newest start first, and how many there are in all.

    ``manager=None`` lists every cohort (for admins); otherwise only the cohorts where
    ``manager`` is an active facilitator. ``archived``: only archived ones, only the
    others, or (None) both. Organisations come loaded (three queries).
    """
    stmt = select(Cohort)
    if archived is not None:
        stmt = stmt.where(Cohort.is_archived.is_(archived))
    if manager is not None:
        stmt = stmt.where(Cohort.id.in_(
            select(Membership.cohort_id).where(
                Membership.user_id == manager.id, Membership.role == CohortRole.FACILITATOR,
                Membership.status == MembershipStatus.ACTIVE)
        ))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    cohorts = db.session.scalars(
        stmt.options(selectinload(Cohort.organisation))
        .order_by(Cohort.start_date.desc(), Cohort.name, Cohort.id)
        .limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(cohorts), total


@dataclass
class MemberCounts:
    """How many memberships a cohort has, by role and status."""

    by_role: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def get(self, role: CohortRole, status: MembershipStatus = MembershipStatus.ACTIVE) -> int:
        return self.by_role.get(role.value, {}).get(status.value, 0)


def member_counts(cohort_ids: list[int]) -> dict[int, MemberCounts]:
    """Membership counts by role and status for each cohort, in one grouped query."""
    counts: dict[int, MemberCounts] = {cohort_id: MemberCounts() for cohort_id in cohort_ids}
    if not cohort_ids:
        return counts
    rows = db.session.execute(
        select(Membership.cohort_id, Membership.role, Membership.status, func.count())
        .where(Membership.cohort_id.in_(cohort_ids))
        .group_by(Membership.cohort_id, Membership.role, Membership.status)
    )
    for cohort_id, role, status, n in rows:
        counts[cohort_id].by_role[role.value][status.value] = n
    return counts


def facilitators_of(cohort: Cohort) -> list[Membership]:
    """The cohort's active facilitator memberships with their users, by name (two queries)."""
    return list(db.session.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.cohort_id == cohort.id, Membership.role == CohortRole.FACILITATOR,
               Membership.status == MembershipStatus.ACTIVE)
        .options(selectinload(Membership.user))
        .order_by(User.name, User.id)
    ))


def _make_facilitator(cohort: Cohort, user: User, membership: Membership | None = None) -> Membership:
    now = now_utc()
    if membership is None:
        membership = Membership(cohort=cohort, user=user)
        db.session.add(membership)
    membership.role = CohortRole.FACILITATOR
    membership.status = MembershipStatus.ACTIVE
    membership.accepted_at = now
    membership.removed_at = None
    db.session.flush()
    return membership


def add_facilitator(cohort: Cohort, *, email: str, actor: User) -> Membership:
    """Make an existing site facilitator a co-facilitator of the cohort. Someone removed
    from the cohort before gets their membership row back, now as facilitator.

    :raise DomainError: (on ``email``) the cohort is archived, the address is not a
        site facilitator's, or the person already holds a role in the cohort.
    """
    if cohort.is_archived:
        raise DomainError(ARCHIVED_COHORT, field="email")
    address = normalise_email(email, field="email")
    user = get_user_by_email(address)
    if user is None or not user.is_active or not (user.is_facilitator or user.is_admin):
        raise DomainError("No site facilitator has this email address. An administrator can "
                          "make someone a facilitator.", field="email")
    membership = db.session.scalar(
        select(Membership).where(Membership.cohort_id == cohort.id, Membership.user_id == user.id)
    )
    if membership is not None and membership.status is not MembershipStatus.REMOVED:
        if membership.role is CohortRole.FACILITATOR and membership.is_active:
            raise DomainError(f"{user.name} is already a facilitator of this cohort.", field="email")
        raise DomainError(f"{user.name} is already {membership.status.value} in this cohort as a "
                          f"{membership.role.value}. Change their role from the people page.",
                          field="email")
    membership = _make_facilitator(cohort, user, membership)
    record("facilitator.added", actor=actor, cohort=cohort, subject=user)
    return membership


def remove_facilitator(cohort: Cohort, *, user_id: int, actor: User) -> Membership | None:
    """Take a co-facilitator out of the cohort, by the same rule as removing anyone
    (``people.remove_member``: the membership is kept as ``removed``, the cohort row is
    locked first so two facilitators removing each other cannot leave it with none).

    Returns ``None`` when ``user_id`` is not an active facilitator of this cohort (the
    caller answers 404).

    :raise DomainError: the cohort is archived, or this is its last facilitator.
    """
    if cohort.is_archived:
        raise DomainError(ARCHIVED_COHORT)
    membership = db.session.scalar(
        select(Membership).where(
            Membership.cohort_id == cohort.id, Membership.user_id == user_id,
            Membership.role == CohortRole.FACILITATOR,
            Membership.status == MembershipStatus.ACTIVE)
    )
    if membership is None:
        return None
    remove_member(membership, actor=actor, action="facilitator.removed")
    return membership


# --- the member's view ----------------------------------------------------------------------


def active_memberships_of(user: User) -> list[Membership]:
    """``user``'s active memberships with their cohorts, oldest first (two queries)."""
    return list(db.session.scalars(
        select(Membership)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE)
        .options(selectinload(Membership.cohort))
        .order_by(Membership.joined_at, Membership.id)
    ))


def visible_members(cohort: Cohort) -> list[Membership]:
    """Active participants and patrons who chose to be visible to the cohort, by name,
    with users and teams loaded (three queries, whatever the cohort's size)."""
    return list(db.session.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.cohort_id == cohort.id, Membership.status == MembershipStatus.ACTIVE,
               Membership.is_visible.is_(True), Membership.role != CohortRole.FACILITATOR)
        .options(selectinload(Membership.user), selectinload(Membership.team))
        .order_by(User.name, User.id)
    ))


def set_visibility(membership: Membership, *, visible: bool) -> None:
    """Let a member show or hide themselves on the cohort page. No change, no audit event.

    :raise DomainError: the cohort is archived (read-only).
    """
    if membership.cohort.is_archived:
        raise DomainError(ARCHIVED_COHORT)
    if membership.is_visible is visible:
        return
    membership.is_visible = visible
    db.session.flush()
    record("member.visibility_changed", actor=membership.user, cohort=membership.cohort,
           subject=membership.user, visible=visible)
