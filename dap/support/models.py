"""1:1 support: facilitators' slots, participants' bookings, the waitlist for a free slot,
and what comes after a session (private notes, shared action points)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.db import str_enum
from dap.extensions import db


class SlotMode(enum.StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"


MODE_LABELS = {SlotMode.IN_PERSON: "In person", SlotMode.PHONE: "Phone",
               SlotMode.VIDEO: "Video call"}


class SlotStatus(enum.StrEnum):
    OPEN = "open"
    WITHDRAWN = "withdrawn"  #: taken back by the facilitator


class SupportSlot(db.Model):
    """A time a facilitator offers for one 1:1 session in a cohort. Slots published together
    from one block share a ``block_id``."""

    __tablename__ = "support_slots"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("book_until_minutes >= 0 AND cancel_until_minutes >= 0",
                        name="cut_offs_not_negative"),
        Index("ix_support_slots_facilitator_start", "facilitator_id", "starts_at"),
        Index("ix_support_slots_cohort_start", "cohort_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"))
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    mode: Mapped[SlotMode] = mapped_column(str_enum(SlotMode, "slot_mode"))
    #: where (in person), or a note on how the call happens (phone)
    place: Mapped[str] = mapped_column(String(300), default="")
    #: the video call's address: shown only to the person booked
    join_url: Mapped[str] = mapped_column(String(500), default="")
    #: booking closes this many minutes before the start
    book_until_minutes: Mapped[int] = mapped_column(default=60)
    #: participants may cancel until this many minutes before the start
    cancel_until_minutes: Mapped[int] = mapped_column(default=120)
    block_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[SlotStatus] = mapped_column(str_enum(SlotStatus, "slot_status"),
                                               default=SlotStatus.OPEN)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")
    #: iCalendar: one UID for life, a sequence that goes up with every change
    uid: Mapped[str] = mapped_column(String(80), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    cohort: Mapped[Cohort] = relationship()
    facilitator: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<SupportSlot {self.id} {self.starts_at:%Y-%m-%d %H:%M} {self.status.value}>"

    @property
    def is_withdrawn(self) -> bool:
        return self.status is SlotStatus.WITHDRAWN

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class BookingStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class SupportBooking(db.Model):
    """A participant's booking of a slot. At most one booking of a slot is ``booked`` at a
    time: a partial unique index says so to the database, so two people booking the same
    slot at the same moment cannot both have it."""

    __tablename__ = "support_bookings"
    __table_args__ = (
        Index("uq_support_bookings_one_per_slot", "slot_id", unique=True,
              postgresql_where=text("status = 'booked'"),
              sqlite_where=text("status = 'booked'")),
        Index("ix_support_bookings_participant", "participant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("support_slots.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: "what I'd like help with"
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus, "booking_status"),
                                                  default=BookingStatus.BOOKED)
    #: who booked: the participant, or a facilitator for a managed participant
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the facilitator's message when they cancelled
    cancel_message: Mapped[str] = mapped_column(Text, default="")

    slot: Mapped[SupportSlot] = relationship()
    participant: Mapped[User] = relationship(foreign_keys=[participant_id])
    booked_by: Mapped[User | None] = relationship(foreign_keys=[booked_by_id])

    @property
    def is_active(self) -> bool:
        return self.status is BookingStatus.BOOKED


class SupportWaiter(db.Model):
    """A participant waiting to be told when a slot frees up or new slots open, first come
    first served. Told once (``notified_at``), then off the list."""

    __tablename__ = "support_waitlist"
    __table_args__ = (
        Index("uq_support_waitlist_waiting", "cohort_id", "participant_id", unique=True,
              postgresql_where=text("notified_at IS NULL"),
              sqlite_where=text("notified_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    notified_at: Mapped[datetime | None]


class SessionNotes(db.Model):
    """The facilitator's private notes on a session: never shown to the participant or
    their patrons."""

    __tablename__ = "support_notes"
    __table_args__ = (UniqueConstraint("booking_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("support_bookings.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ActionPoint(db.Model):
    """Something agreed in a session, shared with the participant (and with their patrons
    when the participant allows). It can become a goal in their plan."""

    __tablename__ = "support_action_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("support_bookings.id", ondelete="CASCADE"),
                                            index=True)
    text: Mapped[str] = mapped_column(String(300))
    shared_with_patrons: Mapped[bool] = mapped_column(default=False)
    #: the plan goal it became, if it did
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goals.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
