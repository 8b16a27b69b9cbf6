"""Privacy rules: everything DAP holds about a person, as a zip; deleting an account."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, inspect, or_, select, update
from sqlalchemy.orm import aliased, selectinload

from dap.accounts.models import ApiToken, User, UserSession
from dap.accounts.services import HashParams, check_password, end_other_sessions
from dap.audit.queries import entries_for_person
from dap.audit.services import record
from dap.baseline import privacy as baseline_privacy
from dap.clock import now_utc
from dap.cohorts.models import (
    Cohort,
    Invitation,
    InvitationKind,
    Membership,
    MembershipStatus,
    Organisation,
    PatronLink,
    Team,
)
from dap.community import privacy as community_privacy
from dap.core.csv import write_csv
from dap.errors import DomainError
from dap.events import privacy as event_privacy
from dap.extensions import db
from dap.nudges import privacy as nudge_privacy
from dap.nudges.models import OutboxMessage, OutboxStatus
from dap.plans import privacy as plan_privacy
from dap.support import privacy as support_privacy
from dap.timecap import privacy as timecap_privacy

log = logging.getLogger(__name__)

DELETED_NAME = "Deleted user"
LAST_ADMIN = ("This is the only administrator account. Make someone else an administrator "
              "before deleting it, so that somebody can still run DAP.")

#: user columns never exported: secrets, not information about the person. Every other
#: column is exported, so a new column of personal data is included without anyone
#: remembering to add it; a new secret must be added here.
PRIVATE_USER_COLUMNS = frozenset({"password_hash"})

#: each collection of the export: its CSV file's columns, in order
COLLECTIONS: dict[str, Sequence[str]] = {
    "memberships": ("cohort", "organisation", "role", "status", "team", "visible_to_members",
                    "joined_at", "accepted_at", "removed_at"),
    "patron_links": ("cohort", "your_role", "other_person", "source", "started_at", "ended_at"),
    "sessions": ("created_at", "user_agent"),
    "api_tokens": ("name", "starts_with", "scope", "created_at", "expires_at", "last_used_at",
                   "revoked_at"),
    "invitations": ("cohort", "kind", "direction", "email", "invited_by", "status",
                    "created_at", "expires_at", "accepted_at", "revoked_at"),
    "audit_events": ("at", "action", "description", "actor", "subject", "cohort", "details"),
    "emails": ("created_at", "sent_at", "subject", "kind", "status"),
    # the plans domain: rows from dap.plans.privacy.export_collections
    "plans": ("cohort", "state", "days_per_week", "rhythm_days", "rhythm_time", "rhythm_minutes",
              "paused_from", "paused_until", "pause_reason", "paused_by", "created_at"),
    "goals": ("cohort", "title", "library_slug", "why", "target_date", "visibility", "status",
              "drop_reason", "progress", "reflection", "evidence", "created_at", "done_at",
              "added_by", "done_by"),
    "check_ins": ("cohort", "goal", "local_date", "progress", "minutes", "note", "created_at",
                  "updated_at", "recorded_by"),
    "plan_reviews": ("cohort", "your_role", "participant", "requested_by", "reviewer", "message",
                     "status", "created_at", "closed_at", "closed_by", "comment"),
    "plan_comments": ("cohort", "plan_of", "goal", "author", "body", "created_at"),
    "goal_suggestions": ("cohort", "direction", "participant", "suggested_by", "library_slug",
                         "note", "status", "created_at", "closed_at"),
    "goal_endorsements": ("cohort", "direction", "participant", "goal", "endorsed_by", "comment",
                          "created_at", "updated_at"),
    # the events domain: rows from dap.events.privacy.export_collections
    "event_answers": ("cohort", "event", "starts_at", "answer", "waitlisted_at", "promoted_at",
                      "answered_at", "updated_at"),
    "event_attendance": ("cohort", "event", "starts_at", "mark", "recorded_at",
                         "checked_in_yourself"),
    "event_feedback": ("cohort", "event", "starts_at", "usefulness", "what_worked",
                       "what_to_change", "created_at", "updated_at"),
    "event_recap_notes": ("cohort", "event", "starts_at", "notes", "created_at", "updated_at"),
    "event_photos": ("cohort", "event", "starts_at", "file", "caption", "width", "height",
                     "added_at"),
    # the time cap: rows from dap.timecap.privacy.export_collections
    "platform_time": ("day", "minutes"),
    "web_activities": ("cohort", "day", "kind", "title", "url", "minutes", "goal", "note",
                       "logged_at", "logged_by_someone_else"),
    # 1:1 support: rows from dap.support.privacy.export_collections
    "support_bookings": ("cohort", "starts_at", "ends_at", "facilitator", "mode", "place", "note",
                         "status", "booked_at", "booked_by", "cancelled_at", "cancelled_by",
                         "cancel_message"),
    "support_action_points": ("cohort", "session_starts_at", "text", "shared_with_patrons",
                              "goal", "added_by", "added_at"),
    # the skills baseline: rows from dap.baseline.privacy.export_collections
    "baseline_ratings": ("cohort", "checkpoint", "submitted_at", "recorded_by_someone_else",
                         "area", "statement", "rating"),
    "baseline_answers": ("cohort", "checkpoint", "submitted_at", "recorded_by_someone_else",
                         "question", "choices", "text"),
    # the cohort feed: rows from dap.community.privacy.export_collections
    "feed_posts": ("cohort", "post", "kind", "body", "link", "link_words", "images",
                   "created_at", "edited_at", "deleted_at", "hidden_at", "hidden_reason",
                   "success_story_at", "featured_at", "shared_with_other_cohorts_at"),
    "feed_comments": ("cohort", "post", "body", "created_at", "edited_at", "deleted_at",
                      "hidden_at", "hidden_reason"),
    "feed_kudos": ("cohort", "post", "given_at"),
    "feed_reports": ("cohort", "post", "comment", "reason", "created_at", "dealt_with_at"),
    # nudges: rows from dap.nudges.privacy.export_collections
    "notifications": ("cohort", "direction", "kind", "from", "to", "title", "body", "created_at",
                      "read_at", "reaction", "reacted_at"),
}

README = """\
Everything DAP holds about you, exported {exported_at} (UTC).

