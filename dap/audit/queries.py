"""Reading the audit log: filtering, paging, and a readable sentence per action."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from dap.accounts.models import User
from dap.accounts.services import escape_like
from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort
from dap.core.csv import write_csv
from dap.extensions import db

PER_PAGE = 50
#: the longest filter values worth searching for (the columns' own lengths)
ACTION_MAX = 60
PERSON_MAX = 254
#: a CSV export stops here; narrow the filters for more
CSV_MAX_ROWS = 100_000

#: "what happened", per action; the actor and the person it was about have their own columns
SENTENCES: dict[str, str] = {
    "organisation.created": "Created an organisation",
    "organisation.renamed": "Renamed an organisation",
    "organisation.archived": "Archived an organisation",
    "organisation.unarchived": "Reopened an organisation",
    "team.created": "Created a team",
    "team.renamed": "Renamed a team",
    "team.archived": "Archived a team",
    "team.unarchived": "Reopened a team",
    "cohort.created": "Created the cohort",
    "cohort.updated": "Changed the cohort's settings",
    "cohort.archived": "Archived the cohort",
    "cohort.unarchived": "Reopened the cohort",
    "facilitator.added": "Added a co-facilitator",
    "facilitator.removed": "Removed a co-facilitator",
    "invitation.sent": "Invited someone to the cohort",
    "invitation.resent": "Sent an invitation again",
    "invitation.revoked": "Revoked an invitation",
    "invitation.accepted": "Accepted an invitation and joined",
    "membership.changed": "Changed someone's role or team",
    "membership.removed": "Removed someone from the cohort",
    "member.visibility_changed": "Changed whether they are shown to other members",
    "member.managed_created": "Created a supported-digital participant",
    "member.takeover_invited": "Invited a supported-digital participant to take over their account",
    "patron.linked": "Linked a patron to a participant",
    "patron.unlinked": "Ended a patron link",
    "patron.invited": "Invited their own patron",
    "record.on_behalf": "Recorded something on someone's behalf",
    "user.deleted": "Deleted an account",
    "event.scheduled": "Scheduled an event",
    "event.updated": "Changed an event",
    "event.cancelled": "Cancelled an event",
    "event.attendance": "Took the register at an event",
    "event.checked_in": "Checked in to an event",
    "event.photos_added": "Added photos to an event's recap",
    "event.photo_removed": "Removed a photo from an event's recap",
    "support.published": "Offered 1:1 slots",
    "support.booked": "Booked a 1:1 session",
    "support.cancelled": "Cancelled a 1:1 booking",
    "support.withdrawn": "Withdrew a 1:1 slot",
    "support.action_point_added": "Added an action point to a 1:1 session",
    "support.action_point_removed": "Removed an action point from a 1:1 session",
    "support.action_point_goal": "Made a 1:1 action point a goal",
    "support.action_point_shared": "Shared a 1:1 action point with patrons for them",
    "support.action_point_unshared": "Stopped sharing a 1:1 action point with patrons for them",
    "nudge.sent": "Sent a nudge",
    "goal.endorsed": "Endorsed a finished goal",
    "goal.endorsement_withdrawn": "Withdrew their endorsement of a goal",
    "api_token.created": "Made an API token",
    "api_token.revoked": "Revoked an API token",
    "webhook.created": "Added a webhook",
    "webhook.deleted": "Deleted a webhook",
    "webhook.secret_rotated": "Rotated a webhook's signing secret",
    "webhook.enabled": "Turned a webhook on",
    "webhook.disabled": "Turned a webhook off",
}


def describe(action: str) -> str:
    """A readable sentence for ``action``; unknown actions read as their words
    (``goal.adopted`` → "Goal adopted") so that a new action is never shown blank."""
    if action in SENTENCES:
        return SENTENCES[action]
    words = " ".join(action.replace(".", " ").replace("_", " ").split())
    return words[:1].upper() + words[1:] if words else "Something happened"


def detail_items(details: Any) -> list[tuple[str, str]]:
    """``details`` as (label, value) pairs for display: ``old_role`` → "old role"."""
    if not isinstance(details, dict):
        return [] if details in (None, "", [], {}) else [("details", str(details))]
    items = []
    for key in sorted(details):
        value = details[key]
        if isinstance(value, dict | list):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        elif value is None:
            text = "—"
        else:
            text = str(value).replace("_", " ") if key in {"reason", "by"} else str(value)
        items.append((str(key).replace("_", " "), text))
    return items


def person_name(user: User | None, *, system: str = "DAP") -> str:
    """How a person is named in the log: their name, or ``system`` for None (a job)."""
    return system if user is None else user.name


# --- filters --------------------------------------------------------------------------------


def _clean(value: str | None, limit: int) -> str:
    """Trimmed, lower-cased, without control characters (PostgreSQL refuses NUL), at most
    ``limit`` characters."""
    text = "".join(c for c in (value or "") if c.isprintable())
    return text.strip().lower()[:limit]


@dataclass(frozen=True)
class AuditFilters:
    """What a reader narrowed the log to. Empty strings mean "any"."""

    #: actions starting with this (``membership.`` or ``invitation.revoked``)
    action: str = ""
    #: events whose actor or subject has an email containing this
    person: str = ""

    @classmethod
    def parse(cls, action: str | None, person: str | None) -> AuditFilters:
        """Filters from raw query-string values: cleaned and cut to the columns' lengths."""
        return cls(action=_clean(action, ACTION_MAX), person=_clean(person, PERSON_MAX))

    def as_args(self) -> dict[str, str]:
        """The non-empty filters, for links that keep them (pagination, CSV)."""
        return {k: v for k, v in (("action", self.action), ("person", self.person)) if v}


