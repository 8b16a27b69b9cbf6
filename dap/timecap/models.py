"""Platform time per participant per day, and the web time they log."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.db import str_enum
from dap.extensions import db


class PlatformDay(db.Model):
    """Seconds a participant spent on DAP on one day (in their cohort's time zone), from
    heartbeats. ``last_beat`` is the time of the latest beat in whole seconds since the
    epoch: the next beat adds the gap since it (at most 60 s, nothing after 90 s) in one
    atomic statement (dap.timecap.services.beat)."""

    __tablename__ = "platform_days"
    __table_args__ = (CheckConstraint("seconds >= 0", name="seconds_non_negative"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    seconds: Mapped[int] = mapped_column(default=0)
    last_beat: Mapped[int] = mapped_column(BigInteger)

    def __repr__(self) -> str:
        return f"<PlatformDay {self.user_id} {self.day} {self.seconds}s>"


class ActivityKind(enum.StrEnum):
    """What a participant did on the wider web."""

    READ = "read"
    TRIED = "tried"  #: tried a tool
    MADE = "made"  #: made something
    SHARED = "shared"
    JOINED = "joined"  #: joined a conversation
    OTHER = "other"


ACTIVITY_LABELS = {
    ActivityKind.READ: "Read something",
    ActivityKind.TRIED: "Tried a tool",
    ActivityKind.MADE: "Made something",
    ActivityKind.SHARED: "Shared something",
    ActivityKind.JOINED: "Joined a conversation",
    ActivityKind.OTHER: "Something else",
}


class WebActivity(db.Model):
    """Time a participant spent learning on the wider web, logged by them (or by a
    facilitator for a managed participant). Counts as web time for the cap."""

    __tablename__ = "web_activities"
    __table_args__ = (
        CheckConstraint("minutes BETWEEN 1 AND 600", name="minutes_1_to_600"),
        Index("ix_web_activities_user_day", "user_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind, "activity_kind"))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")
    minutes: Mapped[int]
    #: the plan goal it served, if any
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goals.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    #: the day it happened, in the cohort's time zone
    local_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    cohort: Mapped[Cohort] = relationship()

    def __repr__(self) -> str:
        return f"<WebActivity {self.id} {self.minutes} min {self.title!r}>"
