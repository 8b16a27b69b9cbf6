"""Who is in a cohort: invitations, accepting them, patron links, managed participants,
removing people. Every change is audited."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import func, select, update

from dap.accounts import services as accounts
from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import now_utc
from dap.cohorts.models import (
    Cohort,
    CohortRole,
    Invitation,
    InvitationKind,
    Membership,
    MembershipStatus,
    PatronLink,
    PatronLinkSource,
    Team,
)
from dap.errors import DomainError
from dap.extensions import db
from dap.nudges.services import queue_email
from dap.tokens import serializer

log = logging.getLogger(__name__)

INVITATION_TTL = timedelta(days=14)
INVITATION_SALT = "dap.invitation"

ROLE_LABELS = {
    CohortRole.PARTICIPANT: "participant",
    CohortRole.PATRON: "patron",
    CohortRole.FACILITATOR: "co-facilitator",
}


@dataclass(frozen=True)
class LinkContext:
    """What an emailed link needs: where the site lives and the signing key."""

    base_url: str
    secret_key: str


# --- invitations ----------------------------------------------------------------------------


def _find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def membership_of(cohort: Cohort, user: User) -> Membership | None:
    """``user``'s membership row in ``cohort`` whatever its status, or None."""
    return db.session.scalar(
        select(Membership).where(Membership.cohort_id == cohort.id, Membership.user_id == user.id)
    )


def _check_team(cohort: Cohort, team: Team | None) -> None:
    if team is not None and team.organisation_id != cohort.organisation_id:
        raise DomainError("Choose one of this organisation's teams.", field="team")


def _check_editable(cohort: Cohort) -> None:
    if cohort.is_archived:
        raise DomainError("This cohort is archived: nothing in it can change.")


def invite_member(
    *, cohort: Cohort, actor: User, email: str, name: str, role: CohortRole,
    team: Team | None, links: LinkContext,
) -> Invitation:
    """Invite someone into ``cohort`` in ``role`` and queue the invitation email.

    Someone without an account gets one without a password (they choose it when they
    accept); a removed member is invited back on the same membership row.

    :raise DomainError: bad email or name, foreign team, archived cohort, or the person is
        already a member or already invited.
    """
    _check_editable(cohort)
    address = accounts.normalise_email(email)
    clean_name = accounts.validate_name(name)
    _check_team(cohort, team)
    user = _find_user(address)
    if user is None:
        user = User(email=address, name=clean_name, password_hash="",
                    timezone=cohort.timezone)
        db.session.add(user)
        db.session.flush()
    membership = membership_of(cohort, user)
    if membership is not None and membership.status is MembershipStatus.ACTIVE:
        raise DomainError(f"{address} is already in this cohort.", field="email")
    if membership is not None and membership.status is MembershipStatus.INVITED:
        raise DomainError(
            f"{address} has already been invited; resend the invitation from the roster.",
            field="email",
        )
    if membership is None:
        membership = Membership(cohort=cohort, user=user, role=role, team=team,
                                status=MembershipStatus.INVITED)
        db.session.add(membership)
    else:  # removed earlier: invite back on the same row
        membership.role, membership.team = role, team
        membership.status, membership.removed_at = MembershipStatus.INVITED, None
    db.session.flush()
    return _issue_invitation(kind=InvitationKind.MEMBERSHIP, cohort=cohort, email=address,
                             actor=actor, action="invitation.sent", subject=user, links=links,
                             membership=membership)


def _issue_invitation(*, kind: InvitationKind, cohort: Cohort, email: str, actor: User,
                      action: str, subject: User, links: LinkContext,
                      membership: Membership | None = None,
                      participant_id: int | None = None) -> Invitation:
    """Create an invitation with a fresh nonce and 14 days to run, audit it, and queue its
    email."""
    invitation = Invitation(
        kind=kind, cohort=cohort, membership=membership, participant_id=participant_id,
        email=email, invited_by_id=actor.id, nonce=secrets.token_hex(8),
        expires_at=now_utc() + INVITATION_TTL,
    )
    db.session.add(invitation)
    db.session.flush()
    details = {"invitation_id": invitation.id}
    if membership is not None and kind is InvitationKind.MEMBERSHIP:
        details["role"] = membership.role.value
    record(action, actor=actor, cohort=cohort, subject=subject, **details)
    send_invitation(invitation, links=links)
    return invitation


