"""A cohort's webhook pages through HTTP: adding one (and every bad address or event list),
the secret and its rotation, the test ping, turning off and on, deleting, sending a failed
delivery again, the paginated log, and who may do any of it (managers; others 404; archived
cohorts read-only)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.webhooks import services
from dap.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests import factories
from tests.conftest import post_form
from tests.webhooks.conftest import T0, deliver, deliveries, subscription
from tests.webhooks.receiver import closed_port_url

ALL_EVENTS = list(services.EVENT_TYPES)
GOOD = "https://hooks.example.org/dap"


def _text(response) -> str:
    return response.get_data(as_text=True)


def _base(world) -> str:
    return f"/cohorts/{world['cohort']}/webhooks"


def _subscriptions(app) -> list[WebhookSubscription]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))
        db.session.expunge_all()
        return rows


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("webhook.%")).order_by(AuditEvent.id)))


@pytest.fixture
def manager(role_client):
    return role_client("facilitator")


@pytest.fixture
def production_like(app):
    """As deployed: https only, no local or private addresses."""
    app.config["WEBHOOKS_ALLOW_HTTP"] = False


# --- adding ------------------------------------------------------------------------------------


def test_a_manager_adds_a_webhook_from_the_overview_and_sees_its_secret(app, world, manager,
                                                                        production_like):
    overview = _text(manager.get(f"/cohorts/{world['cohort']}"))
    assert f'href="{_base(world)}"' in overview
    page = _text(manager.get(_base(world)))
    assert "No webhooks yet." in page
    for name in ALL_EVENTS:
        assert f'value="{name}"' in page
    assert 'value="ping"' not in page

    response = post_form(manager, _base(world), {
        "url": f"  {GOOD}  ", "events": ["event.rsvp", "goal.completed"]})

    assert response.status_code == 303
    [made] = _subscriptions(app)
    assert response.headers["Location"] == f"{_base(world)}/{made.id}"
    assert made.url == GOOD
    assert made.events == ["goal.completed", "event.rsvp"]  # in the list's order
    assert re.fullmatch(r"[0-9a-f]{64}", made.secret)
    assert made.is_active
    assert made.created_by_id == world["facilitator"]
    shown = manager.get(f"{_base(world)}/{made.id}")
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert made.secret in _text(shown)
    assert "Nothing sent yet" in _text(shown)
    assert GOOD in _text(manager.get(_base(world)))
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.created"))
        assert (event.actor_id, event.cohort_id) == (world["facilitator"], world["cohort"])
        assert event.details["url"] == GOOD


@pytest.mark.parametrize(("url", "events", "message"), [
    ("", ALL_EVENTS, "Enter the address DAP should post events to."),
    ("javascript:alert(1)", ALL_EVENTS, "Use a web address starting with https://."),
    ("ftp://files.example.org/hook", ALL_EVENTS, "Use a web address starting with https://."),
    ("hooks.example.org/dap", ALL_EVENTS, "Use a web address starting with https://."),
    ("http://hooks.example.org/dap", ALL_EVENTS, "Use an https:// address"),
    ("https://user:pass@hooks.example.org/dap", ALL_EVENTS, "Leave user names and passwords out"),
    ("https://token@hooks.example.org/dap", ALL_EVENTS, "Leave user names and passwords out"),
    ("https://hooks.example.org/" + "a" * 475, ALL_EVENTS, "at most 500 characters"),
    ("https://hooks.example.org/" + "a" * 100_000, ALL_EVENTS, "at most 500 characters"),
    ("https://hooks.example.org/a b", ALL_EVENTS, "may not contain spaces"),
    ("https://hooks.exämple.org/dap", ALL_EVENTS, "Write the address in plain ASCII"),
    ("https://hooks.example.org:99999/dap", ALL_EVENTS, "That is not a web address."),
    ("https:///dap", ALL_EVENTS, "That address has no host name."),
    ("https://127.0.0.1/dap", ALL_EVENTS, "Use a public address"),
    ("https://10.1.2.3/dap", ALL_EVENTS, "Use a public address"),
    ("https://[::1]/dap", ALL_EVENTS, "Use a public address"),
    ("https://localhost:8443/dap", ALL_EVENTS, "Use a public address"),
    (GOOD, [], "Choose at least one event to send."),
    (GOOD, ["goal.deleted"], "Unknown event type: goal.deleted."),
    (GOOD, ["ping"], "Unknown event type: ping."),
    (GOOD, ["goal.completed", "x" * 5000], "Unknown event type: " + "x" * 40 + "."),
])
def test_bad_addresses_and_event_lists_are_refused_with_a_message(
        app, world, manager, production_like, url, events, message):
    response = post_form(manager, _base(world), {"url": url, "events": events})
    assert response.status_code == 400
    assert message in _text(response)
    assert _subscriptions(app) == []


def test_an_address_of_exactly_500_characters_is_accepted(app, world, manager, production_like):
    url = "https://hooks.example.org/" + "a" * 474
    assert len(url) == 500
    assert post_form(manager, _base(world), {"url": url, "events": ALL_EVENTS}).status_code == 303
    assert [s.url for s in _subscriptions(app)] == [url]


def test_http_and_local_addresses_are_allowed_in_development(app, world, manager):
    response = post_form(manager, _base(world), {"url": "http://127.0.0.1:8080/dap",
                                                 "events": ["goal.completed"]})
    assert response.status_code == 303


def test_a_cohort_has_at_most_ten_webhooks(app, world, manager, subscribe):
    for n in range(services.MAX_PER_COHORT):
        subscribe(f"{GOOD}/{n}")
    page = _text(manager.get(_base(world)))
    assert "the most it may have" in page
    response = post_form(manager, _base(world), {"url": GOOD, "events": ALL_EVENTS})
    assert response.status_code == 400
    assert "at most 10 webhooks" in _text(response)
    assert len(_subscriptions(app)) == services.MAX_PER_COHORT


# --- who may -----------------------------------------------------------------------------------


def _paths(world, sid: int, delivery_id: int = 1, cohort: int | None = None) -> list[tuple[str, str]]:
    base = f"/cohorts/{cohort or world['cohort']}/webhooks"
    return [
        ("GET", base), ("GET", f"{base}/{sid}"), ("POST", base),
        ("POST", f"{base}/{sid}/ping"), ("POST", f"{base}/{sid}/active"),
        ("POST", f"{base}/{sid}/rotate"), ("POST", f"{base}/{sid}/delete"),
        ("POST", f"{base}/{sid}/deliveries/{delivery_id}/redeliver"),
    ]


def _failed_delivery(app, sid: int) -> int:
    with app.app_context():
        row = WebhookDelivery(subscription_id=sid, event_type="goal.completed",
                              event_id="a" * 32, payload='{"type":"goal.completed"}',
                              status=DeliveryStatus.FAILED, attempts=6, next_attempt_at=T0,
                              created_at=T0, last_error="could not connect")
        db.session.add(row)
        db.session.commit()
        return row.id


def _request(client, method: str, path: str, data: dict | None = None):
    if method == "GET":
        return client.get(path)
    return post_form(client, path, data or {"url": GOOD, "events": ALL_EVENTS, "active": "0"})


@pytest.mark.parametrize("role", ["participant", "patron", "outsider"])
def test_members_who_do_not_manage_the_cohort_get_404_everywhere(app, world, role_client,
                                                                 subscribe, receiver, role):
    sid, secret = subscribe(receiver.url)
    delivery_id = _failed_delivery(app, sid)
    client = role_client(role)
    for method, path in _paths(world, sid, delivery_id):
        assert _request(client, method, path).status_code == 404, (method, path)
    assert receiver.requests == []
    [kept] = _subscriptions(app)
    assert (kept.secret, kept.is_active) == (secret, True)
    assert deliveries(app)[0].status is DeliveryStatus.FAILED


def test_another_cohorts_webhooks_are_404_for_a_facilitator(app, world, manager, subscribe,
                                                           receiver):
    with app.app_context():
        other = factories.make_cohort()
        db.session.commit()
        other_id = other.id
    theirs, secret = subscribe(receiver.url, cohort=other_id)
    delivery_id = _failed_delivery(app, theirs)
    mine, _ = subscribe(receiver.url)
    # through their cohort's URLs, and through mine with their ids
    paths = (_paths(world, theirs, delivery_id, cohort=other_id)
             + _paths(world, theirs, delivery_id)[1:])
    paths = [p for p in paths if p != ("POST", f"/cohorts/{world['cohort']}/webhooks")]
    for method, path in paths:
        assert _request(manager, method, path).status_code == 404, (method, path)
    # my subscription with their delivery's id
    assert post_form(manager, f"{_base(world)}/{mine}/deliveries/{delivery_id}/redeliver"
                     ).status_code == 404
    kept = subscription(app, theirs)
    assert (kept.secret, kept.is_active) == (secret, True)
    assert receiver.requests == []
    assert [d.status for d in deliveries(app, theirs)] == [DeliveryStatus.FAILED]


def test_an_archived_cohorts_webhooks_are_read_only(app, world, manager, subscribe, receiver):
    sid, secret = subscribe(receiver.url)
    delivery_id = _failed_delivery(app, sid)
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    index = _text(manager.get(_base(world)))
    assert "Archived." in index
    assert "Add a webhook" not in index
    page = _text(manager.get(f"{_base(world)}/{sid}"))
    assert "Send a test ping" not in page
    assert "Send again" not in page
    for method, path in _paths(world, sid, delivery_id):
        if method == "POST":
            assert _request(manager, method, path).status_code == 403, path
    assert receiver.requests == []
    [kept] = _subscriptions(app)
    assert (kept.secret, kept.is_active) == (secret, True)
    assert [d.status for d in deliveries(app)] == [DeliveryStatus.FAILED]


def test_posts_without_a_csrf_token_are_refused(app, world, manager, subscribe, receiver):
    sid, secret = subscribe(receiver.url)
    delivery_id = _failed_delivery(app, sid)
    for method, path in _paths(world, sid, delivery_id):
        if method == "POST":
            response = manager.post(path, data={"url": GOOD, "events": ALL_EVENTS, "active": "0"})
            assert response.status_code == 400, path
    [kept] = _subscriptions(app)
    assert (kept.secret, kept.is_active) == (secret, True)
    assert receiver.requests == []


# --- the test ping -----------------------------------------------------------------------------


def test_a_ping_is_sent_at_once_and_its_result_shown(app, world, manager, subscribe, receiver):
    sid, secret = subscribe(receiver.url, events=["goal.completed"])
    response = post_form(manager, f"{_base(world)}/{sid}/ping")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{_base(world)}/{sid}"

    [request] = receiver.requests
    assert request.verifies(secret)
    payload = request.payload
    assert payload["type"] == "ping"
    assert payload["data"] == {"webhook_id": sid, "sent_by": {"id": world["facilitator"],
                                                              "name": "Sam Facilitator"}}
    page = _text(manager.get(response.headers["Location"]))
    assert "Ping delivered: your tool answered HTTP 200" in page
    assert "delivered</span>" in page
    [row] = deliveries(app)
    assert (row.event_type, row.status, row.attempts) == ("ping", DeliveryStatus.DELIVERED, 1)


def test_a_failed_ping_is_shown_and_retried_like_any_delivery(app, world, manager, subscribe,
                                                              receiver):
    sid, _ = subscribe(receiver.url)
    receiver.answer(503)
    response = post_form(manager, f"{_base(world)}/{sid}/ping", follow_redirects=True)
    assert "Ping not delivered: HTTP 503" in _text(response)
    [row] = deliveries(app)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.PENDING, 1, 503)
    assert deliver(app, row.next_attempt_at).startswith("delivered 1")
    assert len(receiver.requests) == 2


def test_a_ping_reaches_a_turned_off_webhook_so_its_receiver_can_be_checked(
        app, world, manager, subscribe, receiver):
    sid, _ = subscribe(receiver.url)
    assert post_form(manager, f"{_base(world)}/{sid}/active", {"active": "0"}).status_code == 303
    response = post_form(manager, f"{_base(world)}/{sid}/ping", follow_redirects=True)
    assert "Ping delivered" in _text(response)
    assert [r.payload["type"] for r in receiver.requests] == ["ping"]
    assert not subscription(app, sid).is_active


def test_pings_are_limited_to_ten_a_minute_per_person(app, world, manager, subscribe, receiver):
    sid, _ = subscribe(receiver.url)
    for _ in range(10):
        assert post_form(manager, f"{_base(world)}/{sid}/ping").status_code == 303
    assert post_form(manager, f"{_base(world)}/{sid}/ping").status_code == 429
    assert len(receiver.requests) == 10


# --- on and off, secret, delete, send again ----------------------------------------------------


def test_a_manager_turns_a_webhook_off_and_on(app, world, manager, subscribe, receiver):
    sid, _ = subscribe(receiver.url)
    path = f"{_base(world)}/{sid}/active"
    assert post_form(manager, path, {"active": "maybe"}).status_code == 400
    assert post_form(manager, path, {}).status_code == 400
    assert subscription(app, sid).is_active

    assert post_form(manager, path, {"active": "0"}).status_code == 303
    off = subscription(app, sid)
    assert not off.is_active
    assert off.disabled_reason == "Turned off by Sam Facilitator."
    page = _text(manager.get(f"{_base(world)}/{sid}"))
    assert "Turned off by Sam Facilitator." in page
    assert "Turn on" in page
    with app.app_context():
        assert services.emit(world["cohort"], "goal.completed", {}) == 0

    assert post_form(manager, path, {"active": "1"}).status_code == 303
    on = subscription(app, sid)
    assert (on.is_active, on.disabled_at, on.disabled_reason) == (True, None, "")
    assert _actions(app) == ["webhook.created", "webhook.disabled", "webhook.enabled"]


def test_rotating_the_secret_signs_what_follows_with_the_new_one(app, world, manager, subscribe,
                                                                 receiver):
    sid, old = subscribe(receiver.url)
    assert post_form(manager, f"{_base(world)}/{sid}/rotate").status_code == 303
    new = subscription(app, sid).secret
    assert new != old
    assert re.fullmatch(r"[0-9a-f]{64}", new)
    page = _text(manager.get(f"{_base(world)}/{sid}"))
    assert new in page
    assert old not in page
    post_form(manager, f"{_base(world)}/{sid}/ping")
    [request] = receiver.requests
    assert request.verifies(new)
    assert not request.verifies(old)
    assert _actions(app) == ["webhook.created", "webhook.secret_rotated"]


def test_deleting_a_webhook_removes_it_and_its_log(app, world, manager, subscribe, receiver):
    sid, _ = subscribe(receiver.url)
    with app.app_context():
        services.emit(world["cohort"], "goal.completed", {})
        db.session.commit()
    response = post_form(manager, f"{_base(world)}/{sid}/delete")
    assert response.status_code == 303
    assert response.headers["Location"] == _base(world)
    assert _subscriptions(app) == []
    assert deliveries(app) == []
    assert manager.get(f"{_base(world)}/{sid}").status_code == 404
    deliver(app)
    assert receiver.requests == []
    assert _actions(app) == ["webhook.created", "webhook.deleted"]


def test_a_failed_delivery_is_sent_again_with_the_same_event_id(app, world, manager, subscribe,
                                                                receiver):
    sid, _ = subscribe(receiver.url)
    failed = _failed_delivery(app, sid)
    page = _text(manager.get(f"{_base(world)}/{sid}"))
    assert "failed</span>" in page
    assert "could not connect" in page
    assert f"deliveries/{failed}/redeliver" in page

    assert post_form(manager, f"{_base(world)}/{sid}/deliveries/{failed}/redeliver"
                     ).status_code == 303
    [row] = deliveries(app)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
    assert deliver(app).startswith("delivered 1")
    [request] = receiver.requests
    assert request.headers["DAP-Webhook-Id"] == "a" * 32
    assert request.body == b'{"type":"goal.completed"}'

    # a delivered one is not sent again; an id that does not exist is 404
    again = post_form(manager, f"{_base(world)}/{sid}/deliveries/{failed}/redeliver",
                      follow_redirects=True)
    assert "Only a failed delivery can be sent again." in _text(again)
    assert deliveries(app)[0].status is DeliveryStatus.DELIVERED
    assert post_form(manager, f"{_base(world)}/{sid}/deliveries/999999/redeliver"
                     ).status_code == 404
    assert len(receiver.requests) == 1


def test_the_delivery_log_is_newest_first_and_paginated(app, world, manager, subscribe):
    sid, _ = subscribe(closed_port_url())
    with app.app_context():
        for n in range(30):
            services.emit(world["cohort"], "check_in.created", {"n": n})
        db.session.commit()
    ids = [d.event_id for d in deliveries(app, sid)]
    first = _text(manager.get(f"{_base(world)}/{sid}"))
    assert "Page 1 of 2" in first
    shown = re.findall(r'title="event id">([0-9a-f]{12})…', first)
    assert shown == [i[:12] for i in reversed(ids)][:25]
    second = _text(manager.get(f"{_base(world)}/{sid}?page=2"))
    assert re.findall(r'title="event id">([0-9a-f]{12})…', second) == [
        i[:12] for i in reversed(ids)][25:]
    for page in ("abc", "-5", "0", "99999999999999"):
        assert manager.get(f"{_base(world)}/{sid}?page={page}").status_code == 200
