"""Outbox rules: queue an email once per dedup key; deliver due emails with retry and backoff."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import render_template
from sqlalchemy import and_, or_, select, update

from dap.clock import now_utc
from dap.db import insert_for
from dap.extensions import db
from dap.nudges.mail import Transport, build_message
from dap.nudges.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

#: a claim older than this is taken to belong to a crashed run and is taken over
STALE_CLAIM = timedelta(minutes=10)
#: base and ceiling of the exponential backoff between attempts
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)


def queue_email(
    *, to: str, subject: str, template: str, context: dict, dedup_key: str, kind: str,
    send_after: datetime | None = None, calendar_ics: str = "",
) -> bool:
    """Render ``templates/email/<template>.txt`` and ``.html`` and store the message, with
    ``calendar_ics`` (an iCalendar invitation, see dap.events.calendar.invitation) when
    given.

    One atomic ``INSERT … ON CONFLICT DO NOTHING``: a second call with the same ``dedup_key``
    (from a retried scan or a second scheduler process) stores nothing. Returns whether a
    new row was stored. Flushes; the caller commits.
    """
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    now = now_utc()
    values = {
        "dedup_key": dedup_key[:200],
        "to_addr": to,
        "subject": subject[:250],
        "body_text": text,
        "body_html": html,
        "calendar_ics": calendar_ics,
        "kind": kind,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": send_after or now,
        "last_error": "",
        "created_at": now,
    }
    insert = insert_for(db.session)
    stmt = (
        insert(OutboxMessage).values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(OutboxMessage.id)
    )
    # RETURNING, not rowcount: with psycopg the insert's rowcount is -1 (truthy) whether
    # or not a row was stored.
    stored = db.session.execute(stmt).scalar_one_or_none() is not None
    if not stored:
        log.info("email %s already queued; not stored again", dedup_key)
    return stored


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 1, 2, 4 … minutes, at most six hours.

    The exponent is capped first: ``timedelta * 2**n`` overflows for n in the high thirties,
    and a high ``MAIL_MAX_ATTEMPTS`` must not crash a delivery run."""
    doublings = min(max(attempts - 1, 0), 20)  # 2**20 minutes is far past the ceiling
    return min(BACKOFF_BASE * (2 ** doublings), BACKOFF_MAX)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"sent {self.sent}, will retry {self.retried}, gave up {self.failed}"


def _claim(message_id: int, now: datetime) -> bool:
    """Atomically claim one due message; False when another run got it first."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            or_(
                and_(OutboxMessage.status == OutboxStatus.PENDING,
                     OutboxMessage.next_attempt_at <= now),
                and_(OutboxMessage.status == OutboxStatus.SENDING,
                     OutboxMessage.claimed_at < now - STALE_CLAIM),
            ),
        )
        .values(status=OutboxStatus.SENDING, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_due(
    *, transport: Transport, sender: str, domain: str, max_attempts: int, limit: int = 200
) -> DeliveryReport:
    """Send every due message, each claimed first so concurrent runs never send twice.

    A failure keeps the message, counts the attempt and schedules the next one with
    exponential backoff; after ``max_attempts`` it is marked failed. Commits per message,
    so a crash mid-run loses nothing already sent or recorded.
    """
    report = DeliveryReport()
    now = now_utc()
    due_ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            or_(
                and_(OutboxMessage.status == OutboxStatus.PENDING,
                     OutboxMessage.next_attempt_at <= now),
                and_(OutboxMessage.status == OutboxStatus.SENDING,
                     OutboxMessage.claimed_at < now - STALE_CLAIM),
            )
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    for message_id in due_ids:
        if not _claim(message_id, now):
            continue
        row = db.session.get(OutboxMessage, message_id)
        if row is None:  # pragma: no cover - deleted between claim and load
            continue
        try:
            transport.send(build_message(
                sender=sender, to=row.to_addr, subject=row.subject, text=row.body_text,
                html=row.body_html, outbox_id=row.id, dedup_key=row.dedup_key,
                domain=domain, calendar_ics=row.calendar_ics,
            ))
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried later
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.claimed_at = None
            if row.attempts >= max_attempts:
                row.status = OutboxStatus.FAILED
                report.failed += 1
            else:
                row.status = OutboxStatus.PENDING
                row.next_attempt_at = now_utc() + backoff(row.attempts)
                report.retried += 1
            report.errors.append(row.last_error)
            log.warning("email %s not delivered (attempt %s): %s", row.id, row.attempts,
                        row.last_error)
        else:
            row.attempts += 1
            row.status = OutboxStatus.SENT
            row.sent_at = now_utc()
            row.last_error = ""
            report.sent += 1
        db.session.commit()
    return report
