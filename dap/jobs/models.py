"""Job runs and the scheduler lease."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dap.extensions import db


class JobRun(db.Model):
    """One run of one scan: when, how long, what it did, or why it failed."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(80), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None]
    #: ok | error
    status: Mapped[str] = mapped_column(String(10), default="ok")
    #: short human summary, e.g. "sent 3, retried 1"
    result: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    #: which process ran it (scheduler lease holder, "cli", …)
    runner: Mapped[str] = mapped_column(String(120), default="")

    def __repr__(self) -> str:
        return f"<JobRun {self.job_id} {self.status}>"


class SchedulerLease(db.Model):
    """A single row naming the scheduler process allowed to run scans until ``expires_at``.
    A second scheduler process finds the lease held and waits."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime]
