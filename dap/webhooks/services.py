"""Webhook subscriptions and the outbox: what a cohort's managers set up, and ``emit``,
which the domains call when something a subscriber may care about happens.

``emit`` writes one pending delivery per listening subscription *in the caller's
transaction* (the outbox pattern): if the caller rolls back, nothing is ever sent; if it
commits, ``dap.webhooks.delivery`` sends it, with retries. Payloads are minimal and
privacy-aware: names and ids, never a check-in's note, never the title of a goal its
participant keeps to themselves.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select

from dap.audit.services import record
from dap.clock import now_utc
from dap.errors import DomainError
from dap.extensions import db
from dap.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

#: event type -> what it means, in the order the form lists them
EVENT_TYPES: dict[str, str] = {
    "goal.completed": "A participant finished a goal",
    "check_in.created": "A participant checked in on a goal",
    "participant.silent": "A participant has gone quiet (the daily silence scan)",
    "event.rsvp": "Someone answered an event invitation (going, waitlisted, can't go)",
}
#: the test ping: sent on demand to one subscription, never subscribed to
PING = "ping"
URL_MAX = 500
#: subscriptions one cohort may have
MAX_PER_COHORT = 10
#: deliveries per page of the log
LOG_PAGE_SIZE = 25


# --- subscriptions ------------------------------------------------------------------------


def _is_private_host(host: str) -> bool:
    """``host`` names this machine or a private network (an address literal, ``localhost``)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(name).is_global
    except ValueError:
        return False  # a name: checked again when it resolves (dap.webhooks.delivery)


def clean_url(raw: str, *, allow_http: bool) -> str:
    """A receiver address DAP may post to: https (http too when ``allow_http``), with a host,
    without credentials, at most ``URL_MAX`` characters. Outside development (``allow_http``
    false) addresses on this machine or a private network are refused as well.

    :raise DomainError: (field ``url``) naming what is wrong.
    """
    url = (raw or "").strip()
    if not url:
        raise DomainError("Enter the address DAP should post events to.", field="url")
    if len(url) > URL_MAX:
        raise DomainError(f"An address of at most {URL_MAX} characters, please.", field="url")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise DomainError("The address may not contain spaces or control characters.",
                          field="url")
    if not url.isascii():
        raise DomainError("Write the address in plain ASCII: the host's xn-- form and "
                          "%-escapes in the path.", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DomainError("That is not a web address.", field="url") from None
    scheme = parts.scheme.lower()
    allowed = {"https", "http"} if allow_http else {"https"}
    if scheme == "http" and not allow_http:
        raise DomainError("Use an https:// address: payloads name people, so they must travel "
                          "encrypted.", field="url")
    if scheme not in allowed:
        raise DomainError("Use a web address starting with https://.", field="url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise DomainError("Leave user names and passwords out of the address: every payload "
                          "is signed with the subscription's secret instead.", field="url")
    if not parts.hostname or port == 0:
        raise DomainError("That address has no host name.", field="url")
    if not allow_http and _is_private_host(parts.hostname):
        raise DomainError("Use a public address: DAP does not post to this machine or a "
                          "private network.", field="url")
    return url


def clean_events(chosen: list[str]) -> list[str]:
    """The chosen event types, known and in ``EVENT_TYPES`` order.

    :raise DomainError: (field ``events``) for none, or for an unknown type.
    """
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if unknown:
        raise DomainError(f"Unknown event type: {unknown[0][:40]}.", field="events")
    if not chosen:
        raise DomainError("Choose at least one event to send.", field="events")
    return [name for name in EVENT_TYPES if name in chosen]


def new_secret() -> str:
    return secrets.token_hex(32)


def subscriptions_of(cohort: Any) -> list[WebhookSubscription]:
    """The cohort's subscriptions, oldest first (one query)."""
    return list(db.session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.cohort_id == cohort.id)
        .order_by(WebhookSubscription.id)))


def get_subscription(cohort: Any, subscription_id: int) -> WebhookSubscription | None:
    """The cohort's subscription of that id; None when missing or another cohort's."""
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.cohort_id != cohort.id:
        return None
    return subscription


