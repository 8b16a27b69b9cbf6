"""Notifications: the one door every message to a person goes through.

``send`` stores each message in the person's in-app inbox (always) and lets governance
(dap.nudges.governance) decide its email copy: queued now or after quiet hours, folded into
the next daily digest, held while a plan is paused, or not emailed. It works on a batch, so
a scan that tells a thousand people costs a handful of statements, not a thousand; ``notify``
is the one-message form the views use.

Account messages (a password reset, an invitation to join) are not notifications: they go
straight to the outbox with ``dap.nudges.services.queue_email`` and are never governed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from dap.accounts.models import User
from dap.clock import local_date, now_utc
from dap.db import insert_for
from dap.extensions import db
from dap.nudges import governance, preferences
from dap.nudges.governance import Caps, Priority
from dap.nudges.models import EmailState, Notification, NotificationKind
from dap.nudges.preferences import CATEGORY_OF, Category
from dap.nudges.services import CHUNK, email_values, render_email, store_emails

log = logging.getLogger(__name__)

TITLE_MAX = 120


@dataclass
class Message:
    """One message to one person. ``link`` is a relative URL inside DAP; ``dedup_key`` is
    unique across all notifications, so the same message is stored (and emailed) once
    however often it is sent."""

    person: User
    kind: NotificationKind
    title: str
    body: str
    dedup_key: str
    link: str = ""
    sender: User | None = None
    cohort: Any | None = None
    #: None: the kind's usual priority (governance.PRIORITY_OF)
    priority: Priority | None = None
    #: no longer worth a digest line after this (a reminder for an event that has started)
    expires_at: datetime | None = None
    #: the email's own template (``templates/email/<name>``) and extra context; the generic
    #: "notification" template shows the title, body and link
    email_template: str = "notification"
    email_subject: str = ""
    email_context: dict = field(default_factory=dict)
    #: an iCalendar invitation sent with the email (events, 1:1 sessions), or ""
    calendar_ics: str = ""

    @property
    def category(self) -> Category:
        return CATEGORY_OF.get(self.kind, Category.NUDGES)


def _caps(cohort: Any | None) -> Caps:
    if cohort is not None:
        return Caps(cohort.emails_per_day_max, cohort.emails_per_week_max)
    config = current_app.config
    return Caps(config["EMAILS_PER_DAY_MAX"], config["EMAILS_PER_WEEK_MAX"])


def _paused(messages: list[Message], now: datetime) -> set[tuple[int, int]]:
    """``(cohort id, user id)`` pairs among ``messages`` whose plan is paused today in the
    cohort's time zone (one query)."""
    from dap.plans.models import Plan  # local: plans imports nudges

    cohorts = {m.cohort.id: m.cohort for m in messages if m.cohort is not None}
    users = {m.person.id for m in messages if m.cohort is not None}
    if not cohorts:
        return set()
    rows = db.session.execute(
        select(Plan.cohort_id, Plan.participant_id, Plan.paused_from, Plan.paused_until)
        .where(Plan.cohort_id.in_(list(cohorts)), Plan.participant_id.in_(list(users)),
               Plan.paused_from.is_not(None), Plan.paused_until.is_not(None))).all()
    paused = set()
    for cohort_id, user_id, start, until in rows:
        today = local_date(now, _cohort_zone(cohorts[cohort_id]))
        if start <= today <= until:
            paused.add((cohort_id, user_id))
    return paused


def _cohort_zone(cohort: Any) -> str:
    return getattr(cohort, "timezone", None) or "Europe/London"


