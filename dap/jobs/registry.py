"""The one list of periodic scans. Each is a module-level function taking the app and
returning a short summary; it calls the same services the views use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask


@dataclass(frozen=True)
class JobDefinition:
    id: str  #: stable id: the scheduler replaces a job of the same id
    func: Callable[[Flask], str]
    seconds: int  #: how often the scheduler runs it
    description: str


def deliver_outbox(app: Flask) -> str:
    """Send due emails from the outbox (SMTP, or .eml files without DAP_MAIL_URL)."""
    from dap.nudges.mail import transport_for
    from dap.nudges.services import deliver_due

    config = app.config
    transport = transport_for(config["MAIL_URL"], outbox_dir=Path(config["OUTBOX_DIR"]),
                              timeout=config["MAIL_TIMEOUT_SECONDS"])
    report = deliver_due(
        transport=transport, sender=config["MAIL_FROM"],
        domain=urlsplit(config["BASE_URL"]).hostname or "localhost",
        max_attempts=config["MAIL_MAX_ATTEMPTS"],
    )
    return report.summary()


def invite_event_feedback(app: Flask) -> str:
    """Invite the people who came to events that ended in the last two weeks to give
    feedback, once each (dap.events.feedback.invite_attendees)."""
    from dap.events.feedback import invite_attendees

    queued = invite_attendees(base_url=app.config["BASE_URL"])
    return f"queued {queued} feedback invitations"


#: how long job run records are kept
JOB_RUN_HISTORY = timedelta(days=30)


def prune_history(app: Flask) -> str:
    """Forget what has expired: browser sessions older than the remember-me lifetime and
    job run records older than 30 days."""
    from dap.accounts.services import prune_sessions
    from dap.jobs.runner import prune_job_runs

    sessions = prune_sessions(older_than=app.config["REMEMBER_COOKIE_DURATION"])
    runs = prune_job_runs(older_than=JOB_RUN_HISTORY)
    return f"removed {sessions} expired sessions, {runs} old job runs"


JOBS: list[JobDefinition] = [
    JobDefinition("deliver_outbox", deliver_outbox, 60, "Send due emails from the outbox"),
    JobDefinition("prune_history", prune_history, 3600,
                  "Remove expired sessions and old job records"),
    JobDefinition("event_feedback", invite_event_feedback, 900,
                  "Invite the people who came to an event to give feedback"),
]


def job_by_id(job_id: str) -> JobDefinition | None:
    return next((job for job in JOBS if job.id == job_id), None)
