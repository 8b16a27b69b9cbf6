"""Delivering webhooks to a real receiver on 127.0.0.1: signed payloads, retries with backoff
until a delivery fails for good, timeouts, no redirects, two runs at once sending each
delivery once, the outbox's rollback, automatic turning off, and retention."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.jobs.registry import job_by_id
from dap.jobs.runner import run_job
from dap.nudges.models import Notification
from dap.plans import services as plans
from dap.webhooks import services
from dap.webhooks.delivery import signature
from dap.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.conftest import counting_queries
from tests.webhooks.conftest import T0, deliver, deliveries, subscription
from tests.webhooks.receiver import closed_port_url


def emit(app, world, event_type: str = "check_in.created", data: dict | None = None) -> int:
    with app.app_context():
        queued = services.emit(world["cohort"], event_type, data or {"n": 1})
        db.session.commit()
        return queued


def test_a_delivery_is_signed_and_the_receiver_can_verify_it(app, world, receiver, subscribe,
                                                             frozen):
    frozen(T0)
    _, secret = subscribe(receiver.url)
    assert emit(app, world, data={"participant": {"id": 7, "name": "Zoë"}}) == 1

    assert deliver(app, T0) == "delivered 1, will retry 0, gave up 0"

    [request] = receiver.requests
    assert request.path == "/hook"
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "DAP-Webhooks/1"
    assert headers["DAP-Webhook-Timestamp"] == str(int(T0.timestamp()))
    payload = request.payload
    assert headers["DAP-Webhook-Id"] == payload["id"]
    assert len(payload["id"]) == 32
    assert payload == {"id": payload["id"], "type": "check_in.created",
                       "created_at": "2027-03-15T09:00:00Z", "cohort_id": world["cohort"],
                       "data": {"participant": {"id": 7, "name": "Zoë"}}}
    now = T0.timestamp()
    assert request.verifies(secret, now=now)
    assert headers["DAP-Webhook-Signature"] == signature(
        secret, int(now), request.body.decode())
    # what a receiver must refuse: another secret, a changed body, an old timestamp
    assert not request.verifies("0" * 64, now=now)
    tampered = type(request)(request.path, headers, request.body.replace(b"Zo", b"Jo"))
    assert not tampered.verifies(secret, now=now)
    assert not request.verifies(secret, now=now + 301)

    [row] = deliveries(app)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == (
        DeliveryStatus.DELIVERED, 1, 200, "")
    assert row.delivered_at == T0
    assert row.duration_ms is not None
    assert row.duration_ms >= 0
    # delivered means done: later runs send nothing
    assert deliver(app, T0 + timedelta(hours=1)) == "delivered 0, will retry 0, gave up 0"
    assert len(receiver.requests) == 1


def test_a_500_is_retried_a_minute_later_and_delivered_once(app, world, receiver, subscribe,
                                                           frozen):
    frozen(T0)
    subscribe(receiver.url)
    receiver.answer(500)
    emit(app, world)

    assert deliver(app, T0) == "delivered 0, will retry 1, gave up 0"
    [row] = deliveries(app)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert row.last_error.startswith("HTTP 500")
    assert row.next_attempt_at == T0 + timedelta(minutes=1)

    assert deliver(app, T0 + timedelta(seconds=59)).startswith("delivered 0")
    assert len(receiver.requests) == 1
    assert deliver(app, T0 + timedelta(minutes=1)) == "delivered 1, will retry 0, gave up 0"
    assert deliver(app, T0 + timedelta(hours=13)).startswith("delivered 0")

    first, second = receiver.requests
    assert first.headers["DAP-Webhook-Id"] == second.headers["DAP-Webhook-Id"]
    assert first.body == second.body
    assert second.headers["DAP-Webhook-Timestamp"] == str(int(T0.timestamp()) + 60)
    [row] = deliveries(app)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == (
        DeliveryStatus.DELIVERED, 2, 200, "")


def test_a_receiver_that_is_down_is_retried_with_backoff_then_given_up(app, world, subscribe,
                                                                      frozen):
    frozen(T0)
    subscribe(closed_port_url())
    emit(app, world)
    at = T0
    waits = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
             timedelta(hours=2), timedelta(hours=12)]
    for attempt, wait in enumerate(waits, start=1):
        assert deliver(app, at) == "delivered 0, will retry 1, gave up 0"
        [row] = deliveries(app)
        assert (row.status, row.attempts, row.last_status_code) == (
            DeliveryStatus.PENDING, attempt, None)
        assert row.last_error.startswith("could not connect")
        assert row.next_attempt_at == at + wait
        # not before its time
        assert deliver(app, at + wait - timedelta(seconds=1)).startswith("delivered 0, will retry 0")
        at += wait
    assert deliver(app, at) == "delivered 0, will retry 0, gave up 1"
    [row] = deliveries(app)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 6)
    assert deliver(app, at + timedelta(days=1)) == "delivered 0, will retry 0, gave up 0"
    assert deliveries(app)[0].attempts == 6


def test_a_receiver_slower_than_the_timeout_is_retried(app, world, receiver, subscribe, frozen):
    frozen(T0)
    app.config["WEBHOOKS_TIMEOUT_SECONDS"] = 0.3
    receiver.delay = 1.5
    subscribe(receiver.url)
    emit(app, world)

    assert deliver(app, T0) == "delivered 0, will retry 1, gave up 0"
    [row] = deliveries(app)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.PENDING, 1, None)
    assert row.last_error == "timed out after 0.3 s"
    assert 250 <= row.duration_ms < 1500


def test_a_redirect_is_an_answer_not_an_instruction(app, world, receiver, subscribe, frozen):
    frozen(T0)
    subscribe(receiver.url)
    receiver.answer(302)
    emit(app, world)

    assert deliver(app, T0) == "delivered 0, will retry 1, gave up 0"
    assert [r.path for r in receiver.requests] == ["/hook"]  # /hook/moved never asked
    [row] = deliveries(app)
    assert row.last_status_code == 302
    assert "redirects are not followed" in row.last_error


def test_two_delivery_runs_at_once_send_each_delivery_exactly_once(app, world, receiver,
                                                                   subscribe, make_app, frozen):
    frozen(T0)
    for n in range(5):
        subscribe(f"{receiver.url}/{n}")
    for _ in range(4):
        emit(app, world)
    receiver.delay = 0.02  # each POST takes a moment, so the two runs overlap
    apps = [make_app(WEBHOOKS_ALLOW_HTTP=True), make_app(WEBHOOKS_ALLOW_HTTP=True)]
    barrier = threading.Barrier(2, timeout=30)
    results: list[str] = []

    def run(worker_app) -> None:
        barrier.wait()
        results.append(run_job(worker_app, job_by_id("deliver_webhooks"), runner="test").result)

    threads = [threading.Thread(target=run, args=(a,)) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    sent = [(r.path, r.headers["DAP-Webhook-Id"]) for r in receiver.requests]
    assert len(sent) == 20
    assert len(set(sent)) == 20
    assert sum(int(result.split()[1].rstrip(",")) for result in results) == 20
    assert {(d.status, d.attempts) for d in deliveries(app)} == {(DeliveryStatus.DELIVERED, 1)}


def test_an_event_in_a_rolled_back_transaction_is_never_sent(app, world, receiver, subscribe):
    subscribe(receiver.url)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        person = db.session.get(User, world["participant"])
        goal = plans.write_goal(plans.plan_for(cohort, person), actor=person, title="Poll")
        db.session.commit()
        plans.check_in(goal, actor=person, progress=10, minutes=None, note="")
        # queued in the caller's transaction…
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 1
        db.session.rollback()  # …and gone with it
    assert deliveries(app) == []
    assert deliver(app).startswith("delivered 0")
    assert receiver.requests == []


def test_emit_costs_one_query_without_subscribers_and_two_with(app, world, receiver, subscribe):
    def refuse():
        pytest.fail("the payload was built with nobody listening")

    with counting_queries(app) as statements, app.app_context():
        assert services.emit(world["cohort"], "check_in.created", refuse) == 0
    assert len(_sql(statements)) == 1

    listening, _ = subscribe(receiver.url, events=["check_in.created"])
    subscribe(receiver.url, events=["goal.completed"])
    off, _ = subscribe(receiver.url, events=["check_in.created"])
    other_cohort = _other_cohort(app)
    subscribe(receiver.url, events=["check_in.created"], cohort=other_cohort)
    with app.app_context():
        services.set_active(db.session.get(WebhookSubscription, off), active=False)
        db.session.commit()
    with counting_queries(app) as statements, app.app_context():
        assert services.emit(world["cohort"], "check_in.created", {"n": 1}) == 1
        db.session.commit()
    assert len(_sql(statements)) == 2
    assert [(d.subscription_id, d.event_type) for d in deliveries(app)] == [
        (listening, "check_in.created")]
    with app.app_context(), pytest.raises(ValueError, match="unknown webhook event type"):
        services.emit(world["cohort"], "goal.deleted", {})


def test_a_scans_findings_are_queued_in_one_select_and_one_insert(app, world, receiver,
                                                                  subscribe):
    """``emit_each`` (the silence scan's door): many events, each with its own id, in the same
    two statements however many there are; cohorts nobody listens to cost nothing more."""
    quiet_cohort = _other_cohort(app)
    first, _ = subscribe(receiver.url, events=["participant.silent"])
    second, _ = subscribe(receiver.url, events=["participant.silent", "goal.completed"])
    findings = [(world["cohort"], {"n": n}) for n in range(5)] + [(quiet_cohort, {"n": 9})]
    with counting_queries(app) as statements, app.app_context():
        assert services.emit_each("participant.silent", findings) == 10
        db.session.commit()
    assert len(_sql(statements)) == 2
    rows = deliveries(app)
    assert sorted({d.subscription_id for d in rows}) == [first, second]
    by_event = {}
    for row in rows:
        by_event.setdefault(row.event_id, []).append(json.loads(row.payload)["data"]["n"])
    assert sorted(by_event.values()) == [[n, n] for n in range(5)]


def _sql(statements: list[str]) -> list[str]:
    """The statements that read or write (SQLite's ``BEGIN IMMEDIATE`` is DAP's own)."""
    return [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]


def _other_cohort(app) -> int:
    from tests import factories

    with app.app_context():
        cohort = factories.make_cohort()
        db.session.commit()
        return cohort.id


def _arrange_finished(app, subscription_id: int, statuses: list[DeliveryStatus]) -> None:
    """Finished deliveries in this order (oldest first), as earlier runs left them."""
    with app.app_context():
        for n, status in enumerate(statuses):
            db.session.add(WebhookDelivery(
                subscription_id=subscription_id, event_type="check_in.created",
                event_id=f"{n:032x}", payload="{}", status=status, attempts=6,
                next_attempt_at=T0, created_at=T0))
        db.session.commit()


def _last_try(app, subscription_id: int) -> None:
    """A delivery on its sixth and last attempt."""
    with app.app_context():
        db.session.add(WebhookDelivery(
            subscription_id=subscription_id, event_type="check_in.created",
            event_id="f" * 32, payload="{}", status=DeliveryStatus.PENDING, attempts=5,
            next_attempt_at=T0, created_at=T0))
        db.session.commit()


def test_twenty_failures_in_a_row_turn_a_subscription_off_and_facilitators_are_told(
        app, world, subscribe, frozen):
    frozen(T0)
    sid, _ = subscribe(closed_port_url())
    _arrange_finished(app, sid, [DeliveryStatus.FAILED] * 19)
    _last_try(app, sid)

    assert deliver(app, T0) == "delivered 0, will retry 0, gave up 1"

    off = subscription(app, sid)
    assert not off.is_active
    assert off.disabled_at == T0
    assert "last 20 deliveries failed" in off.disabled_reason
    with app.app_context():
        told = db.session.scalars(select(Notification).where(
            Notification.link == f"/cohorts/{world['cohort']}/webhooks/{sid}")).all()
        assert [n.user_id for n in told] == [world["facilitator"]]
        assert "turned off" in told[0].title
    assert emit(app, world) == 0  # nothing more is queued for it


def test_a_success_among_the_last_twenty_keeps_a_subscription_on(app, world, subscribe, frozen):
    frozen(T0)
    sid, _ = subscribe(closed_port_url())
    _arrange_finished(app, sid, [DeliveryStatus.DELIVERED] + [DeliveryStatus.FAILED] * 18
                      + [DeliveryStatus.DELIVERED])
    _last_try(app, sid)

    assert deliver(app, T0) == "delivered 0, will retry 0, gave up 1"
    assert subscription(app, sid).is_active


def test_deliveries_wait_while_a_subscription_is_off(app, world, receiver, subscribe, frozen):
    frozen(T0)
    sid, _ = subscribe(receiver.url)
    emit(app, world)
    with app.app_context():
        services.set_active(db.session.get(WebhookSubscription, sid), active=False, reason="x")
        db.session.commit()
    assert deliver(app, T0).startswith("delivered 0")
    assert receiver.requests == []
    with app.app_context():
        services.set_active(db.session.get(WebhookSubscription, sid), active=True)
        db.session.commit()
    assert deliver(app, T0).startswith("delivered 1")
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(("url", "error"), [
    ("http://127.0.0.1:{port}/hook", "refused: only https:// addresses are allowed"),
    ("https://127.0.0.1:{port}/hook", "refused: 127.0.0.1 is on this machine or a private network"),
    ("https://localhost:{port}/hook", "refused: localhost is on this machine or a private network"),
])
def test_outside_development_only_public_https_addresses_are_posted_to(
        app, world, receiver, subscribe, frozen, url, error):
    """A subscription made while http and local addresses were allowed (or a public name
    that now resolves to a private address) is refused at each attempt."""
    frozen(T0)
    subscribe(url.format(port=receiver.port))
    emit(app, world)
    app.config["WEBHOOKS_ALLOW_HTTP"] = False

    assert deliver(app, T0) == "delivered 0, will retry 1, gave up 0"
    assert receiver.requests == []
    [row] = deliveries(app)
    assert row.last_error == error


def test_finished_deliveries_are_kept_for_thirty_days(app, world, receiver, subscribe, frozen):
    frozen(T0)
    sid, _ = subscribe(receiver.url)
    emit(app, world)
    deliver(app, T0)
    receiver.status = 500
    emit(app, world)  # pending, retried for a while
    deliver(app, T0)

    assert deliver(app, T0 + timedelta(days=30)).endswith("gave up 0")
    assert len(deliveries(app, sid)) == 2
    result = deliver(app, T0 + timedelta(days=30, seconds=1))
    assert result.endswith("removed 1 old deliveries")
    [left] = deliveries(app, sid)
    assert json.loads(left.payload)["type"] == "check_in.created"
    assert left.status is not DeliveryStatus.DELIVERED


def test_the_receiver_example_in_the_docs_verifies_a_real_delivery(app, world, receiver,
                                                                   subscribe):
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", guide, re.S)
    namespace: dict = {}
    exec(compile(example, "docs/WEBHOOKS.md", "exec"), namespace)  # noqa: S102 - our own docs
    verify = namespace["verify"]
    _, secret = subscribe(receiver.url)
    emit(app, world)
    deliver(app)  # the real clock: the example checks against time.time()

    [request] = receiver.requests
    assert verify(secret, request.headers, request.body)
    assert not verify(secret[::-1], request.headers, request.body)
    assert not verify(secret, request.headers, request.body + b" ")