data.json             all of it in one file: your profile and every collection below
memberships.csv       the cohorts you belong or belonged to, your role and status
patron_links.csv      patrons looking out for you, and participants you look out for
sessions.csv          the browsers you are signed in on
api_tokens.csv        your API tokens: name, scope, dates (never the tokens themselves)
invitations.csv       invitations sent to your email address, and invitations you sent
audit_events.csv      recorded changes you made, or that were about you
emails.csv            emails DAP sent you (subject, date and status)
plans.csv             your plan in each cohort: state, weekly target, rhythm, pauses
goals.csv             the goals in your plans: why, target, visibility, status, progress,
                      reflection and evidence; who added or finished one for you
check_ins.csv         your check-ins: day, progress, minutes, note; who recorded one for you
plan_reviews.csv      review requests on your plans, and those you were asked to do
plan_comments.csv     comments on your plans, and comments you wrote on anyone's plan
goal_suggestions.csv  library goals suggested to you, and those you suggested to others
goal_endorsements.csv endorsements of your finished goals, and those you gave others
event_answers.csv     your answers to events (going, waitlist, can't go)
event_attendance.csv  the events the register has you at (or down as a no-show)
event_feedback.csv    the feedback you gave after events
event_recap_notes.csv your notes in events' recaps
event_photos.csv      the photos you added to recaps; the files are in photos/
platform_time.csv     your minutes on DAP, day by day
web_activities.csv    the web time you logged: what, link, minutes, goal, note
support_bookings.csv  your 1:1 sessions: when, with whom, what you wanted help with, status
support_action_points.csv
                      what you agreed in 1:1 sessions (your facilitator's private notes
                      are theirs, not in here), whether your patrons see it, the goal it became
baseline_ratings.csv  how you rated yourself against each skills statement, at each checkpoint
baseline_answers.csv  your answers in your own words (needs, how you learn, barriers)
feed_posts.csv        what you posted in cohort feeds (the images are in feed/), whether a
                      facilitator hid it and why, and whether it is a success story
feed_comments.csv     your comments in cohort feeds
feed_kudos.csv        the posts you gave kudos to
feed_reports.csv      posts and comments you reported, and why
notifications.csv     your notifications (nudges from your patrons and others), your answers,
                      and the nudges you sent

Blank name columns (added_by, done_by, recorded_by, paused_by, booked_by, cancelled_by)
mean you did it yourself.
On other people's plans, a goal they keep to themselves ("only me") shows as "a goal",
and a suggestion you made reads "closed" once it is no longer open.

Times are ISO 8601 in UTC. Cells that a spreadsheet would read as a formula start
with a single quote.
"""


# --- export ---------------------------------------------------------------------------------


def export_user_data(user: User) -> bytes:
    """A zip of everything DAP holds about ``user``: ``data.json`` (profile and every
    collection), one CSV per collection (formula-safe cells) and a README.

    Left out on purpose: the password hash, session token hashes, invitation nonces and
    email bodies (they carry sign-in links). Reads only; at most thirty-six queries
    whatever the number of rows (one per collection, three for the audit events; seven of
    them for plans, see ``dap.plans.privacy.export_collections``; six for events, with the
    photos' files, see ``dap.events.privacy``; two for the time cap; two for 1:1 support;
    two for notifications and email choices; two for the skills baseline; five for the
    cohort feed, and one more for its images).
    """
    exported_at = now_utc()
    collections = {
        "memberships": _memberships(user),
        "patron_links": _patron_links(user),
        "sessions": _sessions(user),
        "api_tokens": _api_tokens(user),
        "invitations": _invitations(user),
        "audit_events": _audit_events(user),
        "emails": _emails(user),
        **plan_privacy.export_collections(user),
        **event_privacy.export_collections(user),
        **timecap_privacy.export_collections(user),
        **support_privacy.export_collections(user),
        **nudge_privacy.export_collections(user),
        **baseline_privacy.export_collections(user),
        **community_privacy.export_collections(user),
    }
    document = {"exported_at": exported_at, "profile": _profile(user), **collections}
    buffer = io.BytesIO()
    stamp = exported_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, text: str) -> None:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))

        add("README.txt", README.format(exported_at=exported_at.isoformat(timespec="seconds")))
        add("data.json", json.dumps(document, indent=2, ensure_ascii=False, default=_json_value))
        for name, header in COLLECTIONS.items():
            add(f"{name}.csv", write_csv(collections[name], header))
        for name, data in [*event_privacy.export_files(user),
                           *community_privacy.export_files(user)]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            archive.writestr(info, data)  # photos are compressed already: stored as they are
    return buffer.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def _profile(user: User) -> dict[str, Any]:
    return {attr.key: getattr(user, attr.key) for attr in inspect(User).column_attrs
            if attr.key not in PRIVATE_USER_COLUMNS}


def _memberships(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Membership, Cohort.name, Organisation.name, Team.name)
        .join(Cohort, Cohort.id == Membership.cohort_id)
        .join(Organisation, Organisation.id == Cohort.organisation_id)
        .outerjoin(Team, Team.id == Membership.team_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.joined_at, Membership.id)
    ).all()
    return [
        {"cohort": cohort, "organisation": org, "role": m.role.value, "status": m.status.value,
         "team": team, "visible_to_members": m.is_visible, "joined_at": m.joined_at,
         "accepted_at": m.accepted_at, "removed_at": m.removed_at}
        for m, cohort, org, team in rows
    ]


def _patron_links(user: User) -> list[dict[str, Any]]:
    patron, participant = aliased(User), aliased(User)
    rows = db.session.execute(
        select(PatronLink, Cohort.name, patron.name, participant.name)
        .join(Cohort, Cohort.id == PatronLink.cohort_id)
        .join(patron, patron.id == PatronLink.patron_id)
        .join(participant, participant.id == PatronLink.participant_id)
        .where(or_(PatronLink.patron_id == user.id, PatronLink.participant_id == user.id))
        .order_by(PatronLink.created_at, PatronLink.id)
    ).all()
    return [
        {"cohort": cohort,
         "your_role": "patron" if link.patron_id == user.id else "participant",
         "other_person": participant_name if link.patron_id == user.id else patron_name,
         "source": link.source.value, "started_at": link.created_at, "ended_at": link.ended_at}
        for link, cohort, patron_name, participant_name in rows
    ]


def _sessions(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(UserSession.created_at, UserSession.user_agent)
        .where(UserSession.user_id == user.id).order_by(UserSession.created_at, UserSession.id)
    ).all()
    return [{"created_at": created, "user_agent": agent} for created, agent in rows]


def _api_tokens(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at, ApiToken.id))
    return [{"name": t.name, "starts_with": t.prefix, "scope": t.scope.value,
             "created_at": t.created_at, "expires_at": t.expires_at,
             "last_used_at": t.last_used_at, "revoked_at": t.revoked_at} for t in rows]


def _invitations(user: User) -> list[dict[str, Any]]:
    inviter = aliased(User)
    mine = [Invitation.invited_by_id == user.id, Invitation.accepted_by_id == user.id,
            Invitation.participant_id == user.id]
    if user.email:
        mine.append(Invitation.email == user.email)
    rows = db.session.execute(
        select(Invitation, Cohort.name, inviter.name)
        .join(Cohort, Cohort.id == Invitation.cohort_id)
        .outerjoin(inviter, inviter.id == Invitation.invited_by_id)
        .where(or_(*mine))
        .order_by(Invitation.created_at, Invitation.id)
    ).all()
    return [
        {"cohort": cohort, "kind": inv.kind.value,
         "direction": "to you" if (user.email and inv.email == user.email)
         or inv.accepted_by_id == user.id else "by you",
         "email": inv.email, "invited_by": inviter_name, "status": inv.status,
         "created_at": inv.created_at, "expires_at": inv.expires_at,
         "accepted_at": inv.accepted_at, "revoked_at": inv.revoked_at}
        for inv, cohort, inviter_name in rows
    ]


def _audit_events(user: User) -> list[dict[str, Any]]:
    return [
        {"at": e.at, "action": e.action, "description": e.sentence, "actor": e.actor,
         "subject": e.subject, "cohort": e.cohort, "details": e.raw_details}
        for e in reversed(entries_for_person(user.id))
    ]


def _emails(user: User) -> list[dict[str, Any]]:
    if not user.email:
        return []
    rows = db.session.execute(
        select(OutboxMessage.created_at, OutboxMessage.sent_at, OutboxMessage.subject,
               OutboxMessage.kind, OutboxMessage.status)
        .where(OutboxMessage.to_addr == user.email)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).all()
    return [{"created_at": created, "sent_at": sent, "subject": subject, "kind": kind,
             "status": status.value} for created, sent, subject, kind, status in rows]


# --- deletion -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeletionSummary:
    """What deleting an account would change, for the confirmation page."""

    #: (cohort name, role) of each membership that will be marked removed
    memberships: list[tuple[str, str]]
    patron_links: int
    invitations: int
    sessions: int
    #: why deletion would be refused (the last administrator), or ""
    blocked: str


def deletion_summary(user: User) -> DeletionSummary:
    """Count what ``delete_account`` would change for ``user``. Reads only; five queries."""
    memberships = db.session.execute(
        select(Cohort.name, Membership.role)
        .join(Cohort, Cohort.id == Membership.cohort_id)
        .where(Membership.user_id == user.id, Membership.status != MembershipStatus.REMOVED)
        .order_by(Cohort.name)
    ).all()
    links = db.session.scalar(
        select(func.count(PatronLink.id)).where(_open_links(user))
    ) or 0
    invitations = db.session.scalar(
        select(func.count(Invitation.id)).where(_pending_invitations(user))
    ) or 0
    sessions = db.session.scalar(
        select(func.count(UserSession.id)).where(UserSession.user_id == user.id)
    ) or 0
    return DeletionSummary(
        memberships=[(name, role.value) for name, role in memberships],
        patron_links=links, invitations=invitations, sessions=sessions,
        blocked=LAST_ADMIN if is_last_admin(user) else "",
    )


def is_last_admin(user: User, *, lock: bool = False) -> bool:
    """True when ``user`` is an admin and no other active, undeleted admin exists.

    With ``lock`` the admin rows are locked in id order (``SELECT … FOR UPDATE`` on
    PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so two admins
    deleting each other at once cannot both pass the check.
    """
    if not user.is_admin:
        return False
    stmt = (select(User.id)
            .where(User.is_admin.is_(True), User.is_active.is_(True), User.deleted_at.is_(None))
            .order_by(User.id))
    if lock:
        stmt = stmt.with_for_update()
    return all(admin_id == user.id for admin_id in db.session.scalars(stmt))


def _open_links(user: User) -> Any:
    return and_(or_(PatronLink.patron_id == user.id, PatronLink.participant_id == user.id),
                PatronLink.ended_at.is_(None))


def _pending_invitations(user: User) -> Any:
    """Unanswered invitations to ``user``'s address, and patron invitations they asked for."""
    addressed = [and_(Invitation.kind == InvitationKind.PATRON, Invitation.participant_id == user.id)]
    if user.email:
        addressed.append(Invitation.email == user.email)
    return and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), or_(*addressed))


