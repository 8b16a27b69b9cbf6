"""Checkpoints, the assessments people make at them, and their ratings and answers.

A cohort has at most one checkpoint of each kind. The baseline checkpoint exists from the
start (made when first needed); a facilitator opens the mid-point and final ones. An
assessment is one participant's answers at one checkpoint: ratings of the statements in
``content/baseline.md`` (1 to 5) and answers to its open questions, stored against the
ids in that file, saved page by page and submitted once every statement is rated.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.db import str_enum
from dap.extensions import db


class CheckpointKind(enum.StrEnum):
    BASELINE = "baseline"
    MIDPOINT = "midpoint"
    FINAL = "final"


#: the order checkpoints come in, and their names on pages
KIND_ORDER = (CheckpointKind.BASELINE, CheckpointKind.MIDPOINT, CheckpointKind.FINAL)
KIND_LABELS = {
    CheckpointKind.BASELINE: "Baseline",
    CheckpointKind.MIDPOINT: "Mid-point checkpoint",
    CheckpointKind.FINAL: "Final checkpoint",
}


class Checkpoint(db.Model):
    """A moment at which the cohort's participants rate themselves. Open from ``opened_at``
    until a facilitator closes it (``closed_at``) or its closing time passes (``closes_at``,
    optional); answers may be changed while it is open."""

    __tablename__ = "baseline_checkpoints"
    __table_args__ = (UniqueConstraint("cohort_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    kind: Mapped[CheckpointKind] = mapped_column(str_enum(CheckpointKind, "checkpoint_kind"))
    opened_at: Mapped[datetime] = mapped_column(default=now_utc)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: an optional closing time set when opening (answers are refused from this instant)
    closes_at: Mapped[datetime | None]
    #: closed by hand (reopening clears it)
    closed_at: Mapped[datetime | None]

    cohort: Mapped[Cohort] = relationship()

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and (self.closes_at is None or now < self.closes_at)

    def ended_at(self, now: datetime) -> datetime | None:
        """When it closed, or None while open."""
        if self.closed_at is not None:
            return self.closed_at
        if self.closes_at is not None and now >= self.closes_at:
            return self.closes_at
        return None

    def __repr__(self) -> str:
        return f"<Checkpoint {self.id} {self.kind.value}@{self.cohort_id}>"


class Assessment(db.Model):
    """One participant's self-assessment at one checkpoint."""

    __tablename__ = "baseline_assessments"
    __table_args__ = (UniqueConstraint("checkpoint_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("baseline_checkpoints.id"), index=True)
    #: the checkpoint's cohort, kept here so reports filter without a join
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: a facilitator who recorded it for a managed participant (else None)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, server_default=func.now())
    #: every statement rated and sent; later changes (while open) keep it submitted
    submitted_at: Mapped[datetime | None]

    checkpoint: Mapped[Checkpoint] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class Rating(db.Model):
    """How someone rates themselves against one statement, 1 to 5."""

    __tablename__ = "baseline_ratings"
    __table_args__ = (CheckConstraint("value BETWEEN 1 AND 5", name="value_1_to_5"),)

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("baseline_assessments.id", ondelete="CASCADE"), primary_key=True)
    #: the statement's id in content/baseline.md
    statement_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    #: the statement's skill area (the id's prefix), for reports by area
    area: Mapped[str] = mapped_column(String(80))
    value: Mapped[int] = mapped_column(SmallInteger)


class Answer(db.Model):
    """An answer to one open question: text, picked choices, or both."""

    __tablename__ = "baseline_answers"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("baseline_assessments.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    #: the picked choices' ids, space-separated, in the file's order
    choices: Mapped[str] = mapped_column(String(1000), default="")

    @property
    def choice_ids(self) -> list[str]:
        return self.choices.split()
