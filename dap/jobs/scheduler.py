"""APScheduler wiring: every registered scan runs only while this process holds the lease.

Never started inside gunicorn workers (each would run every job). In production run
``flask --app dap scheduler`` as its own process; ``DAP_SCHEDULER=inprocess`` starts a
background scheduler inside the development server only.
"""

from __future__ import annotations

import atexit
import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from dap.jobs import registry
from dap.jobs.registry import JobDefinition
from dap.jobs.runner import acquire_lease, process_name, release_lease, run_job

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=90)
LEASE_RENEW_SECONDS = 30

_started: BackgroundScheduler | None = None


def _run_if_leader(app: Flask, job: JobDefinition, holder: str) -> None:
    with app.app_context():
        leader = acquire_lease(holder, ttl=LEASE_TTL)
    if not leader:
        log.debug("job %s skipped: another scheduler holds the lease", job.id)
        return
    run_job(app, job, runner=holder)


def _renew(app: Flask, holder: str) -> None:
    with app.app_context():
        if not acquire_lease(holder, ttl=LEASE_TTL):
            log.info("scheduler lease held by another process; waiting")


def configure(scheduler: BaseScheduler, app: Flask, holder: str) -> BaseScheduler:
    """Register every scan under its stable id (replacing a previous one), coalescing
    missed runs and never running one scan twice at once."""
    scheduler.add_job(_renew, "interval", seconds=LEASE_RENEW_SECONDS, args=[app, holder],
                      id="lease", replace_existing=True, coalesce=True, max_instances=1)
    for job in registry.JOBS:
        scheduler.add_job(
            _run_if_leader, "interval", seconds=job.seconds, args=[app, job, holder],
            id=job.id, name=job.description, replace_existing=True, coalesce=True,
            max_instances=1, misfire_grace_time=job.seconds,
        )
    return scheduler


def _shutdown(app: Flask, scheduler: BaseScheduler, holder: str) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=False)
    try:
        with app.app_context():
            release_lease(holder)
    except Exception:  # noqa: BLE001 - best effort at exit; the lease expires anyway
        log.debug("could not release scheduler lease", exc_info=True)


def start_background_scheduler(app: Flask) -> BackgroundScheduler:
    """Start once per process (the development server's serving process)."""
    global _started  # noqa: PLW0603 - one scheduler per process
    if _started is not None:
        return _started
    holder = process_name("dev-server")
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    configure(scheduler, app, holder)
    scheduler.start()
    atexit.register(_shutdown, app, scheduler, holder)
    _started = scheduler
    log.info("in-process scheduler started (%s)", holder)
    return scheduler


def run_blocking(app: Flask) -> None:
    """``flask --app dap scheduler``: run scans in the foreground until interrupted."""
    holder = process_name("scheduler")
    scheduler = BlockingScheduler(timezone="UTC")
    configure(scheduler, app, holder)
    log.info("scheduler started (%s); jobs: %s", holder, ", ".join(j.id for j in registry.JOBS))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        _shutdown(app, scheduler, holder)
