"""Sending webhook deliveries: signed POSTs, each claimed first, retried with backoff.

Like the email outbox (``dap.nudges.services.deliver_due``), a run selects due rows and
claims each with one conditional UPDATE that it commits before posting, so two delivery
runs (two scheduler processes, or the scheduler and a test ping) never send one delivery
twice. The HTTP request is made with no database transaction open: on SQLite every
transaction holds the write lock, and a slow receiver must not hold up DAP's writers.

A delivery is *at least once*: a run that dies between posting and recording leaves a
claim that is taken over after ``STALE_CLAIM``, and the receiver may see the event twice.
Receivers drop repeats by the ``DAP-Webhook-Id`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, or_, select, update

from dap.clock import now_utc
from dap.extensions import db
from dap.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from dap.webhooks.services import set_active

log = logging.getLogger(__name__)

USER_AGENT = "DAP-Webhooks/1"
#: the first attempt and five retries
MAX_ATTEMPTS = 6
#: the wait before each retry: about 1 minute, 5 minutes, 30 minutes, 2 hours, 12 hours
RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
               timedelta(hours=2), timedelta(hours=12))
#: a claim older than this belongs to a run that died; another run takes it over
STALE_CLAIM = timedelta(minutes=10)
#: a subscription whose latest this many finished deliveries all failed is turned off
DISABLE_AFTER = 20
#: finished deliveries are kept this long for the log, then removed
RETENTION = timedelta(days=30)
#: how much of a receiver's answer is read (and thrown away)
READ_MAX = 4096
ERROR_MAX = 300


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts (``RETRY_WAITS`` in turn)."""
    return RETRY_WAITS[min(max(attempts, 1), len(RETRY_WAITS)) - 1]


# --- signing ----------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: str) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed with the secret's
    text (docs/WEBHOOKS.md shows a receiver checking it)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signed_headers(*, event_id: str, secret: str, body: str, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "DAP-Webhook-Id": event_id,
        "DAP-Webhook-Timestamp": str(timestamp),
        "DAP-Webhook-Signature": signature(secret, timestamp, body),
    }


# --- one HTTP attempt -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the receiver's status code (None: no answer), a short error
    ("" when delivered) and how long it took."""

    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the receiver's answer, not an instruction: following it could lead a signed
    payload anywhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


#: no redirects, and no proxies from the environment: DAP talks to the receiver itself
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def _refusal(url: str, *, allow_http: bool) -> str:
    """Why DAP will not post to ``url`` now, or "". Outside development the address must
    be https and every address its host resolves to public (not this machine, not a private
    network); a name is resolved here, at each attempt."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "refused: not a web address"
    if allow_http:
        return ""
    if parts.scheme != "https":
        return "refused: only https:// addresses are allowed"
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"could not resolve {parts.hostname}: {exc}"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            return f"refused: {parts.hostname} is on this machine or a private network"
    return ""


def post(url: str, *, body: str, headers: dict[str, str], timeout: float,
         allow_http: bool) -> Outcome:
    """POST ``body`` to ``url`` once (no redirects followed; ``timeout`` seconds for the
    connection and each read). Never raises: every failure is an ``Outcome``."""
    started = time.perf_counter()

    def done(code: int | None, error: str) -> Outcome:
        return Outcome(code, error[:ERROR_MAX], int((time.perf_counter() - started) * 1000))

    refusal = _refusal(url, allow_http=allow_http)
    if refusal:
        return done(None, refusal)
    # S310: the scheme is http(s) only (checked when subscribing and in ``_refusal``)
    request = urllib.request.Request(url, data=body.encode(), headers=headers,  # noqa: S310
                                     method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(READ_MAX)
            return done(response.status, "")
    except urllib.error.HTTPError as exc:
        with exc:
            if 300 <= exc.code < 400:
                return done(exc.code, f"HTTP {exc.code}: redirects are not followed")
            return done(exc.code, f"HTTP {exc.code} {exc.reason}".strip())
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return done(None, f"timed out after {timeout:g} s")
        return done(None, f"could not connect: {reason}")
    except TimeoutError:
        return done(None, f"timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return done(None, f"{type(exc).__name__}: {exc}")


# --- claiming, sending, recording -------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_id: str
    payload: str
    url: str
    secret: str


def _due(now: datetime):
    return or_(
        and_(WebhookDelivery.status == DeliveryStatus.PENDING,
             WebhookDelivery.next_attempt_at <= now),
        and_(WebhookDelivery.status == DeliveryStatus.SENDING,
             WebhookDelivery.claimed_at < now - STALE_CLAIM),
    )


_ACTIVE = select(WebhookSubscription.id).where(WebhookSubscription.is_active.is_(True))


def _claim(delivery_id: int, now: datetime, *, active_only: bool = True) -> _Claimed | None:
    """Atomically claim one due delivery (of an active subscription, with ``active_only``),
    read what sending it needs, and commit; None when it is not due or another run got it
    first."""
    conditions = [WebhookDelivery.id == delivery_id, _due(now)]
    if active_only:
        conditions.append(WebhookDelivery.subscription_id.in_(_ACTIVE))
    result = db.session.execute(
        update(WebhookDelivery)
        .where(*conditions)
        .values(status=DeliveryStatus.SENDING, claimed_at=now)
        .execution_options(synchronize_session=False))
    claimed = None
    if result.rowcount == 1:
        row = db.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.event_id, WebhookDelivery.payload,
                   WebhookSubscription.url, WebhookSubscription.secret)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.id == delivery_id)).one()
        claimed = _Claimed(*row)
    db.session.commit()
    return claimed