def invitation_token(invitation: Invitation, secret_key: str) -> str:
    """The signed token in an invitation link; only the newest (current nonce) verifies."""
    return serializer(secret_key, salt=INVITATION_SALT).dumps(
        {"i": invitation.id, "n": invitation.nonce}
    )


def invitation_link(invitation: Invitation, links: LinkContext) -> str:
    return f"{links.base_url}/join/{invitation_token(invitation, links.secret_key)}"


def send_invitation(invitation: Invitation, *, links: LinkContext) -> None:
    """Queue the email for the invitation's current link (one email per nonce)."""
    cohort = invitation.cohort
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    if invitation.kind is InvitationKind.PATRON:
        subject = f"{inviter.name if inviter else 'A colleague'} would like you as their DAP patron"
        template = "patron_invitation"
    else:
        subject = f"You're invited to {cohort.name}"
        template = "invitation"
    queue_email(
        to=invitation.email, subject=subject, template=template,
        context={
            "invitation": invitation, "cohort": cohort, "inviter": inviter,
            "role": ROLE_LABELS.get(invitation.membership.role) if invitation.membership else "patron",
            "link": invitation_link(invitation, links),
            "expires_at": invitation.expires_at,
        },
        dedup_key=f"invitation:{invitation.id}:{invitation.nonce}", kind="invitation",
    )
    invitation.send_count += 1
    invitation.last_sent_at = now_utc()
    db.session.flush()


def resend_invitation(invitation: Invitation, *, actor: User, links: LinkContext) -> None:
    """Send a fresh link valid for another 14 days; earlier links stop working.

    :raise DomainError: when it was accepted or revoked.
    """
    _check_editable(invitation.cohort)
    if invitation.accepted_at is not None:
        raise DomainError("This invitation has already been accepted.")
    if invitation.revoked_at is not None:
        raise DomainError("This invitation was revoked; invite the person again instead.")
    invitation.nonce = secrets.token_hex(8)
    invitation.expires_at = now_utc() + INVITATION_TTL
    db.session.flush()
    record("invitation.resent", actor=actor, cohort=invitation.cohort,
           subject=invitation.membership.user if invitation.membership else None,
           invitation_id=invitation.id)
    send_invitation(invitation, links=links)


def revoke_invitation(invitation: Invitation, *, actor: User) -> None:
    """Stop an invitation's link working. A pending membership invitation also removes the
    invited membership (an account created for it stays, without access).

    :raise DomainError: when it was already accepted.
    """
    if invitation.accepted_at is not None:
        raise DomainError("This invitation has already been accepted; remove the person instead.")
    if invitation.revoked_at is not None:
        return
    invitation.revoked_at = now_utc()
    membership = invitation.membership
    if membership is not None and membership.status is MembershipStatus.INVITED:
        membership.status = MembershipStatus.REMOVED
        membership.removed_at = now_utc()
    db.session.flush()
    record("invitation.revoked", actor=actor, cohort=invitation.cohort,
           subject=membership.user if membership else None, invitation_id=invitation.id)


class InvitationError(DomainError):
    """An invitation link that cannot be used; ``code`` says why."""


def invitation_for_token(token: str, *, secret_key: str) -> Invitation:
    """The invitation a link is for, if it can still be used.

    :raise InvitationError: ``invalid``, ``superseded``, ``revoked``, ``used`` or ``expired``,
        each with a message for the person holding the link.
    """
    try:
        data = serializer(secret_key, salt=INVITATION_SALT).loads(
            token, max_age=int(INVITATION_TTL.total_seconds()) + 60
        )
    except SignatureExpired:
        raise InvitationError("This invitation has expired. Ask your facilitator to send "
                              "a new one.", code="expired") from None
    except BadSignature:
        raise InvitationError("This invitation link is not valid. Check you copied all "
                              "of it.", code="invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise InvitationError("This invitation link is not valid.", code="invalid")
    invitation = db.session.get(Invitation, data["i"])
    if invitation is None:
        raise InvitationError("This invitation link is not valid.", code="invalid")
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used. Sign in to reach "
                              "your cohort.", code="used")
    if invitation.revoked_at is not None:
        raise InvitationError("This invitation has been withdrawn. Ask your facilitator "
                              "if you think that is a mistake.", code="revoked")
    if not secrets.compare_digest(str(data.get("n", "")), invitation.nonce):
        raise InvitationError("A newer invitation has been sent to you: use the link in "
                              "the latest email.", code="superseded")
    if invitation.expires_at <= now_utc():
        raise InvitationError("This invitation has expired. Ask your facilitator to send "
                              "a new one.", code="expired")
    return invitation


