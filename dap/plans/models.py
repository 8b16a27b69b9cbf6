"""A participant's plan in a cohort, its goals and their check-ins, its reviews (requests,
comments on the plan and its goals, suggested library goals), and endorsements of finished
goals."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
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
    state: Mapped[PlanState] = mapped_column(str_enum(PlanState, "plan_state"),
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
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility, "goal_visibility"),
                                                   default=Visibility.PATRONS)
    status: Mapped[GoalStatus] = mapped_column(str_enum(GoalStatus, "goal_status"),
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


# --- review: asking for a review, comments, suggested goals ---------------------------------------


class ReviewStatus(enum.StrEnum):
    OPEN = "open"  #: asked, waiting for the reviewer
    DONE = "done"  #: the reviewer marked the plan reviewed
    WITHDRAWN = "withdrawn"  #: the participant took the request back


class SuggestionStatus(enum.StrEnum):
    OPEN = "open"
    ADOPTED = "adopted"  #: the goal is in the plan now
    DISMISSED = "dismissed"  #: the participant said no thanks


class PlanReview(db.Model):
    """A participant's request that someone review their plan, and its outcome. At most one
    request per plan is open at a time (a partial unique index)."""

    __tablename__ = "plan_reviews"
    __table_args__ = (
        Index("uq_plan_reviews_one_open", "plan_id", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    #: the participant, or a facilitator asking on behalf of a managed participant
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: a patron or facilitator asked by name; None means any facilitator of the cohort
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: what the participant would like feedback on (optional)
    message: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus, "review_status"),
                                                 default=ReviewStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    closed_at: Mapped[datetime | None]
    #: who marked it reviewed, or withdrew it
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the reviewer's overall comment when marking the plan reviewed
    comment: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[Plan] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    def __repr__(self) -> str:
        return f"<PlanReview {self.id} plan={self.plan_id} {self.status.value}>"


class PlanComment(db.Model):
    """A comment on a plan (``goal_id`` None) or on one of its goals, by a reviewer or by
    the participant answering. Plain text."""

    __tablename__ = "plan_comments"
    __table_args__ = (Index("ix_plan_comments_plan_goal", "plan_id", "goal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    #: the goal it is about; None for the whole plan
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goals.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    plan: Mapped[Plan] = relationship()
    goal: Mapped[PlanGoal | None] = relationship()
    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<PlanComment {self.id} plan={self.plan_id} goal={self.goal_id}>"


class GoalSuggestion(db.Model):
    """A library goal a reviewer suggests for the plan. At most one open suggestion per
    library goal and plan (a partial unique index)."""

    __tablename__ = "goal_suggestions"
    __table_args__ = (
        Index("uq_goal_suggestions_one_open", "plan_id", "library_slug", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    library_slug: Mapped[str] = mapped_column(String(120))
    suggested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: why the reviewer thinks it fits (optional)
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[SuggestionStatus] = mapped_column(
        str_enum(SuggestionStatus, "suggestion_status"), default=SuggestionStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    closed_at: Mapped[datetime | None]
    #: who dismissed it (the participant, or a facilitator for them); None when adopted
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the plan goal it became, once adopted
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goals.id"))

    plan: Mapped[Plan] = relationship()
    suggested_by: Mapped[User] = relationship(foreign_keys=[suggested_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    goal: Mapped[PlanGoal | None] = relationship()

    def __repr__(self) -> str:
        return f"<GoalSuggestion {self.id} {self.library_slug!r} {self.status.value}>"


# --- endorsements of finished goals ---------------------------------------------------------------


class GoalEndorsement(db.Model):
    """A patron's or facilitator's endorsement of a finished goal, with a short comment.
    One per person and goal: endorsing again edits the comment (see dap.plans.endorsements).
    Plain text."""

    __tablename__ = "goal_endorsements"
    __table_args__ = (UniqueConstraint("goal_id", "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the unique constraint's index starts with ``goal_id``: it serves the pages' reads too
    goal_id: Mapped[int] = mapped_column(ForeignKey("plan_goals.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: what the endorser says (may be empty; erased when its author deletes their account)
    comment: Mapped[str] = mapped_column(String(280), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: the last time the comment was edited (``created_at`` until then)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    goal: Mapped[PlanGoal] = relationship()
    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<GoalEndorsement {self.id} goal={self.goal_id} by={self.author_id}>"
