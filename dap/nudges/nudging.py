"""Patron nudges: a patron sends a nudge, cajole or enthuse to a participant they are linked
to; the participant reacts (👍, "on it", "need help"), and "need help" tells the cohort's
facilitators.

Who may send is checked by the caller (``policy.is_patron_of``); these functions hold the
rules about the message itself and the daily limit.
"""

from __future__ import annotations

from sqlalchemy import func, select

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import day_bounds, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.content.nudges import NudgeTemplate, render_nudge
from dap.errors import DomainError
from dap.extensions import db
from dap.nudges.models import (
    NUDGE_KINDS,
    EmailState,
    Notification,
    NotificationKind,
    OutboxMessage,
    Reaction,
)
from dap.nudges.notify import notify

#: nudges one patron may send one participant per day (the participant's cohort's day)
DAILY_LIMIT = 3
MESSAGE_MAX = 1000

REACTION_LABELS = {Reaction.THUMBS_UP: "👍", Reaction.ON_IT: "On it",
                   Reaction.NEED_HELP: "Need help"}


class NudgeLimitError(DomainError):
    """The patron has sent today's nudges to this participant."""

    def __init__(self, participant: User) -> None:
        super().__init__(
            f"You have already sent {participant.first_name} {DAILY_LIMIT} nudges today. "
            "Give them a little room: you can send another tomorrow.", code="too_many")


def sent_today(patron: User, participant: User, cohort: Cohort) -> int:
    """Nudges ``patron`` sent ``participant`` in ``cohort`` today (cohort time zone)."""
    start, end = day_bounds(now_utc(), cohort.timezone)
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.sender_id == patron.id, Notification.user_id == participant.id,
            Notification.cohort_id == cohort.id, Notification.kind.in_(NUDGE_KINDS),
            Notification.created_at >= start, Notification.created_at < end)
    ) or 0


def send_nudge(
    *, patron: User, participant: User, cohort: Cohort, membership: Membership,
    kind: NotificationKind, template: NudgeTemplate | None, message: str, token: str,
) -> Notification | None:
    """Send ``participant`` a nudge from a ``template`` (its rendered text, of its kind) or
    ``message`` (free text, 1–1,000 characters) of ``kind``; records ``nudge.sent`` (never the text).

    ``token`` identifies one sending form: the same form posted twice sends once (None the
    second time).

    :raise NudgeLimitError: past ``DAILY_LIMIT`` today.
    :raise DomainError: an empty or too long message, or a kind that is not a nudge.
    """
    if template is not None:
        kind = NotificationKind(template.kind)
        title = template.title
        body = render_nudge(template, first_name=participant.first_name,
                            patron_first_name=patron.first_name)
    else:
        if kind not in NUDGE_KINDS:
            raise DomainError("Choose nudge, cajole or enthuse.", field="kind")
        body = (message or "").strip()
        if not body:
            raise DomainError("Write a message, or choose one of the ready-made ones.",
                              field="message")
        if len(body) > MESSAGE_MAX:
            raise DomainError(f"Keep the message to {MESSAGE_MAX:,} characters.", field="message")
        title = f"A message from {patron.name}"
    if sent_today(patron, participant, cohort) >= DAILY_LIMIT:
        raise NudgeLimitError(participant)
    notification = notify(
        participant, kind=kind, title=title, body=body, sender=patron, cohort=cohort,
        link="/notifications", dedup_key=f"nudge:{patron.id}:{participant.id}:{token}")
    if notification is not None:
        record("nudge.sent", actor=patron, cohort=cohort, subject=participant,
               kind=kind.value, template=template.slug if template else None,
               notification_id=notification.id)
    return notification


def sent_note(notification: Notification | None, participant: User) -> str:
    """What the patron is told once a nudge is sent: when it reaches the participant, as
    governance decided (quiet hours, the daily cap, a paused plan)."""
    name = participant.first_name
    if notification is None:  # the same form sent twice: the first one went
        return f"Sent to {participant.name}."
    state = notification.email_state
    if state is EmailState.HELD:
        return (f"Sent. {name} has paused their plan for now, so it waits in their inbox "
                "for when they are back.")
    if state is EmailState.DIGEST:
        return (f"Sent. It is in {name}'s inbox now, and comes by email in their next "
                "morning digest.")
    if state is EmailState.QUEUED:
        planned = db.session.scalar(select(OutboxMessage.planned_at).where(
            OutboxMessage.dedup_key == notification.dedup_key))
        if planned is not None and planned > notification.created_at:
            return (f"Sent. It is in {name}'s inbox now; it is night where they are, so the "
                    "email goes at 08:00 their time.")
    return f"Sent to {participant.name}."


def active_facilitators(cohort_id: int) -> list[User]:
    """The cohort's active facilitators (one query)."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, Membership.role == CohortRole.FACILITATOR,
               Membership.status == MembershipStatus.ACTIVE)
        .order_by(User.name, User.id)))


def react(notification: Notification, *, reaction: Reaction, participant: User) -> None:
    """Set (or change) the participant's reaction to a nudge. "Need help" sends each of the
    cohort's active facilitators a ``need_help`` notification, once per nudge however often
    it is chosen.

    :raise DomainError: the notification is not a nudge.
    """
    if not notification.is_nudge:
        raise DomainError("Only nudges can be answered.")
    notification.reaction = reaction
    notification.reacted_at = now_utc()
    if notification.read_at is None:
        notification.read_at = notification.reacted_at
    db.session.flush()
    if reaction is not Reaction.NEED_HELP or notification.cohort_id is None:
        return
    membership_id = db.session.scalar(select(Membership.id).where(
        Membership.cohort_id == notification.cohort_id, Membership.user_id == participant.id))
    link = (f"/cohorts/{notification.cohort_id}/people/{membership_id}/plan"
            if membership_id is not None else "")
    cohort = db.session.get(Cohort, notification.cohort_id)
    for facilitator in active_facilitators(notification.cohort_id):
        notify(facilitator, kind=NotificationKind.NEED_HELP, cohort=cohort, sender=participant,
               title=f"{participant.name} would like some help",
               body=(f"{participant.name} answered a nudge in {cohort.name} with “need help”. "
                     "Get in touch with them, or offer them a 1:1."),
               link=link, dedup_key=f"need-help:{notification.id}:{facilitator.id}")