def invitee(invitation: Invitation) -> User | None:
    """The account an invitation is for (created when it was sent), if it still exists."""
    if invitation.membership is not None:
        return invitation.membership.user
    return _find_user(invitation.email)


def needs_account_setup(user: User | None) -> bool:
    """True for people who have never chosen a password (new or managed accounts)."""
    return user is None or not user.password_hash


def accept_invitation(invitation: Invitation, *, user: User) -> Membership:
    """Join the cohort (membership invitation) or become the participant's patron
    (patron invitation) as ``user``.

    :raise DomainError: when ``user`` is not the person invited, or the cohort is archived.
    """
    cohort = invitation.cohort
    _check_editable(cohort)
    if (user.email or "").lower() != invitation.email.lower():
        raise DomainError(
            f"This invitation is for {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out, then open the link again.", code="wrong_user"
        )
    now = now_utc()
    if invitation.kind is InvitationKind.MEMBERSHIP:
        membership = invitation.membership
        assert membership is not None  # membership invitations always carry one
        if membership.status is not MembershipStatus.ACTIVE:
            membership.status = MembershipStatus.ACTIVE
            membership.accepted_at = now
    else:
        membership = _ensure_patron_membership(cohort, user)
        participant = invitation.participant
        assert participant is not None  # patron invitations always name the participant
        _open_link(cohort, patron=user, participant=participant,
                   source=PatronLinkSource.PARTICIPANT, actor=participant)
    user.is_managed = False
    invitation.accepted_at = now
    invitation.accepted_by_id = user.id
    db.session.flush()
    record("invitation.accepted", actor=user, cohort=cohort, subject=user,
           invitation_id=invitation.id, kind=invitation.kind.value)
    return membership


def set_up_invited_account(user: User, *, name: str, password: str,
                           params: accounts.HashParams, timezone: str | None = None) -> None:
    """An invitee without a password chooses their name and password.

    :raise DomainError: bad name, password or time zone.
    """
    user.name = accounts.validate_name(name)
    user.password_hash = accounts.hash_password(
        accounts.validate_password(password, email=user.email or ""), params
    )
    if timezone:
        user.timezone = accounts.validate_timezone(timezone)
    db.session.flush()


# --- patrons --------------------------------------------------------------------------------


def _ensure_patron_membership(cohort: Cohort, user: User) -> Membership:
    membership = membership_of(cohort, user)
    if membership is None:
        membership = Membership(cohort=cohort, user=user, role=CohortRole.PATRON,
                                status=MembershipStatus.ACTIVE, accepted_at=now_utc())
        db.session.add(membership)
    elif membership.status is not MembershipStatus.ACTIVE:
        membership.status = MembershipStatus.ACTIVE
        membership.removed_at = None
        membership.accepted_at = now_utc()
        if membership.role is not CohortRole.FACILITATOR:
            membership.role = CohortRole.PATRON
    db.session.flush()
    return membership


def _open_link(cohort: Cohort, *, patron: User, participant: User, source: PatronLinkSource,
               actor: User) -> PatronLink:
    if patron.id == participant.id:
        raise DomainError("Someone cannot be their own patron.", field="patron")
    link = db.session.scalar(
        select(PatronLink).where(PatronLink.cohort_id == cohort.id,
                                 PatronLink.patron_id == patron.id,
                                 PatronLink.participant_id == participant.id)
    )
    if link is None:
        link = PatronLink(cohort=cohort, patron=patron, participant=participant, source=source,
                          created_by_id=actor.id)
        db.session.add(link)
    elif link.ended_at is not None:
        link.ended_at = None
        link.source = source
        link.created_by_id = actor.id
    else:
        return link
    db.session.flush()
    record("patron.linked", actor=actor, cohort=cohort, subject=participant,
           patron_id=patron.id, source=source.value)
    return link


