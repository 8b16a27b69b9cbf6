"""Running scans: each in its own app context, each run recorded as a JobRun row."""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from datetime import timedelta

from flask import Flask
from sqlalchemy import delete, func, select, update

from dap.clock import now_utc
from dap.db import insert_for
from dap.extensions import db
from dap.jobs import registry
from dap.jobs.models import JobRun, SchedulerLease
from dap.jobs.registry import JobDefinition

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"


def process_name(kind: str) -> str:
    """A name for this process in job runs and the lease: kind, host and pid."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"[:120]


def run_job(app: Flask, job: JobDefinition, *, runner: str) -> JobRun:
    """Run one scan and record it. Errors are recorded, logged and not raised, so one
    failing scan never stops the others."""
    with app.app_context():
        started = now_utc()
        clock = time.perf_counter()
        status, result, error = "ok", "", ""
        try:
            result = job.func(app) or ""
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - recorded on the run row
            db.session.rollback()
            status, error = "error", "".join(traceback.format_exception_only(exc)).strip()
            log.exception("job %s failed", job.id)
        run = JobRun(
            job_id=job.id, started_at=started, finished_at=now_utc(),
            duration_ms=int((time.perf_counter() - clock) * 1000), status=status,
            result=result[:2000], error=error[:4000], runner=runner,
        )
        db.session.add(run)
        db.session.commit()
        db.session.refresh(run)
        db.session.expunge(run)
        return run


def run_due(app: Flask, *, runner: str) -> list[JobRun]:
    """One pass of every registered scan (``flask --app dap jobs run-due``). Safe to run
    twice or concurrently: each scan claims its rows before acting on them. The registry is
    read at call time, so it is the one list that decides what runs."""
    return [run_job(app, job, runner=runner) for job in registry.JOBS]


def latest_runs() -> dict[str, JobRun]:
    """The most recent run of each job id (one query)."""
    newest = (
        select(JobRun.job_id, func.max(JobRun.id).label("id")).group_by(JobRun.job_id).subquery()
    )
    rows = db.session.scalars(select(JobRun).join(newest, JobRun.id == newest.c.id)).all()
    return {row.job_id: row for row in rows}


def prune_job_runs(*, older_than: timedelta) -> int:
    """Delete run records that started more than ``older_than`` ago; returns how many."""
    result = db.session.execute(delete(JobRun).where(JobRun.started_at < now_utc() - older_than))
    return result.rowcount or 0


def acquire_lease(holder: str, *, ttl: timedelta) -> bool:
    """Take or renew the scheduler lease for ``holder``; False while another live process
    holds it. One atomic UPDATE, or an INSERT that does nothing on conflict."""
    now = now_utc()
    expires = now + ttl
    result = db.session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME,
               (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now))
        .values(holder=holder, expires_at=expires)
    )
    if result.rowcount == 1:
        db.session.commit()
        return True
    insert = insert_for(db.session)
    # RETURNING, not rowcount, tells whether the row was stored (psycopg can report -1).
    inserted = db.session.execute(
        insert(SchedulerLease)
        .values(name=LEASE_NAME, holder=holder, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(SchedulerLease.name)
    ).scalar_one_or_none()
    db.session.commit()
    return inserted is not None


def release_lease(holder: str) -> None:
    """Give the lease up on a clean shutdown so another scheduler can start at once."""
    db.session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
        .values(expires_at=now_utc() - timedelta(seconds=1))
    )
    db.session.commit()
