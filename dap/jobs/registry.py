"""The one list of periodic scans. Each is a module-level function taking the app and
returning a short summary; it calls the same services the views use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


JOBS: list[JobDefinition] = [
    JobDefinition("deliver_outbox", deliver_outbox, 60, "Send due emails from the outbox"),
]


def job_by_id(job_id: str) -> JobDefinition | None:
    return next((job for job in JOBS if job.id == job_id), None)