def _record(claimed: _Claimed, outcome: Outcome) -> WebhookDelivery | None:
    """Store an attempt's outcome: delivered, due again after the backoff, or failed for
    good (which may turn the subscription off). Commits."""
    delivery = db.session.get(WebhookDelivery, claimed.id, populate_existing=True)
    if delivery is None:  # the subscription was deleted meanwhile
        db.session.commit()
        return None
    now = now_utc()
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.duration_ms = outcome.duration_ms
    delivery.claimed_at = None
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = now
        db.session.flush()
        _disable_if_failing(delivery.subscription_id)
    else:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    if not outcome.ok:
        log.warning("webhook delivery %s (attempt %s) failed: %s", delivery.id,
                    delivery.attempts, outcome.error)
    db.session.commit()
    return delivery


def _disable_if_failing(subscription_id: int) -> None:
    """Turn the subscription off when its latest ``DISABLE_AFTER`` finished deliveries all
    failed, and tell the cohort's facilitators (an in-app notification, and its email as
    their preferences say)."""
    latest = db.session.scalars(
        select(WebhookDelivery.status)
        .where(WebhookDelivery.subscription_id == subscription_id,
               WebhookDelivery.status.in_([DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]))
        .order_by(WebhookDelivery.id.desc()).limit(DISABLE_AFTER)).all()
    if len(latest) < DISABLE_AFTER or any(s is not DeliveryStatus.FAILED for s in latest):
        return
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None or not set_active(
            subscription, active=False,
            reason=f"Turned off automatically: its last {DISABLE_AFTER} deliveries failed."):
        return
    log.warning("webhook subscription %s turned off after %s failed deliveries",
                subscription.id, DISABLE_AFTER)
    _tell_facilitators(subscription)


def _tell_facilitators(subscription: WebhookSubscription) -> None:
    from dap.accounts.models import User
    from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
    from dap.nudges.models import NotificationKind
    from dap.nudges.notify import Message, send

    cohort = db.session.get(Cohort, subscription.cohort_id)
    people = db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort.id, Membership.role == CohortRole.FACILITATOR,
               Membership.status == MembershipStatus.ACTIVE, User.is_active.is_(True))).all()
    stamp = int(subscription.disabled_at.timestamp())
    send([Message(
        person=person, kind=NotificationKind.GENERAL, cohort=cohort,
        dedup_key=f"webhook:{subscription.id}:disabled:{stamp}",
        title=f"A webhook of {cohort.name} was turned off"[:120],
        body=(f"DAP could not deliver to {subscription.url[:200]} {DISABLE_AFTER} times in a "
              "row, so it has stopped sending there. Check the receiver, send a test ping, "
              "and turn the webhook on again from its page."),
        link=f"/cohorts/{cohort.id}/webhooks/{subscription.id}") for person in people])


def _attempt(delivery_id: int, now: datetime, *, timeout: float, allow_http: bool,
             active_only: bool = True) -> WebhookDelivery | None:
    claimed = _claim(delivery_id, now, active_only=active_only)
    if claimed is None:
        return None
    timestamp = int(now_utc().timestamp())
    outcome = post(claimed.url, body=claimed.payload, timeout=timeout, allow_http=allow_http,
                   headers=signed_headers(event_id=claimed.event_id, secret=claimed.secret,
                                          body=claimed.payload, timestamp=timestamp))
    return _record(claimed, outcome)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"delivered {self.delivered}, will retry {self.retried}, gave up {self.failed}"


def deliver_due(*, timeout: float, allow_http: bool, limit: int = 100,
                seconds: float = 0) -> DeliveryReport:
    """Send due deliveries of active subscriptions, oldest due first, ``limit`` at a time,
    each claimed first; with ``seconds``, no new delivery is started once that much time has
    passed (what is left waits for the next run) and further batches follow while any are
    due. Commits per delivery.
    """
    report = DeliveryReport()
    started = time.monotonic()
    while True:
        now = now_utc()
        due = db.session.scalars(
            select(WebhookDelivery.id)
            .where(_due(now), WebhookDelivery.subscription_id.in_(_ACTIVE))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)).all()
        db.session.commit()
        for delivery_id in due:
            if seconds and time.monotonic() - started >= seconds:
                return report
            delivery = _attempt(delivery_id, now, timeout=timeout, allow_http=allow_http)
            if delivery is None:
                continue
            if delivery.status is DeliveryStatus.DELIVERED:
                report.delivered += 1
            elif delivery.status is DeliveryStatus.FAILED:
                report.failed += 1
            else:
                report.retried += 1
        if len(due) < limit or time.monotonic() - started >= seconds:
            return report


def deliver_now(delivery: WebhookDelivery, *, timeout: float,
                allow_http: bool) -> WebhookDelivery | None:
    """Try one delivery at once (the test ping, which may check a receiver before its
    subscription is turned on again): the same claim, post and record as the scheduled
    run. Commits. None when it was not due or another run had claimed it."""
    delivery_id = delivery.id
    db.session.commit()
    return _attempt(delivery_id, now_utc(), timeout=timeout, allow_http=allow_http,
                    active_only=False)


def prune_deliveries(*, older_than: timedelta = RETENTION) -> int:
    """Remove finished deliveries whose last attempt was more than ``older_than`` ago;
    returns how many. Flushes."""
    result = db.session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.status.in_([DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]),
               WebhookDelivery.next_attempt_at < now_utc() - older_than)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0