def create_subscription(cohort: Any, *, url: str, events: list[str], actor: Any,
                        allow_http: bool) -> WebhookSubscription:
    """Subscribe ``url`` to the cohort's ``events`` with a new secret; audited. Flushes.

    :raise DomainError: for a bad address or event list, or past ``MAX_PER_COHORT``.
    """
    clean = clean_url(url, allow_http=allow_http)
    chosen = clean_events(events)
    count = db.session.scalar(select(func.count(WebhookSubscription.id)).where(
        WebhookSubscription.cohort_id == cohort.id)) or 0
    if count >= MAX_PER_COHORT:
        raise DomainError(f"A cohort may have at most {MAX_PER_COHORT} webhooks; delete one "
                          "you no longer use first.")
    subscription = WebhookSubscription(cohort_id=cohort.id, url=clean, secret=new_secret(),
                                       events=chosen, created_by_id=actor.id)
    db.session.add(subscription)
    db.session.flush()
    record("webhook.created", actor=actor, cohort=cohort, webhook_id=subscription.id,
           url=clean, events=chosen)
    return subscription


def set_active(subscription: WebhookSubscription, *, active: bool, reason: str = "",
               actor: Any | None = None) -> bool:
    """Turn a subscription on or off; returns whether that changed anything. Deliveries
    still pending wait while it is off and go out when it is on again. A person's change
    (``actor``) is audited; DAP's own (after repeated failures) is told to the
    facilitators instead. Flushes."""
    if subscription.is_active == active:
        return False
    subscription.is_active = active
    subscription.disabled_at = None if active else now_utc()
    subscription.disabled_reason = "" if active else reason[:200]
    db.session.flush()
    if actor is not None:
        record("webhook.enabled" if active else "webhook.disabled", actor=actor,
               cohort=subscription.cohort, webhook_id=subscription.id)
    return True


def rotate_secret(subscription: WebhookSubscription, *, actor: Any, cohort: Any) -> None:
    """Give the subscription a new secret (the old one stops working at once); audited."""
    subscription.secret = new_secret()
    db.session.flush()
    record("webhook.secret_rotated", actor=actor, cohort=cohort, webhook_id=subscription.id)


def delete_subscription(subscription: WebhookSubscription, *, actor: Any, cohort: Any) -> None:
    """Delete a subscription and its delivery log (nothing pending is sent); audited."""
    record("webhook.deleted", actor=actor, cohort=cohort, webhook_id=subscription.id,
           url=subscription.url)
    db.session.delete(subscription)
    db.session.flush()


def delivery_log(subscription: WebhookSubscription, *, page: int) -> tuple[list[WebhookDelivery], int]:
    """One page of the subscription's deliveries, newest first, and how many there are."""
    total = db.session.scalar(select(func.count(WebhookDelivery.id)).where(
        WebhookDelivery.subscription_id == subscription.id)) or 0
    rows = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
        .order_by(WebhookDelivery.id.desc())
        .offset((page - 1) * LOG_PAGE_SIZE).limit(LOG_PAGE_SIZE)).all()
    return list(rows), total


def redeliver(delivery: WebhookDelivery) -> None:
    """Send a failed delivery again, as it was (same event id and body), with a fresh set of
    attempts starting now.

    :raise DomainError: when it has not failed (it is delivered, or still being tried).
    """
    if delivery.status is not DeliveryStatus.FAILED:
        raise DomainError("Only a failed delivery can be sent again.")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now_utc()
    delivery.claimed_at = None
    db.session.flush()


def queue_ping(subscription: WebhookSubscription, *, actor: Any) -> WebhookDelivery:
    """A ``ping`` delivery for this one subscription, due now. Flushes."""
    event_id = uuid.uuid4().hex
    now = now_utc()
    delivery = WebhookDelivery(
        subscription_id=subscription.id, event_type=PING, event_id=event_id,
        payload=_body(event_id, PING, subscription.cohort_id, now,
                      {"webhook_id": subscription.id, "sent_by": person(actor)}),
        next_attempt_at=now, created_at=now)
    db.session.add(delivery)
    db.session.flush()
    return delivery