def link_patron(*, cohort: Cohort, patron: Membership, participant: Membership,
                actor: User, source: PatronLinkSource = PatronLinkSource.FACILITATOR
                ) -> PatronLink:
    """Make ``patron`` a patron of ``participant`` (both members of ``cohort``; invited
    members may be linked before they accept).

    :raise DomainError: when either is not a current or invited member, the participant is
        not a participant, or they are the same person.
    """
    _check_editable(cohort)
    for m, field in ((patron, "patron"), (participant, "participant")):
        if m.cohort_id != cohort.id or m.status is MembershipStatus.REMOVED:
            raise DomainError("Choose someone in this cohort.", field=field)
    if participant.role is not CohortRole.PARTICIPANT:
        raise DomainError("Only participants have patrons.", field="participant")
    return _open_link(cohort, patron=patron.user, participant=participant.user, source=source,
                      actor=actor)


def end_patron_link(link: PatronLink, *, actor: User) -> None:
    """End a patron link (the row stays, with ``ended_at``)."""
    if link.ended_at is not None:
        return
    link.ended_at = now_utc()
    db.session.flush()
    record("patron.unlinked", actor=actor, cohort=link.cohort, subject=link.participant,
           patron_id=link.patron_id)


def invite_own_patron(*, cohort: Cohort, participant: User, email: str, name: str,
                      links: LinkContext) -> Invitation:
    """A participant invites a colleague (possibly outside the organisation) to be their
    patron, with a personal link.

    :raise DomainError: bad email or name, themselves, an existing active link, a pending
        invitation to the same address, or an archived cohort.
    """
    _check_editable(cohort)
    address = accounts.normalise_email(email)
    clean_name = accounts.validate_name(name)
    if address == (participant.email or "").lower():
        raise DomainError("You cannot be your own patron.", field="email")
    existing = _find_user(address)
    if existing is not None and db.session.scalar(
        select(PatronLink.id).where(PatronLink.cohort_id == cohort.id,
                                    PatronLink.patron_id == existing.id,
                                    PatronLink.participant_id == participant.id,
                                    PatronLink.ended_at.is_(None))
    ):
        raise DomainError(f"{address} is already your patron.", field="email")
    pending = db.session.scalar(
        select(Invitation.id).where(
            Invitation.kind == InvitationKind.PATRON, Invitation.cohort_id == cohort.id,
            Invitation.participant_id == participant.id, Invitation.email == address,
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
            Invitation.expires_at > now_utc(),
        )
    )
    if pending:
        raise DomainError(f"You have already invited {address}.", field="email")
    if existing is None:
        existing = User(email=address, name=clean_name, password_hash="", timezone=cohort.timezone)
        db.session.add(existing)
        db.session.flush()
    return _issue_invitation(kind=InvitationKind.PATRON, cohort=cohort, email=address,
                             actor=participant, action="patron.invited", subject=participant,
                             links=links, participant_id=participant.id)


# --- managed participants and removal ----------------------------------------------------------


def create_managed_participant(*, cohort: Cohort, actor: User, name: str,
                               team: Team | None) -> Membership:
    """A "supported digital" participant with no email or login, whose plan the facilitator
    keeps on their behalf.

    :raise DomainError: bad name, foreign team, archived cohort.
    """
    _check_editable(cohort)
    _check_team(cohort, team)
    user = User(email=None, name=accounts.validate_name(name), password_hash="",
                is_managed=True, timezone=cohort.timezone)
    db.session.add(user)
    db.session.flush()
    membership = Membership(cohort=cohort, user=user, role=CohortRole.PARTICIPANT, team=team,
                            status=MembershipStatus.ACTIVE, accepted_at=now_utc())
    db.session.add(membership)
    db.session.flush()
    record("member.managed_created", actor=actor, cohort=cohort, subject=user)
    return membership


