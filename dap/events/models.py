"""A cohort's events and the answers of the people invited to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.db import str_enum
from dap.extensions import db


class EventKind(enum.StrEnum):
    KICK_OFF = "kick_off"
    WORKSHOP = "workshop"
    CONVERSATION = "conversation"
    MEET_UP = "meet_up"
    WEBINAR = "webinar"


KIND_LABELS = {
    EventKind.KICK_OFF: "Kick-off",
    EventKind.WORKSHOP: "Workshop",
    EventKind.CONVERSATION: "Conversation",
    EventKind.MEET_UP: "Meet-up",
    EventKind.WEBINAR: "Webinar",
}


class EventMode(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


MODE_LABELS = {
    EventMode.IN_PERSON: "In person",
    EventMode.ONLINE: "Online",
    EventMode.HYBRID: "In person and online",
}


class EventStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Event(db.Model):
    """One event of a cohort. Times are stored in UTC and shown in the cohort's time zone;
    events of a repeating series share ``series_id``. ``uid`` and ``sequence`` are the
    calendar identity: ``sequence`` goes up on every change a calendar must see."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("sequence >= 0", name="sequence_non_negative"),
        Index("ix_events_cohort_starts", "cohort_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"))
    #: shared by the events scheduled together as a series; None for a single event
    series_id: Mapped[str | None] = mapped_column(String(32), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, "event_kind"))
    title: Mapped[str] = mapped_column(String(160))
    #: Markdown, rendered then sanitised on display
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    mode: Mapped[EventMode] = mapped_column(str_enum(EventMode, "event_mode"))
    venue: Mapped[str] = mapped_column(String(160), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    #: shown only to people going (and the cohort's facilitators)
    join_url: Mapped[str] = mapped_column(String(500), default="")
    #: seats; None: no limit
    capacity: Mapped[int | None]
    #: answers close at this moment; None: when the event starts
    rsvp_deadline: Mapped[datetime | None]
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus, "event_status"),
                                                default=EventStatus.SCHEDULED)
    #: the calendar identity (RFC 5545 UID), stable for the life of the event
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    cohort: Mapped[Cohort] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.kind.value} {self.title!r}>"

    @property
    def is_cancelled(self) -> bool:
        return self.status is EventStatus.CANCELLED


class RsvpStatus(enum.StrEnum):
    GOING = "going"
    WAITLISTED = "waitlisted"
    DECLINED = "declined"  #: can't go


class Rsvp(db.Model):
    """A person's answer to an event: one row per person and event. The waitlist is in
    ``waitlisted_at`` order (first come, first served)."""

    __tablename__ = "event_rsvps"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),  # one answer per person
        Index("ix_event_rsvps_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[RsvpStatus] = mapped_column(str_enum(RsvpStatus, "rsvp_status"))
    #: when they joined the waitlist (its order); None when they never waited
    waitlisted_at: Mapped[datetime | None]
    #: when a freed seat went to them from the waitlist
    promoted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    event: Mapped[Event] = relationship()
    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Rsvp {self.event_id} {self.user_id} {self.status.value}>"


class EventInvitation(db.Model):
    """Someone emailed an invitation with a calendar entry (``METHOD:REQUEST``): their
    calendar holds the event, so changes and a cancellation reach them too, unless they
    said they can't go."""

    __tablename__ = "event_invitations"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sent_at: Mapped[datetime] = mapped_column(default=now_utc)


class CalendarFeed(db.Model):
    """A person's calendar feed: a secret address that calendar apps poll. Only the token's
    SHA-256 is stored; making a new one replaces it, so the old address stops working."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_used_at: Mapped[datetime | None]


class AttendanceMark(enum.StrEnum):
    ATTENDED = "attended"
    PARTLY = "partly"  #: came for part of it
    NO_SHOW = "no_show"
    WALK_IN = "walk_in"  #: came without having said "going"


MARK_LABELS = {
    AttendanceMark.ATTENDED: "Attended",
    AttendanceMark.PARTLY: "Partly",
    AttendanceMark.NO_SHOW: "No-show",
    AttendanceMark.WALK_IN: "Walk-in",
}

#: the marks that mean someone was there: offline activity (insights, silent status)
PRESENT_MARKS = (AttendanceMark.ATTENDED, AttendanceMark.PARTLY, AttendanceMark.WALK_IN)


class Attendance(db.Model):
    """Who came to an event, as the facilitator marked it at the door. Counts as offline
    activity (insights, silent status)."""

    __tablename__ = "event_attendance"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mark: Mapped[AttendanceMark] = mapped_column(str_enum(AttendanceMark, "attendance_mark"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class EventFeedback(db.Model):
    """What someone who came thought of an event: how useful it was (1 to 5) and, in their
    own words, what worked and what to change. One per person and event, editable for two
    weeks after the end. Shown to the facilitators without names."""

    __tablename__ = "event_feedback"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),  # one answer per person, changed in place
        CheckConstraint("usefulness >= 1 AND usefulness <= 5", name="usefulness_1_to_5"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: 1 "Not useful" … 5 "Very useful"
    usefulness: Mapped[int]
    what_worked: Mapped[str] = mapped_column(Text, default="")
    what_to_change: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    def __repr__(self) -> str:
        return f"<EventFeedback {self.event_id} {self.user_id} {self.usefulness}>"


class RecapNote(db.Model):
    """One person's notes on an event after it (Markdown): the facilitator's recap, or a
    participant's own. One per person and event, changed in place."""

    __tablename__ = "event_recap_notes"
    __table_args__ = (UniqueConstraint("event_id", "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    author: Mapped[User] = relationship()


class EventPhoto(db.Model):
    """A photo of an event, cleaned (dap.media.images) and kept on disk under ``key``: the
    photo (``<key>.<ext>``) and its thumbnail (``<key>.thumb.<ext>``)."""

    __tablename__ = "event_photos"
    __table_args__ = (Index("ix_event_photos_event", "event_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    #: jpeg, png or webp
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int]
    height: Mapped[int]
    thumb_width: Mapped[int]
    thumb_height: Mapped[int]
    size_bytes: Mapped[int]
    #: what the photo shows, for people who cannot see it (alt text)
    caption: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    uploaded_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<EventPhoto {self.id} event={self.event_id} {self.format}>"
