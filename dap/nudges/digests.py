"""The daily digest: one morning email gathering what waited for it.

A notification waits for the digest (``EmailState.DIGEST``) when its person chose a daily
digest for its category, or when it would have passed their daily or weekly cap. From 08:00
in each person's time zone, the scan sends each of them one digest holding everything
waiting that has not expired (a reminder for an event already started is dropped), once a
day (dedup key ``digest:<user id>:<local date>``). Whatever arrives after today's digest
waits for tomorrow's.

Set-based: one query reads every waiting notification with its person, one finds who has
had today's digest, then one multi-row insert per few hundred emails and one update per
few hundred notifications, however many people there are.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from dap.accounts.models import User
from dap.extensions import db
from dap.nudges.governance import QUIET_END, mailable, zone_of
from dap.nudges.models import EmailState, Notification, OutboxMessage
from dap.nudges.preferences import CATEGORIES, CATEGORY_OF, Category, unsubscribe_url
from dap.nudges.services import CHUNK, email_values, render_email, store_emails

#: the digest goes from this local time (the end of quiet hours)
DIGEST_AT: time = QUIET_END
#: at most this many items in one digest (the rest are in the inbox, which it links to)
DIGEST_ITEMS_MAX = 30


def send_daily_digests(*, now: datetime, base_url: str | None = None) -> int:
    """Queue today's digest for everyone due one (see the module). Returns how many."""
    root = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    secret = current_app.config["SECRET_KEY"]
    rows = db.session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .options(joinedload(Notification.sender))
        .where(Notification.email_state == EmailState.DIGEST)
        .order_by(Notification.user_id, Notification.created_at, Notification.id)).all()
    waiting: dict[int, list[Notification]] = defaultdict(list)
    people: dict[int, User] = {}
    expired: list[int] = []
    for notification, person in rows:
        if notification.expires_at is not None and notification.expires_at <= now:
            expired.append(notification.id)
            continue
        waiting[person.id].append(notification)
        people[person.id] = person

    due: dict[str, int] = {}  # dedup key → user id
    for user_id, person in people.items():
        local = now.astimezone(zone_of(person))
        if local.time() >= DIGEST_AT:
            due[f"digest:{user_id}:{local.date().isoformat()}"] = user_id
    keys = list(due)
    sent_before: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        sent_before.update(db.session.scalars(select(OutboxMessage.dedup_key).where(
            OutboxMessage.dedup_key.in_(keys[start:start + CHUNK]))))

    emails, dropped = [], list(expired)
    for key, user_id in due.items():
        if key in sent_before:
            continue  # today's went already: these wait for tomorrow's
        person, items = people[user_id], waiting[user_id]
        if not mailable(person):  # lost their address since (deleted, deactivated)
            dropped.extend(n.id for n in items)
            continue
        shown = items[:DIGEST_ITEMS_MAX]
        unsubscribe = unsubscribe_url(user_id, Category.ALL, base_url=root, secret_key=secret)
        groups = _grouped(shown)
        text, html = render_email(
            "digest", {"recipient": person, "groups": groups, "more": len(items) - len(shown),
                       "root": root, "inbox": f"{root}/notifications"},
            unsubscribe_url=unsubscribe, category_label="your daily digest")
        count = len(items)
        emails.append(email_values(
            to=person.email or "", subject=f"Your DAP digest: {count} message"
            + ("" if count == 1 else "s"), text=text, html=html, dedup_key=key,
            kind="digest", send_after=now, user_id=user_id, category=Category.DIGEST.value,
            planned=True, unsubscribe_url=unsubscribe))
    stored = store_emails(emails)
    # Only the items of digests actually stored are marked: a digest another process
    # stored first has marked its own.
    stored_users = {due[key] for key in stored}
    included = [n.id for uid in stored_users for n in waiting[uid]]
    _mark(included, EmailState.DIGESTED)
    _mark(dropped, EmailState.NONE)
    return len(stored)


def _grouped(items: list[Notification]) -> list[tuple[str, list[Notification]]]:
    """The items under their category's label, in the order categories are listed."""
    groups: dict[Category, list[Notification]] = defaultdict(list)
    for item in items:
        groups[CATEGORY_OF.get(item.kind, Category.NUDGES)].append(item)
    order = list(CATEGORIES)
    return [(CATEGORIES[c].label, groups[c]) for c in sorted(groups, key=order.index)]


def _mark(ids: list[int], state: EmailState) -> None:
    for start in range(0, len(ids), CHUNK):
        db.session.execute(
            update(Notification).where(Notification.id.in_(ids[start:start + CHUNK]))
            .values(email_state=state).execution_options(synchronize_session=False))