# --- the outbox -----------------------------------------------------------------------------


def iso(at: datetime) -> str:
    """UTC, to the second, with a ``Z``: ``2026-12-03T09:30:00Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(event_id: str, event_type: str, cohort_id: int, at: datetime, data: Mapping) -> str:
    return json.dumps({"id": event_id, "type": event_type, "created_at": iso(at),
                       "cohort_id": cohort_id, "data": data},
                      separators=(",", ":"), ensure_ascii=False)


Data = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


def emit(cohort_id: int, event_type: str, data: Data) -> int:
    """Queue ``event_type`` for every active subscription of the cohort that listens to it,
    in the caller's transaction; returns how many deliveries were queued.

    One SELECT, and one INSERT when anyone listens. ``data`` may be a function, called only
    then, so a cohort without subscribers pays for nothing but the SELECT.

    :raise ValueError: for an event type that is not in ``EVENT_TYPES`` (a programming error).
    """
    return emit_each(event_type, [(cohort_id, data)])


def emit_each(event_type: str, events: Iterable[tuple[int, Data]]) -> int:
    """``emit`` for many events of one type at once (a scan's findings), each ``(cohort id,
    data)`` with an event id of its own: still one SELECT and at most one INSERT, however
    many there are."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    events = list(events)
    if not events:
        return 0
    listening: dict[int, list[int]] = {}
    for sid, cohort_id, chosen in db.session.execute(
            select(WebhookSubscription.id, WebhookSubscription.cohort_id,
                   WebhookSubscription.events)
            .where(WebhookSubscription.cohort_id.in_({cohort_id for cohort_id, _ in events}),
                   WebhookSubscription.is_active.is_(True))
            .order_by(WebhookSubscription.id)):
        if event_type in (chosen or ()):
            listening.setdefault(cohort_id, []).append(sid)
    now = now_utc()
    rows = []
    for cohort_id, data in events:
        if cohort_id not in listening:
            continue
        event_id = uuid.uuid4().hex
        body = _body(event_id, event_type, cohort_id, now, data() if callable(data) else data)
        rows += [{"subscription_id": sid, "event_type": event_type, "event_id": event_id,
                  "payload": body, "status": DeliveryStatus.PENDING, "attempts": 0,
                  "next_attempt_at": now, "created_at": now, "last_error": ""}
                 for sid in listening[cohort_id]]
    if rows:
        db.session.execute(insert(WebhookDelivery), rows)
        log.info("webhook %s: %s deliveries queued", event_type, len(rows))
    return len(rows)


# --- what the payloads say ------------------------------------------------------------------


def person(user: Any) -> dict[str, Any]:
    return {"id": user.id, "name": user.name}


def goal_completed(goal: Any) -> dict[str, Any]:
    """``goal.completed``: who finished which goal. A goal its participant keeps to
    themselves ("only me") is sent without its title or library goal: only that one was
    finished."""
    private = goal.visibility.value == "private"
    return {"participant": person(goal.plan.participant),
            "goal": {"id": goal.id, "title": None if private else goal.title,
                     "library_slug": None if private else goal.library_slug}}


def check_in_created(entry: Any) -> dict[str, Any]:
    """``check_in.created``: the numbers only; the note stays in DAP."""
    return {"participant": person(entry.goal.plan.participant),
            "check_in": {"id": entry.id, "goal_id": entry.goal_id, "progress": entry.progress,
                         "minutes": entry.minutes}}


def rsvp_answered(event: Any, rsvp: Any, user: Any) -> dict[str, Any]:
    """``event.rsvp``: who answered which event, and the outcome (going, waitlisted,
    declined)."""
    return {"participant": person(user), "event": {"id": event.id, "title": event.title},
            "answer": rsvp.status.value}


def participant_silent(user: Any, *, days: int, since: datetime) -> dict[str, Any]:
    """``participant.silent``: who has gone quiet, for how many days, since when."""
    return {"participant": person(user), "days_silent": days, "since": iso(since)}
