"""The email outbox (every message is a row before it is sent) and in-app notifications."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.db import str_enum
from dap.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting for its ``next_attempt_at``
    SENDING = "sending"  #: claimed by one delivery run
    SENT = "sent"
    FAILED = "failed"  #: gave up after the maximum attempts


class OutboxMessage(db.Model):
    """One email. ``dedup_key`` is unique, so queueing the same message twice (a scan that
    runs twice, two scheduler processes) stores it once."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The delivery scan's index: due rows that are not finished.
        Index(
            "ix_outbox_messages_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        # The daily and weekly caps: what one person has been sent, by planned time.
        Index("ix_outbox_messages_recipient", "user_id", "planned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: an iCalendar invitation (``METHOD:REQUEST`` or ``CANCEL``) sent with the email, or ""
    calendar_ics: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: what kind of message (password_reset, invitation, nudge…), for reports
    kind: Mapped[str] = mapped_column(String(40), default="general")
    #: the person it is for, when they have an account (None for invitations to new people)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the preference category (dap.nudges.preferences) for messages people may turn off;
    #: "" for account messages they asked for (password reset, invitation)
    category: Mapped[str] = mapped_column(String(30), default="", server_default="")
    #: when the message was meant to go (after quiet hours): the daily and weekly caps
    #: count messages by this time; None for account messages, which are never capped
    planned_at: Mapped[datetime | None]
    #: the signed one-click unsubscribe address (``List-Unsubscribe``), or ""
    unsubscribe_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, "outbox_status"),
                                                 default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: when a delivery run claimed it; a claim older than the stale limit is taken over
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    sent_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status.value}>"


class NotificationKind(enum.StrEnum):
    """What a notification is about. The first three are a patron's nudges. Each kind
    belongs to one preference category (``dap.nudges.preferences.CATEGORY_OF``)."""

    NUDGE = "nudge"
    CAJOLE = "cajole"
    ENTHUSE = "enthuse"
    NEED_HELP = "need_help"  #: to a facilitator: a participant answered a nudge "need help"
    GENERAL = "general"
    ENDORSEMENT = "endorsement"  #: a patron or facilitator endorsed a finished goal
    REVIEW_REQUESTED = "review_requested"  #: to a reviewer: please review my plan
    REVIEW_DONE = "review_done"
    GOAL_SUGGESTED = "goal_suggested"
    EVENT_INVITATION = "event_invitation"
    EVENT_CHANGED = "event_changed"
    EVENT_CANCELLED = "event_cancelled"
    EVENT_PROMOTED = "event_promoted"  #: off the waitlist: a seat is yours
    EVENT_FEEDBACK = "event_feedback"  #: how was it? (after an event)
    SUPPORT_BOOKED = "support_booked"
    SUPPORT_CANCELLED = "support_cancelled"
    SUPPORT_SLOT_FREE = "support_slot_free"  #: to someone waiting for a 1:1 slot
    EVENT_REMINDER = "event_reminder"  #: 24 hours and 1 hour before an event
    SUPPORT_REMINDER = "support_reminder"  #: 24 hours before a 1:1 session
    CHECKIN_REMINDER = "checkin_reminder"  #: at the participant's chosen rhythm
    LAST_CHANCE = "last_chance"  #: the week's target can only just still be met
    SILENT = "silent"  #: to a participant gone quiet: an encouraging word
    PATRON_ALERT = "patron_alert"  #: to a patron: someone you look out for has gone quiet
    PATRON_DIGEST = "patron_digest"  #: to a patron: Monday's summary of last week
    CHECKPOINT_OPENED = "checkpoint_opened"  #: a skills checkpoint is open to answer
    MENTION = "mention"  #: someone mentioned you in the cohort feed
    COMMENT = "comment"  #: someone commented on your post in the cohort feed
    POST_HIDDEN = "post_hidden"  #: a facilitator hid your post or comment, with the reason


class EmailState(enum.StrEnum):
    """What became of a notification's email copy (the governance's decision)."""

    NONE = "none"  #: in-app only: the person turned these emails off, or has no address
    QUEUED = "queued"  #: an email of its own is in the outbox
    DIGEST = "digest"  #: waiting for the person's next daily digest
    DIGESTED = "digested"  #: went out in a digest
    HELD = "held"  #: not emailed: the participant's plan was paused


#: the kinds a patron sends (and a participant may react to)
NUDGE_KINDS = (NotificationKind.NUDGE, NotificationKind.CAJOLE, NotificationKind.ENTHUSE)


class Reaction(enum.StrEnum):
    """A participant's one answer to a nudge (changeable)."""

    THUMBS_UP = "thumbs_up"
    ON_IT = "on_it"
    NEED_HELP = "need_help"


class Notification(db.Model):
    """One message in a person's in-app inbox (an email copy may go through the outbox).

    ``dedup_key`` is unique, so the same event notifies once however often it is reported."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The inbox, newest first.
        Index("ix_notifications_inbox", "user_id", "created_at"),
        # The header's unread count: only unread rows are indexed.
        Index("ix_notifications_unread", "user_id",
              postgresql_where=text("read_at IS NULL"), sqlite_where=text("read_at IS NULL")),
        # The patron's daily limit: what one sender sent one person.
        Index("ix_notifications_sender", "sender_id", "user_id", "created_at"),
        # The daily digest scan: only rows waiting for a digest are indexed.
        Index("ix_notifications_digest", "user_id",
              postgresql_where=text("email_state = 'digest'"),
              sqlite_where=text("email_state = 'digest'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the recipient
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "notification_kind"))
    title: Mapped[str] = mapped_column(String(120))
    #: plain text with paragraphs (escaped wherever it is shown)
    body: Mapped[str] = mapped_column(Text, default="")
    #: a relative URL inside DAP, or ""
    link: Mapped[str] = mapped_column(String(500), default="", server_default="")
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    read_at: Mapped[datetime | None]
    reaction: Mapped[Reaction | None] = mapped_column(str_enum(Reaction, "notification_reaction"))
    reacted_at: Mapped[datetime | None]
    email_state: Mapped[EmailState] = mapped_column(
        str_enum(EmailState, "notification_email_state"), default=EmailState.QUEUED,
        server_default=EmailState.QUEUED.value)
    #: past this time it is no longer worth a digest line (a reminder for an event that
    #: has started)
    expires_at: Mapped[datetime | None]

    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])

    @property
    def is_nudge(self) -> bool:
        return self.kind in NUDGE_KINDS

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind.value} to {self.user_id}>"


class MessagePreference(db.Model):
    """How a person wants one category of message by email (in-app is always on).

    No row means the category's default (``dap.nudges.preferences.DEFAULTS``)."""

    __tablename__ = "message_preferences"
    __table_args__ = (UniqueConstraint("user_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: a ``dap.nudges.preferences.Category`` value
    category: Mapped[str] = mapped_column(String(30))
    #: ``immediate``, ``daily``, ``weekly`` or ``off`` (which ones a category allows:
    #: ``dap.nudges.preferences.CHOICES``)
    delivery: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    def __repr__(self) -> str:
        return f"<MessagePreference {self.user_id} {self.category}={self.delivery}>"