def send(messages: list[Message], *, base_url: str | None = None) -> dict[str, int]:
    """Store every message not stored before and queue or fold its email copy.

    Returns ``dedup_key`` → notification id for the messages stored now (a key already
    stored is skipped: one atomic ``INSERT … ON CONFLICT DO NOTHING``). A fixed number of
    statements for the whole batch (plus one per few hundred rows). Flushes; the caller
    commits.
    """
    if not messages:
        return {}
    now = now_utc()
    root = (base_url if base_url is not None else current_app.config["BASE_URL"]).rstrip("/")
    secret = current_app.config["SECRET_KEY"]
    # Skip what is stored already, so a re-run neither counts it nor renders it again.
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.dedup_key[:200], message)
    known = set()
    keys = list(unique)
    for start in range(0, len(keys), CHUNK):
        known.update(db.session.scalars(select(Notification.dedup_key).where(
            Notification.dedup_key.in_(keys[start:start + CHUNK]))))
    fresh = {key: m for key, m in unique.items() if key not in known}
    if not fresh:
        return {}

    batch = list(fresh.values())
    chosen = preferences.deliveries_for(m.person.id for m in batch)
    paused = _paused(batch, now)
    priorities = {key: m.priority if m.priority is not None
                  else governance.priority_of(m.kind) for key, m in fresh.items()}
    ledger = governance.load_ledger(
        (m.person.id for key, m in fresh.items() if governance.mailable(m.person)), now=now)
    decisions = {}
    for key, message in fresh.items():
        cohort_id = getattr(message.cohort, "id", None)
        decisions[key] = governance.decide(
            message.person, category=message.category, priority=priorities[key],
            delivery=preferences.delivery_of(chosen, message.person.id, message.category),
            paused=(cohort_id, message.person.id) in paused, caps=_caps(message.cohort),
            ledger=ledger, now=now, expires_at=message.expires_at)

    rows = [{
        "user_id": m.person.id, "cohort_id": getattr(m.cohort, "id", None),
        "kind": m.kind.value, "title": m.title[:TITLE_MAX], "body": m.body, "link": m.link,
        "sender_id": getattr(m.sender, "id", None), "dedup_key": key, "created_at": now,
        "email_state": decisions[key].state.value, "expires_at": m.expires_at,
    } for key, m in fresh.items()]
    insert = insert_for(db.session)
    table = Notification.__table__
    # One statement for many rows (SQLAlchemy's "insertmanyvalues": multi-row INSERTs,
    # compiled once).
    stored: dict[str, int] = dict(db.session.execute(
        insert(table).on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(table.c.dedup_key, table.c.id), rows).all())

    emails = []
    for key, ident in stored.items():
        message, decision = fresh[key], decisions[key]
        if decision.state is not EmailState.QUEUED:
            continue
        emails.append(_email(message, ident, decision.send_at, root=root, secret=secret))
    store_emails(emails)
    skipped = set(fresh) - set(stored)
    if skipped:  # another process stored these between our check and our insert
        log.info("%d notifications already stored; not stored again", len(skipped))
    return stored


def _email(message: Message, notification_id: int, send_at: datetime, *, root: str,
           secret: str) -> dict:
    person = message.person
    category = message.category
    unsubscribe = preferences.unsubscribe_url(person.id, category, base_url=root,
                                              secret_key=secret)
    note = SimpleNamespace(id=notification_id, title=message.title[:TITLE_MAX],
                           body=message.body, kind=message.kind)
    context = {"recipient": person, "person": person, "notification": note,
               "sender": message.sender, "cohort": message.cohort, "root": root,
               "link": f"{root}{message.link or '/notifications'}", **message.email_context}
    text, html = render_email(message.email_template, context, unsubscribe_url=unsubscribe,
                              category_label=preferences.label_of(category))
    return email_values(
        to=person.email or "", subject=message.email_subject or message.title, text=text,
        html=html, dedup_key=message.dedup_key, kind=message.kind.value, send_after=send_at,
        calendar_ics=message.calendar_ics, user_id=person.id, category=category.value,
        planned=True, unsubscribe_url=unsubscribe)


def notify(
    person: User, *, kind: NotificationKind, title: str, body: str, dedup_key: str,
    link: str = "", sender: User | None = None, cohort: Any | None = None,
    base_url: str | None = None, **extra: Any,
) -> Notification | None:
    """Send one message (see ``send``); ``extra`` are further ``Message`` fields. Returns
    the stored notification, or None when ``dedup_key`` was stored before."""
    stored = send([Message(person=person, kind=kind, title=title, body=body,
                           dedup_key=dedup_key, link=link, sender=sender, cohort=cohort,
                           **extra)], base_url=base_url)
    ident = stored.get(dedup_key[:200])
    return db.session.get(Notification, ident) if ident is not None else None


def unread_count(user: Any) -> int:
    """How many of ``user``'s notifications are unread: one query (the header's badge)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return db.session.scalar(
        select(func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(notification: Notification) -> None:
    """Mark one notification read (once: the first reading time stays)."""
    if notification.read_at is None:
        notification.read_at = now_utc()
        db.session.flush()


def mark_all_read(user: User) -> int:
    """Mark every unread notification of ``user`` read in one statement; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now_utc())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
