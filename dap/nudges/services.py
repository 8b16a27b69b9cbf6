"""Outbox rules: queue an email once per dedup key; deliver due emails with retry and backoff."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from dap.accounts.models import User
from dap.clock import now_utc
from dap.db import insert_for
from dap.extensions import db
from dap.nudges.governance import Priority, after_quiet_hours, priority_of, zone_of
from dap.nudges.mail import Transport, build_message
from dap.nudges.models import NotificationKind, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

#: a claim older than this is taken to belong to a crashed run and is taken over
STALE_CLAIM = timedelta(minutes=10)
#: the wait before each retry: about 1 minute, 5 minutes, 30 minutes, 2 hours, 12 hours;
#: the attempt after the last of these is the final one (``MAIL_MAX_ATTEMPTS``, 6)
RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
               timedelta(hours=2), timedelta(hours=12))


def render_email(template: str, context: dict, *, unsubscribe_url: str = "",
                 category_label: str = "") -> tuple[str, str]:
    """The text and HTML bodies of ``templates/email/<template>.txt`` / ``.html``.

    With ``unsubscribe_url``, the footer every governed email carries is added: why the
    person gets it, where to change what DAP emails them, and the one-click unsubscribe.
    """
    text = _render(f"email/{template}.txt", context)
    html = _render(f"email/{template}.html", context)
    if unsubscribe_url:
        footer = {"unsubscribe_url": unsubscribe_url, "category_label": category_label,
                  "preferences_url": _preferences_url(unsubscribe_url)}
        text = text.rstrip("\n") + "\n\n" + _render("email/_footer.txt", footer)
        footer_html = _render("email/_footer.html", footer)
        html = (html.replace("</body>", footer_html + "</body>", 1) if "</body>" in html
                else html + footer_html)
    return text, html


def _render(name: str, context: dict) -> str:
    """One email template with only what it is given: no request, session or signed-in
    user (an email must never show who was signed in when it was queued), and none of the
    per-request context processors, which made rendering a scan's thousands of emails
    twice as slow."""
    return current_app.jinja_env.get_template(name).render(**context)


def _preferences_url(unsubscribe_url: str) -> str:
    root = unsubscribe_url.split("/unsubscribe/", 1)[0]
    return f"{root}/account/emails"


def email_values(
    *, to: str, subject: str, text: str, html: str, dedup_key: str, kind: str,
    send_after: datetime, calendar_ics: str = "", user_id: int | None = None,
    category: str = "", planned: bool = False, unsubscribe_url: str = "",
) -> dict:
    """One outbox row's values. ``planned`` rows count towards the caps (governed email)."""
    return {
        "dedup_key": dedup_key[:200],
        "to_addr": to,
        "subject": subject[:250],
        "body_text": text,
        "body_html": html,
        "calendar_ics": calendar_ics,
        "kind": kind[:40],
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": send_after,
        "last_error": "",
        "created_at": now_utc(),
        "user_id": user_id,
        "category": category,
        "planned_at": send_after if planned else None,
        "unsubscribe_url": unsubscribe_url,
    }


#: rows per multi-row INSERT (well under every database's parameter limit)
CHUNK = 500


def store_emails(rows: list[dict]) -> set[str]:
    """Store outbox rows with ``INSERT … ON CONFLICT (dedup_key) DO NOTHING``; returns the
    dedup keys actually stored (a key already there from a retried scan or a second
    scheduler process is skipped). One statement, executed for many rows: SQLAlchemy sends
    them as multi-row INSERTs ("insertmanyvalues") and compiles the statement once.
    Flushes nothing else."""
    if not rows:
        return set()
    insert = insert_for(db.session)
    # RETURNING, not rowcount: with psycopg the insert's rowcount is -1 (truthy) whether
    # or not a row was stored.
    stmt = (insert(OutboxMessage.__table__)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(OutboxMessage.__table__.c.dedup_key))
    return set(db.session.execute(stmt, rows).scalars())


def queue_email(
    *, to: str, subject: str, template: str, context: dict, dedup_key: str, kind: str,
    send_after: datetime | None = None, calendar_ics: str = "",
) -> bool:
    """Render ``templates/email/<template>.txt`` and ``.html`` and store an account message
    (a password reset, an invitation: something the person asked for or needs to get in),
    which is never capped, delayed or turned off. Everything else goes through
    ``dap.nudges.notify.notify``, which governs it.

    One atomic ``INSERT … ON CONFLICT DO NOTHING``: a second call with the same ``dedup_key``
    stores nothing. Returns whether a new row was stored. Flushes; the caller commits.
    """
    text, html = render_email(template, context)
    stored = store_emails([email_values(
        to=to, subject=subject, text=text, html=html, dedup_key=dedup_key, kind=kind,
        send_after=send_after or now_utc(), calendar_ics=calendar_ics)])
    if not stored:
        log.info("email %s already queued; not stored again", dedup_key)
    return bool(stored)


def _retry_at(row: OutboxMessage, wait: timedelta) -> datetime:
    """When to try ``row`` again: after ``wait``; for a governed message that is not
    urgent, out of its person's quiet hours, as when it was queued. Account messages (no
    ``planned_at``: a password reset) and urgent changes go at any hour."""
    at = now_utc() + wait
    if row.planned_at is None or row.user_id is None:
        return at
    try:
        urgent = priority_of(NotificationKind(row.kind)) is Priority.URGENT
    except ValueError:  # an email of no notification kind (a digest): normal
        urgent = False
    person = None if urgent else db.session.get(User, row.user_id)
    return after_quiet_hours(at, zone_of(person)) if person is not None else at


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: ``RETRY_WAITS`` in turn, then 12 hours
    for any attempt past them (a configuration allowing more attempts)."""
    return RETRY_WAITS[min(max(attempts, 1), len(RETRY_WAITS)) - 1]


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
    *, transport: Transport, sender: str, domain: str, max_attempts: int, limit: int = 200,
    seconds: float = 0,
) -> DeliveryReport:
    """Send due messages, ``limit`` at a time, each claimed first so concurrent runs never
    send twice; with ``seconds``, further batches follow while any are due and the time
    lasts (a Monday evening's thousands drain in one run, not 200 a minute).

    A failure keeps the message, counts the attempt and schedules the next one
    (``backoff``); after ``max_attempts`` it is marked failed. Commits per message, so a
    crash mid-run loses nothing already sent or recorded.
    """
    report = DeliveryReport()
    started = time.monotonic()
    while True:
        handled = _deliver_batch(report, transport=transport, sender=sender, domain=domain,
                                 max_attempts=max_attempts, limit=limit)
        if handled < limit or time.monotonic() - started >= seconds:
            return report


def _deliver_batch(report: DeliveryReport, *, transport: Transport, sender: str, domain: str,
                   max_attempts: int, limit: int) -> int:
    """One batch of ``deliver_due``; returns how many due messages it found."""
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
        message = build_message(
            sender=sender, to=row.to_addr, subject=row.subject, text=row.body_text,
            html=row.body_html, outbox_id=row.id, dedup_key=row.dedup_key,
            domain=domain, calendar_ics=row.calendar_ics, unsubscribe_url=row.unsubscribe_url,
        )
        db.session.commit()  # no transaction open while it travels (SQLite: no write lock held)
        try:
            transport.send(message)
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried later
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.claimed_at = None
            if row.attempts >= max_attempts:
                row.status = OutboxStatus.FAILED
                report.failed += 1
            else:
                row.status = OutboxStatus.PENDING
                row.next_attempt_at = _retry_at(row, backoff(row.attempts))
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
    return len(due_ids)
