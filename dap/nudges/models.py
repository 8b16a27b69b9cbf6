"""The email outbox: every message is a row before it is sent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

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
