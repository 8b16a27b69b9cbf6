"""Outgoing webhooks: a cohort's subscriptions and the outbox of their deliveries."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.db import str_enum
from dap.extensions import db


class WebhookSubscription(db.Model):
    """An organisation's tool listening to some of a cohort's events at one https address.

    The secret signs every payload (``dap.webhooks.signing``), so it is stored as it is:
    DAP needs it to sign, and the cohort's managers need to read it to verify."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"),
                                           index=True)
    url: Mapped[str] = mapped_column(String(500))
    #: 32 random bytes as hex; the HMAC key is this text's ASCII bytes
    secret: Mapped[str] = mapped_column(String(64))
    #: the event type names it listens to (``dap.webhooks.services.EVENT_TYPES``)
    events: Mapped[list] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: when it was last turned off (by a manager, or automatically after failures)
    disabled_at: Mapped[datetime | None]
    #: why it is off, in words for the page ("" while active)
    disabled_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")

    created_by: Mapped[User | None] = relationship()
    cohort: Mapped[Cohort] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookSubscription {self.id} cohort={self.cohort_id} active={self.is_active}>"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting for its ``next_attempt_at``
    SENDING = "sending"  #: claimed by one delivery run (the outbox's claim pattern)
    DELIVERED = "delivered"  #: the receiver answered 2xx
    FAILED = "failed"  #: gave up after the last attempt


class WebhookDelivery(db.Model):
    """One event for one subscription: the outbox row and its delivery log line.

    ``payload`` is the exact body sent on every attempt; ``event_id`` names the event (the
    ``DAP-Webhook-Id`` header and the payload's ``id``), the same on every retry, so a
    receiver can drop a repeat."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        # The delivery scan (due pending rows) and the retention sweep (finished rows by
        # the time of their last attempt).
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # A subscription's log, newest first.
        Index("ix_webhook_deliveries_log", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    #: uuid4 hex, shared by every subscription that got the same event
    event_id: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, "webhook_status"),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    #: when the next attempt is due; once finished, when the last attempt was made
    next_attempt_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: when a delivery run claimed it; a claim older than the stale limit is taken over
    claimed_at: Mapped[datetime | None]
    #: the receiver's HTTP status on the last attempt (None: no answer)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    delivered_at: Mapped[datetime | None]
    #: how long the last attempt took
    duration_ms: Mapped[int | None]

    subscription: Mapped[WebhookSubscription] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event_type} {self.status.value}>"