def _events() -> Select:
    """Events with their cohort's name, newest first; actor and subject are loaded with
    ``selectinload`` (two more queries in all, not one per row)."""
    return (
        select(AuditEvent, Cohort.name)
        .outerjoin(Cohort, Cohort.id == AuditEvent.cohort_id)
        .options(selectinload(AuditEvent.actor), selectinload(AuditEvent.subject))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def _filtered(stmt: Select, filters: AuditFilters, cohort_id: int | None) -> Select:
    if cohort_id is not None:
        stmt = stmt.where(AuditEvent.cohort_id == cohort_id)
    if filters.action:
        stmt = stmt.where(AuditEvent.action.like(escape_like(filters.action) + "%", escape="\\"))
    if filters.person:
        pattern = "%" + escape_like(filters.person) + "%"
        people = select(User.id).where(func.lower(User.email).like(pattern, escape="\\"))
        stmt = stmt.where(or_(AuditEvent.actor_id.in_(people), AuditEvent.subject_id.in_(people)))
    return stmt


@dataclass(frozen=True)
class LogEntry:
    """One event as the log shows it."""

    at: datetime
    actor: str
    action: str
    sentence: str
    subject: str
    cohort: str
    details: list[tuple[str, str]] = field(default_factory=list)
    raw_details: dict = field(default_factory=dict)


def _entry(event: AuditEvent, cohort_name: str | None) -> LogEntry:
    return LogEntry(
        at=event.at, actor=person_name(event.actor), action=event.action,
        sentence=describe(event.action),
        subject=person_name(event.subject, system="") if event.subject_id else "",
        cohort=cohort_name or "", details=detail_items(event.details),
        raw_details=event.details if isinstance(event.details, dict) else {},
    )


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    total: int
    page: int
    pages: int
    per_page: int


def log_page(filters: AuditFilters, *, page: int, cohort_id: int | None = None,
             per_page: int = PER_PAGE) -> LogPage:
    """One page of the filtered log. ``page`` is clamped to the pages there are, so odd or
    huge page numbers show the first or last page. Four queries, whatever the page size."""
    count = _filtered(select(func.count(AuditEvent.id)), filters, cohort_id)
    total = db.session.scalar(count) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        _filtered(_events(), filters, cohort_id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return LogPage([_entry(e, name) for e, name in rows], total, page, pages, per_page)


def log_entries(filters: AuditFilters, *, cohort_id: int | None = None,
                limit: int = CSV_MAX_ROWS) -> list[LogEntry]:
    """Every event matching ``filters``, newest first, at most ``limit`` (for CSV)."""
    rows = db.session.execute(_filtered(_events(), filters, cohort_id).limit(limit)).all()
    return [_entry(e, name) for e, name in rows]


def entries_for_person(user_id: int) -> list[LogEntry]:
    """Every event where ``user_id`` is the actor or the subject, newest first (one query
    plus the two ``selectinload`` queries)."""
    stmt = _events().where(or_(AuditEvent.actor_id == user_id, AuditEvent.subject_id == user_id))
    return [_entry(e, name) for e, name in db.session.execute(stmt).all()]


CSV_HEADER: Sequence[str] = ("time_utc", "time_local", "actor", "action", "description",
                             "subject", "cohort", "details")


def log_csv(entries: Sequence[LogEntry], *, timezone: str) -> str:
    """The entries as a CSV document (formula-safe cells), times in UTC and in ``timezone``."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    rows = (
        {"time_utc": e.at.astimezone(UTC), "time_local": e.at.astimezone(zone), "actor": e.actor,
         "action": e.action, "description": e.sentence, "subject": e.subject, "cohort": e.cohort,
         "details": e.raw_details}
        for e in entries
    )
    return write_csv(rows, CSV_HEADER)
