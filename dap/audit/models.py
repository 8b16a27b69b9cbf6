"""The audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.extensions import db


class AuditEvent(db.Model):
    """One change worth answering "who did that, and when?" for. Rows are never edited;
    deleting an account leaves its events, attributed to the anonymised user row."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_cohort_at", "cohort_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc)
    #: who did it (None: the system, e.g. a scheduled job)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: dotted verb, e.g. ``membership.removed``, ``invitation.sent``, ``user.deleted``
    action: Mapped[str] = mapped_column(String(60))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"))
    #: the person the change was about, if any
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: small JSON object with the specifics (old and new values, counts)
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"
