"""The one list of periodic scans. Each is a module-level function taking the app and
returning a short summary; it calls the same services the views use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from dap.webhooks.jobs import deliver_webhooks


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
        max_attempts=config["MAIL_MAX_ATTEMPTS"], seconds=config["MAIL_RUN_SECONDS"],
    )
    return report.summary()


def invite_event_feedback(app: Flask) -> str:
    """Invite the people who came to events that ended in the last two weeks to give
    feedback, once each (dap.events.feedback.invite_attendees)."""
    from dap.events.feedback import invite_attendees

    queued = invite_attendees(base_url=app.config["BASE_URL"])
    return f"queued {queued} feedback invitations"


def daily_digests(app: Flask) -> str:
    """From 08:00 in each person's time zone, one digest of what waited for it
    (dap.nudges.digests)."""
    from dap.clock import now_utc
    from dap.nudges.digests import send_daily_digests

    return f"queued {send_daily_digests(now=now_utc())} daily digests"


def checkin_reminders(app: Flask) -> str:
    """Check-in reminders at each participant's rhythm, and the week's last-chance message
    (dap.plans.reminders)."""
    from dap.clock import now_utc
    from dap.plans.reminders import remind_check_ins

    return f"sent {remind_check_ins(now=now_utc(), base_url=app.config['BASE_URL'])} reminders"


def silent_participants(app: Flask) -> str:
    """Notice participants gone quiet: one message to them and their patrons per episode
    (dap.insights.silence)."""
    from dap.clock import now_utc
    from dap.insights.silence import notice_silences

    found = notice_silences(now=now_utc(), base_url=app.config["BASE_URL"])
    return f"noticed {found} participants gone quiet"


def patron_summaries(app: Flask) -> str:
    """Monday 08:00 in each cohort's time zone: the patrons' summary of last week
    (dap.plans.patron_digest)."""
    from dap.clock import now_utc
    from dap.plans.patron_digest import send_patron_summaries

    sent = send_patron_summaries(now=now_utc(), base_url=app.config["BASE_URL"])
    return f"sent {sent} patron summaries"


def event_reminders(app: Flask) -> str:
    """Remind the people going to an event a day and an hour before it
    (dap.events.reminders)."""
    from dap.clock import now_utc
    from dap.events.reminders import remind_event_goers

    sent = remind_event_goers(now=now_utc(), base_url=app.config["BASE_URL"])
    return f"sent {sent} event reminders"


def support_reminders(app: Flask) -> str:
    """Remind both sides of a 1:1 session a day before it (dap.support.reminders)."""
    from dap.clock import now_utc
    from dap.support.reminders import remind_support_sessions

    sent = remind_support_sessions(now=now_utc(), base_url=app.config["BASE_URL"])
    return f"sent {sent} 1:1 reminders"


#: how long job run records are kept
JOB_RUN_HISTORY = timedelta(days=30)


def prune_history(app: Flask) -> str:
    """Forget what has expired: browser sessions older than the remember-me lifetime, job
    run records older than 30 days and API idempotency keys older than a day."""
    from dap.accounts.services import prune_sessions
    from dap.api.idempotency import prune as prune_idempotency_keys
    from dap.jobs.runner import prune_job_runs

    sessions = prune_sessions(older_than=app.config["REMEMBER_COOKIE_DURATION"])
    runs = prune_job_runs(older_than=JOB_RUN_HISTORY)
    keys = prune_idempotency_keys()
    return (f"removed {sessions} expired sessions, {runs} old job runs, {keys} old "
            "idempotency keys")


#: in the order one pass runs them: the scans that queue messages, then the daily digest
#: (which gathers what they folded into it), then delivery, so that one ``jobs run-due``
#: sends what it queued; housekeeping last
JOBS: list[JobDefinition] = [
    JobDefinition("event_reminders", event_reminders, 300,
                  "Remind the people going to an event a day and an hour before"),
    JobDefinition("support_reminders", support_reminders, 300,
                  "Remind participant and facilitator a day before a 1:1 session"),
    JobDefinition("checkin_reminders", checkin_reminders, 300,
                  "Remind participants to check in at their rhythm; last-chance messages"),
    JobDefinition("silent_participants", silent_participants, 900,
                  "Notice participants gone quiet and tell them and their patrons"),
    JobDefinition("patron_summaries", patron_summaries, 300,
                  "Send patrons their Monday summary of last week"),
    JobDefinition("event_feedback", invite_event_feedback, 900,
                  "Invite the people who came to an event to give feedback"),
    JobDefinition("daily_digests", daily_digests, 300,
                  "Send each person's daily digest from 08:00 their time"),
    JobDefinition("deliver_outbox", deliver_outbox, 60, "Send due emails from the outbox"),
    JobDefinition("deliver_webhooks", deliver_webhooks, 60,
                  "Post due webhook deliveries to cohorts' subscribers (signed, with retries)"),
    JobDefinition("prune_history", prune_history, 3600,
                  "Remove expired sessions, old job records and old idempotency keys"),
]


def job_by_id(job_id: str) -> JobDefinition | None:
    return next((job for job in JOBS if job.id == job_id), None)
