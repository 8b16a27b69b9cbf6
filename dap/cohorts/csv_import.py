"""Inviting many people at once from a CSV file: check every row, preview, then import
all of it in one transaction or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import func, select

from dap.accounts import services as accounts
from dap.accounts.models import User
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Membership,
    MembershipStatus,
    PatronLinkSource,
    Team,
)
from dap.cohorts.people import LinkContext, invite_member, link_patron, membership_of
from dap.errors import DomainError
from dap.extensions import db

MAX_ROWS = 1000
MAX_BYTES = 2 * 1024 * 1024

#: accepted spellings of each column, after lower-casing and turning spaces/underscores/dashes
#: into single spaces
COLUMNS = {
    "name": {"name", "full name"},
    "email": {"email", "email address", "e mail"},
    "team": {"team"},
    "role": {"role"},
    "patron email": {"patron email", "patron", "patron email address"},
}
REQUIRED = ("name", "email", "role")

ROLES = {
    "participant": CohortRole.PARTICIPANT,
    "patron": CohortRole.PATRON,
    "co-facilitator": CohortRole.FACILITATOR,
    "cofacilitator": CohortRole.FACILITATOR,
    "co facilitator": CohortRole.FACILITATOR,
    "facilitator": CohortRole.FACILITATOR,
}


@dataclass
class Row:
    """One data line of the file, as read and as checked."""

    line: int  #: line number in the file (the header is line 1)
    name: str
    email: str
    team: str
    role: str
    patron_email: str
    errors: list[str] = field(default_factory=list)
    #: filled in by the check
    clean_email: str = ""
    clean_role: CohortRole | None = None
    team_obj: Team | None = None


@dataclass
class Preview:
    rows: list[Row]
    problems: list[str]  #: file-level problems (encoding, header, size)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows) and not any(r.errors for r in self.rows)

    @property
    def error_count(self) -> int:
        return sum(1 for r in self.rows if r.errors)


def decode(data: bytes) -> str:
    """The text of an uploaded file.

    :raise DomainError: for files that are not UTF-8 (or UTF-16 with a BOM) text.
    """
    if len(data) > MAX_BYTES:
        raise DomainError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. "
                          "Split it into smaller files.", field="file")
    if data.startswith(b"PK\x03\x04"):
        raise DomainError("This looks like a spreadsheet (.xlsx), not a CSV file. In your "
                          "spreadsheet choose Save As, then 'CSV UTF-8'.", field="file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").lstrip("\ufeff")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    raise DomainError("The file is not in UTF-8. In your spreadsheet choose Save As, then "
                      "'CSV UTF-8', and upload that file.", field="file")


def _column_key(header: str) -> str | None:
    words = " ".join(header.strip().lower().replace("_", " ").replace("-", " ").split())
    return next((key for key, names in COLUMNS.items() if words in names), None)


def parse(text: str) -> Preview:
    """Read the CSV text into rows; file-level problems stop before any row is checked."""
    problems: list[str] = []
    if text.count("\n") > MAX_ROWS + 1:
        return Preview([], [f"The file has more than {MAX_ROWS:,} rows. Upload at most "
                            f"{MAX_ROWS:,} people at a time."])
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        return Preview([], ["The file is empty."])
    except csv.Error as error:
        return Preview([], [f"The file could not be read as CSV: {error}."])
    keys = [_column_key(h) for h in header]
    missing = [c for c in REQUIRED if c not in keys]
    if missing:
        return Preview([], [
            "The first line must name the columns: name, email, role, and optionally team "
            f"and patron email. Missing: {', '.join(missing)}."
        ])
    index = {key: i for i, key in enumerate(keys) if key is not None}
    rows: list[Row] = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue

            def cell(key: str, values: list[str] = values) -> str:
                i = index.get(key)
                return values[i].strip() if i is not None and i < len(values) else ""

            rows.append(Row(line=reader.line_num, name=cell("name"), email=cell("email"),
                            team=cell("team"), role=cell("role"),
                            patron_email=cell("patron email")))
    except csv.Error as error:
        problems.append(f"Line {reader.line_num} could not be read: {error}.")
    if not rows and not problems:
        problems.append("The file has a header but no people.")
    return Preview(rows, problems)


def check(preview: Preview, cohort: Cohort) -> Preview:
    """Check every row against the rules and the cohort, in a fixed number of queries."""
    if preview.problems:
        return preview
    teams = {
        t.name.casefold(): t
        for t in db.session.scalars(
            select(Team).where(Team.organisation_id == cohort.organisation_id,
                               Team.is_archived.is_(False))
        )
    }
    seen: dict[str, int] = {}
    for row in preview.rows:
        try:
            row.clean_email = accounts.normalise_email(row.email)
        except DomainError:
            row.errors.append("not a valid email address" if row.email else "email is missing")
        if not row.name:
            row.errors.append("name is missing")
        elif len(row.name) > accounts.NAME_MAX:
            row.errors.append(f"name is longer than {accounts.NAME_MAX} characters")
        row.clean_role = ROLES.get(" ".join(row.role.lower().split()))
        if row.clean_role is None:
            row.errors.append("role must be participant, patron or co-facilitator"
                              if row.role else "role is missing")
        if row.team:
            row.team_obj = teams.get(row.team.casefold())
            if row.team_obj is None:
                row.errors.append(f"unknown team “{row.team}”")
        if row.clean_email:
            if row.clean_email in seen:
                row.errors.append(f"duplicate: this email is also on line {seen[row.clean_email]}")
            else:
                seen[row.clean_email] = row.line

    emails = list(seen)
    existing = {}
    if emails:
        existing = {
            m.user.email: m
            for m in db.session.scalars(
                select(Membership).join(User, Membership.user_id == User.id)
                .where(Membership.cohort_id == cohort.id, User.email.in_(emails),
                       Membership.status != MembershipStatus.REMOVED)
            )
        }
    for row in preview.rows:
        member = existing.get(row.clean_email)
        if member is not None and seen.get(row.clean_email) == row.line:
            state = "already in this cohort" if member.is_active else "already invited"
            row.errors.append(state)

    patron_emails = set()
    for row in preview.rows:
        if not row.patron_email:
            continue
        try:
            patron = accounts.normalise_email(row.patron_email)
        except DomainError:
            row.errors.append("patron email is not a valid email address")
            continue
        if patron == row.clean_email:
            row.errors.append("someone cannot be their own patron")
        elif row.clean_role is not None and row.clean_role is not CohortRole.PARTICIPANT:
            row.errors.append("only participants have a patron")
        patron_emails.add(patron)
    members_by_email: set[str | None] = set()
    outside = [e for e in patron_emails if e not in seen]
    if outside:
        members_by_email = set(db.session.scalars(
            select(User.email).join(Membership, Membership.user_id == User.id)
            .where(Membership.cohort_id == cohort.id, User.email.in_(outside),
                   Membership.status != MembershipStatus.REMOVED)
        ))
    for row in preview.rows:
        if not row.patron_email:
            continue
        try:
            patron = accounts.normalise_email(row.patron_email)
        except DomainError:
            continue
        if patron not in seen and patron not in members_by_email:
            row.errors.append(f"unknown patron {patron}: add them to the file or the cohort first")
    return preview


def import_rows(preview: Preview, *, cohort: Cohort, actor: User, links: LinkContext) -> int:
    """Invite everyone in a checked, error-free preview and link their patrons, in the
    caller's transaction (the view commits once, or rolls everything back).

    :raise DomainError: when the preview has errors (nothing is imported).
    """
    if not preview.ok:
        raise DomainError("Fix the problems in the file before importing.")
    memberships: dict[str, Membership] = {}
    for row in preview.rows:
        assert row.clean_role is not None  # checked rows have a role
        invitation = invite_member(cohort=cohort, actor=actor, email=row.clean_email,
                                   name=row.name, role=row.clean_role, team=row.team_obj,
                                   links=links)
        assert invitation.membership is not None
        memberships[row.clean_email] = invitation.membership
    for row in preview.rows:
        if not row.patron_email:
            continue
        patron_email = accounts.normalise_email(row.patron_email)
        patron = memberships.get(patron_email) or _member_by_email(cohort, patron_email)
        link_patron(cohort=cohort, patron=patron, participant=memberships[row.clean_email],
                    actor=actor, source=PatronLinkSource.IMPORT)
    return len(preview.rows)


def _member_by_email(cohort: Cohort, email: str) -> Membership:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    membership = membership_of(cohort, user) if user else None
    if membership is None:  # checked already; a concurrent removal lands here
        raise DomainError(f"{email} is no longer in this cohort; check the file again.")
    return membership
