"""Notifications: one call stores an in-app message and queues its email copy.

``notify`` is the one door every notification goes through, so the governance still to come
(daily and weekly caps, quiet hours, digests, each person's preferences) has one place to
live: ``_email_now``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from dap.accounts.models import User
from dap.clock import now_utc
from dap.db import insert_for
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from dap.nudges.services import queue_email

log = logging.getLogger(__name__)

TITLE_MAX = 120


def _email_now(person: User, kind: NotificationKind) -> bool:
    """Whether this notification also goes out by email now.

    Today: everyone who can receive email gets every notification. This is the single place
    for what comes later: caps per day and week, quiet hours, daily or weekly digests
    instead of single emails, and each person's preferences."""
    return (bool(person.email) and person.is_active and person.deleted_at is None
            and not person.is_managed)


def notify(
    person: User, *, kind: NotificationKind, title: str, body: str, dedup_key: str,
    link: str = "", sender: User | None = None, cohort: Any | None = None,
    base_url: str | None = None,
) -> Notification | None:
    """Store a notification for ``person`` (always, in-app) and queue its email copy (when
    ``_email_now`` allows).

    ``link`` is a relative URL inside DAP. ``dedup_key`` is unique: a second call with the
    same key stores and sends nothing and returns None (one atomic ``INSERT … ON CONFLICT DO
    NOTHING``). Flushes; the caller commits.
    """
    now = now_utc()
    values = {
        "user_id": person.id, "cohort_id": getattr(cohort, "id", None), "kind": kind.value,
        "title": title[:TITLE_MAX], "body": body, "link": link,
        "sender_id": getattr(sender, "id", None), "dedup_key": dedup_key[:200],
        "created_at": now,
    }
    insert = insert_for(db.session)
    new_id = db.session.execute(
        insert(Notification).values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(Notification.id)
    ).scalar_one_or_none()
    if new_id is None:
        log.info("notification %s already stored; not stored again", dedup_key)
        return None
    notification = db.session.get(Notification, new_id)
    if _email_now(person, kind):
        root = base_url if base_url is not None else current_app.config["BASE_URL"]
        queue_email(
            to=person.email, subject=notification.title, template="notification",
            kind=f"notification_{kind.value}", dedup_key=f"notification:{dedup_key}",
            context={"recipient": person, "notification": notification, "sender": sender,
                     "cohort": cohort, "link": f"{root.rstrip('/')}{link or '/notifications'}"},
        )
    return notification


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