def invite_managed_to_take_over(*, membership: Membership, actor: User, email: str,
                                links: LinkContext) -> Invitation:
    """Attach an email to a managed participant and invite them to take their plan over.

    :raise DomainError: not a managed person, bad or already used email.
    """
    cohort = membership.cohort
    _check_editable(cohort)
    user = membership.user
    if not user.is_managed:
        raise DomainError("Only people whose plan is kept for them can be invited to take "
                          "it over.")
    address = accounts.normalise_email(email)
    other = _find_user(address)
    if other is not None and other.id != user.id:
        raise DomainError("Another account already uses this email address.", field="email")
    user.email = address
    db.session.execute(
        update(Invitation)
        .where(Invitation.membership_id == membership.id, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None))
        .values(revoked_at=now_utc())
    )
    return _issue_invitation(kind=InvitationKind.MEMBERSHIP, cohort=cohort, email=address,
                             actor=actor, action="member.takeover_invited", subject=user,
                             links=links, membership=membership)


def _other_facilitators(membership: Membership) -> int:
    """How many other active facilitators the membership's cohort has."""
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.cohort_id == membership.cohort_id,
            Membership.role == CohortRole.FACILITATOR,
            Membership.status == MembershipStatus.ACTIVE, Membership.id != membership.id,
        )
    ) or 0


def lock_cohort(cohort: Cohort) -> None:
    """Lock the cohort row until the transaction ends (``FOR UPDATE``; on SQLite the
    ``BEGIN IMMEDIATE`` transaction already holds the write lock), so that two requests
    checking "is this the last facilitator?" run one after the other."""
    db.session.execute(select(Cohort.id).where(Cohort.id == cohort.id).with_for_update())


def remove_member(membership: Membership, *, actor: User,
                  action: str = "membership.removed") -> None:
    """Take someone out of a cohort: they lose access, their records stay attributed, their
    patron links in this cohort end and pending invitations are withdrawn. ``action`` names
    the audit event.

    :raise DomainError: removing the cohort's last facilitator, or an archived cohort.
    """
    cohort = membership.cohort
    _check_editable(cohort)
    if membership.status is MembershipStatus.REMOVED:
        return
    lock_cohort(cohort)
    if (membership.role is CohortRole.FACILITATOR
            and membership.status is MembershipStatus.ACTIVE
            and not _other_facilitators(membership)):
        raise DomainError("A cohort needs at least one facilitator. Add another facilitator "
                          "before removing this one.")
    now = now_utc()
    membership.status = MembershipStatus.REMOVED
    membership.removed_at = now
    db.session.execute(
        update(PatronLink)
        .where(PatronLink.cohort_id == cohort.id, PatronLink.ended_at.is_(None),
               (PatronLink.patron_id == membership.user_id)
               | (PatronLink.participant_id == membership.user_id))
        .values(ended_at=now)
    )
    db.session.execute(
        update(Invitation)
        .where(Invitation.membership_id == membership.id, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.flush()
    record(action, actor=actor, cohort=cohort, subject=membership.user,
           role=membership.role.value)


def change_member(membership: Membership, *, actor: User, role: CohortRole,
                  team: Team | None) -> None:
    """Change someone's role or team in the cohort.

    :raise DomainError: foreign team, or demoting the last facilitator.
    """
    cohort = membership.cohort
    _check_editable(cohort)
    _check_team(cohort, team)
    changes: dict[str, list[str | None]] = {}
    if membership.role is not role:
        lock_cohort(cohort)
        if (membership.role is CohortRole.FACILITATOR
                and membership.status is MembershipStatus.ACTIVE
                and not _other_facilitators(membership)):
            raise DomainError("A cohort needs at least one facilitator.", field="role")
        changes["role"] = [membership.role.value, role.value]
        membership.role = role
    if membership.team_id != (team.id if team else None):
        changes["team"] = [membership.team.name if membership.team else None,
                           team.name if team else None]
        membership.team = team
    if changes:
        db.session.flush()
        record("membership.changed", actor=actor, cohort=cohort, subject=membership.user,
               **changes)


def latest_invitations(membership_ids: list[int]) -> dict[int, Invitation]:
    """The newest invitation of each membership (one query)."""
    if not membership_ids:
        return {}
    rows = db.session.scalars(
        select(Invitation).where(Invitation.membership_id.in_(membership_ids))
        .order_by(Invitation.membership_id, Invitation.id)
    ).all()
    return {row.membership_id: row for row in rows if row.membership_id is not None}


def expires_in_days(when: datetime) -> int:
    return max((when - now_utc()).days, 0)
