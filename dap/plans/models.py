"""A participant's plan in a cohort, its goals and their check-ins."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.extensions import db


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e])


class PlanState(enum.StrEnum):
    """A plan's review state: drafted by the participant, reviewed by a patron or
    facilitator, then active."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    ACTIVE = "active"


class GoalStatus(enum.StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    DONE = "done"
    DROPPED = "dropped"


class Visibility(enum.StrEnum):
    """Who besides the participant and the cohort's facilitators sees a goal."""

    PATRONS = "patrons"  #: the participant's patrons (the default)
    COHORT = "cohort"  #: everyone in the cohort
    PRIVATE = "private"  #: only me (and facilitators, who run the programme)


class Plan(db.Model):
    """One participant's Digital Action Plan in one cohort."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("cohort_id", "participant_id"),
        CheckConstraint("days_per_week BETWEEN 1 AND 7", name="days_per_week_1_to_7"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[PlanState] = mapped_column(_enum(PlanState, "plan_state"),
                                             default=PlanState.DRAFT)
    #: the participant's target: days a week with at least one check-in
    days_per_week: Mapped[int] = mapped_column(default=2)
    #: the rhythm reminders use: weekday numbers (0 = Monday) and a local time "HH:MM"
    rhythm_days: Mapped[list] = mapped_column(JSON, default=list)
    rhythm_time: Mapped[str] = mapped_column(String(5), default="")
    rhythm_minutes: Mapped[int] = mapped_column(default=15)
    #: a pause without penalty: no reminders or silence alerts, streak kept
    paused_from: Mapped[date | None]
    paused_until: Mapped[date | None]
    pause_reason: Mapped[str] = mapped_column(String(200), default="")
    #: who paused it: the participant, or a facilitator for them
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    cohort: Mapped[Cohort] = relationship()
    participant: Mapped[User] = relationship(foreign_keys=[participant_id])
    paused_by: Mapped[User | None] = relationship(foreign_keys=[paused_by_id])
    goals: Mapped[list[PlanGoal]] = relationship(
        back_populates="plan", order_by="PlanGoal.position, PlanGoal.id"
    )

    def __repr__(self) -> str:
        return f"<Plan {self.id} user={self.participant_id} cohort={self.cohort_id}>"


class PlanGoal(db.Model):
    """A goal in a plan: adopted from the library (``library_slug``) or written by the
    participant. ``created_by_id`` differs from the participant when a facilitator
    recorded it on their behalf."""

    __tablename__ = "plan_goals"
    __table_args__ = (
        UniqueConstraint("plan_id", "library_slug"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_0_to_100"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    #: the library goal it came from; None for the participant's own goals
    library_slug: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(160))
    #: what the participant needs from it, in their words
    why: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date | None]
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "goal_visibility"),
                                                   default=Visibility.PATRONS)
    status: Mapped[GoalStatus] = mapped_column(_enum(GoalStatus, "goal_status"),
                                               default=GoalStatus.ACTIVE)
    drop_reason: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
    #: the latest progress reported (0–100)
    progress: Mapped[int] = mapped_column(default=0)
    reflection: Mapped[str] = mapped_column(Text, default="")
    #: evidence links given when marking it done: [{"url": …, "label": …}]
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    done_at: Mapped[datetime | None]
    #: who marked it done: the participant, or a facilitator on their behalf
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    plan: Mapped[Plan] = relationship(back_populates="goals")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    def __repr__(self) -> str:
        return f"<PlanGoal {self.id} {self.title!r} {self.status.value}>"


class CheckIn(db.Model):
    """A little-and-often update on a goal: progress, minutes spent trying things on the
    web (web time for the cap), a short note. Editable for 24 hours."""

    __tablename__ = "check_ins"
    __table_args__ = (
        CheckConstraint("progress IS NULL OR progress BETWEEN 0 AND 100",
                        name="progress_0_to_100"),
        CheckConstraint("minutes IS NULL OR minutes BETWEEN 1 AND 600", name="minutes_1_to_600"),
        Index("ix_check_ins_plan_day", "plan_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("plan_goals.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: the day it happened in the cohort's time zone (weeks and streaks count these)
    local_date: Mapped[date]
    progress: Mapped[int | None]
    minutes: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None]

    goal: Mapped[PlanGoal] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CheckIn {self.id} goal={self.goal_id}>"