def delete_account(user: User, *, actor: User, password: str, params: HashParams) -> None:
    """Delete ``user``'s account, confirmed by ``actor``'s password (``actor`` is ``user``
    deleting themselves, or an admin or cohort facilitator deleting someone else; the caller
    checks that they may).

    Erases: name (→ "Deleted user"), email, password, site roles, sign-in history; ends every
    session (epoch bump, rows deleted); deletes their API tokens; marks memberships removed
    and hides them; ends patron
    links; revokes unanswered invitations to their address (and patron invitations they
    asked for); removes their address from invitations and from the outbox (unsent emails to
    them are cancelled, sent ones lose their address, subject and body); erases what they
    wrote in plans (``dap.plans.privacy.erase_free_text``: own goal titles become "Goal",
    notes, reasons, reflections, evidence, review messages and comments become empty), keeping
    progress, minutes, dates and statuses; erases what they put into events
    (``dap.events.privacy.erase``: recap notes and photos, feedback words, invitations, the
    calendar feed), the words of their web-time log (``dap.timecap.privacy.erase``) and
    what they asked help with when booking 1:1 sessions (``dap.support.privacy.erase``), their
    notifications and the words of nudges they sent (``dap.nudges.privacy.erase``), their
    written answers to the skills baseline (``dap.baseline.privacy.erase``), and their posts,
    comments and report reasons in cohort feeds (``dap.community.privacy.erase``).
    Keeps the row, so records and counts stay
    attributed to "Deleted user". Records ``user.deleted`` (counts
    only, no personal data) and ``membership.removed`` in each cohort. Flushes; the caller
    commits.

    :raise DomainError: ``password`` empty or not ``actor``'s (field ``password``); the
        account is already deleted; or it is the last active administrator.
    """
    if user.deleted_at is not None:
        raise DomainError("This account has already been deleted.")
    if not password:
        raise DomainError("Enter your password to confirm.", field="password")
    if not check_password(actor, password, params):
        raise DomainError("That password is not right.", field="password")
    if is_last_admin(user, lock=True):
        raise DomainError(LAST_ADMIN)

    now = now_utc()
    old_email = user.email
    memberships = db.session.scalars(
        select(Membership).options(selectinload(Membership.cohort))
        .where(Membership.user_id == user.id, Membership.status != MembershipStatus.REMOVED)
    ).all()
    for membership in memberships:
        membership.status = MembershipStatus.REMOVED
        membership.removed_at = now
        membership.is_visible = False
    links = db.session.execute(
        update(PatronLink).where(_open_links(user)).values(ended_at=now)
    ).rowcount or 0
    invitations = db.session.execute(
        update(Invitation).where(_pending_invitations(user)).values(revoked_at=now)
    ).rowcount or 0
    if old_email:
        db.session.execute(update(Invitation).where(Invitation.email == old_email).values(email=""))
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.to_addr == old_email, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.FAILED, last_error="The recipient deleted their account.")
        )
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.to_addr == old_email)
            .values(to_addr="", subject="", body_text="", body_html="", calendar_ics="")
        )

    plan_privacy.erase_free_text(user)
    from dap.events.models import CalendarFeed  # local: events imports accounts

    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    from dap.api.models import IdempotentRequest  # local: the API builds on accounts

    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.user_id == user.id))
    event_privacy.erase(user)
    timecap_privacy.erase(user)
    support_privacy.erase(user)
    nudge_privacy.erase(user)
    baseline_privacy.erase(user)
    community_privacy.erase(user)

    user.deleted_at = now
    user.is_active = False
    user.email = None
    user.name = DELETED_NAME
    user.password_hash = ""
    user.is_admin = False
    user.is_facilitator = False
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = None
    db.session.flush()
    end_other_sessions(user)

    by = "self" if actor.id == user.id else "admin" if actor.is_admin else "facilitator"
    for membership in memberships:
        record("membership.removed", actor=actor, cohort=membership.cohort, subject=user,
               reason="account_deleted", role=membership.role.value)
    record("user.deleted", actor=actor, subject=user, by=by, memberships_removed=len(memberships),
           patron_links_ended=links, invitations_revoked=invitations)
    log.info("user %s deleted (by %s %s)", user.id, by, actor.id)
