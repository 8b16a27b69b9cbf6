"""What the JSON API keeps: the answers to POSTs sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dap.clock import now_utc
from dap.extensions import db


class IdempotentRequest(db.Model):
    """A POST made with an ``Idempotency-Key``: the request's fingerprint and the answer
    given. A retry with the same key and body gets the same answer and creates nothing;
    the same key with a different request is refused. Kept for a day."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_idempotent_requests_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of method, path and body
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    #: the JSON answer as sent
    body: Mapped[str] = mapped_column(Text)
    #: the answer's Location header, if it had one
    location: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    def __repr__(self) -> str:
        return f"<IdempotentRequest {self.id} user={self.user_id} {self.key!r}>"
