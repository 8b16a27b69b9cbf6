"""``Idempotency-Key``: a retried POST creates one record and answers as the first did."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.api.models import IdempotentRequest
from dap.extensions import db
from dap.timecap.models import WebActivity
from tests.api.conftest import Api

ACTIVITY = {"kind": "read", "title": "A guide to shared calendars", "minutes": 25,
            "url": "https://example.org/calendars"}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_retry_with_the_same_key_creates_one_record(app, api):
    client = api("participant")
    first = client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "k-1"})
    again = client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(app, WebActivity) == 1


def test_the_replay_keeps_the_location(api):
    client = api("participant")
    first = client.post("/goals", json={"title": "Use a password manager"},
                        headers={"Idempotency-Key": "goal-1"})
    again = client.post("/goals", json={"title": "Use a password manager"},
                        headers={"Idempotency-Key": "goal-1"})
    assert first.headers["Location"] == again.headers["Location"]
    assert len(client.get("/goals").get_json()["items"]) == 1


def test_without_a_key_each_post_creates_a_record(app, api):
    client = api("participant")
    client.post("/web-activities", json=ACTIVITY)
    client.post("/web-activities", json=ACTIVITY)
    assert _count(app, WebActivity) == 2


def test_different_keys_create_different_records(app, api):
    client = api("participant")
    client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "a"})
    client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "b"})
    assert _count(app, WebActivity) == 2


def test_the_same_key_with_another_body_is_refused(app, api):
    client = api("participant")
    client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "k"})
    response = client.post("/web-activities", json={**ACTIVITY, "minutes": 50},
                           headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "idempotency_key_reused"
    assert _count(app, WebActivity) == 1


def test_the_same_key_on_another_endpoint_is_refused(api):
    client = api("participant")
    client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "k"})
    response = client.post("/goals", json={"title": "Anything"}, headers={"Idempotency-Key": "k"})
    assert response.get_json()["code"] == "idempotency_key_reused"


def test_keys_belong_to_their_owner(app, api, world):
    """Another person's key of the same name is another key: nobody sees anyone's answer."""
    from tests import factories

    with app.app_context():
        from dap.accounts.models import User
        from dap.cohorts.models import Cohort, CohortRole

        cohort = db.session.get(Cohort, world["cohort"])
        other = factories.make_user(name="Bea Participant")
        factories.add_member(cohort, other, CohortRole.PARTICIPANT)
        db.session.commit()
        from tests.api.conftest import make_token

        secret = make_token(other.id)
        assert db.session.get(User, other.id) is not None
    mine = api("participant").post("/web-activities", json=ACTIVITY,
                                   headers={"Idempotency-Key": "shared"})
    theirs = Api(app.test_client(), secret).post("/web-activities", json=ACTIVITY,
                                                 headers={"Idempotency-Key": "shared"})
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != mine.get_json()["id"]


@pytest.mark.parametrize("key", ["", " ", "has space", "é", "x" * 256, "tab\there"])
def test_bad_keys_are_400(app, api, key):
    response = api("participant").post("/web-activities", json=ACTIVITY,
                                       headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_idempotency_key"
    assert _count(app, WebActivity) == 0


def test_a_refused_request_is_not_remembered(app, api):
    """An answer that is an error is not kept: the same key with a corrected body works."""
    client = api("participant")
    bad = client.post("/web-activities", json={**ACTIVITY, "minutes": 0},
                      headers={"Idempotency-Key": "fix-me"})
    assert bad.status_code == 422
    good = client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "fix-me"})
    assert good.status_code == 201
    assert _count(app, IdempotentRequest) == 1


def test_keys_are_forgotten_after_a_day(app, api, frozen):
    start = frozen(datetime(2026, 12, 2, 10, tzinfo=UTC))
    client = api("participant")
    client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "daily"})
    frozen(start + timedelta(hours=25))
    again = client.post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "daily"})
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert _count(app, WebActivity) == 2


def test_the_scheduled_prune_forgets_old_keys(app, api, frozen):
    from tests.conftest import run_due_at

    start = frozen(datetime(2026, 12, 2, 10, tzinfo=UTC))
    api("participant").post("/web-activities", json=ACTIVITY, headers={"Idempotency-Key": "old"})
    assert _count(app, IdempotentRequest) == 1
    run_due_at(app, start + timedelta(days=1, hours=3), "prune_history")
    assert _count(app, IdempotentRequest) == 0


def test_concurrent_retries_create_one_record(app, api, make_app, tokens):
    """Two copies of one request at the same moment, on two app instances (two workers):
    one record, and both answers carry it."""
    second = make_app()
    clients = [api("participant"), Api(second.test_client(), tokens["participant"])]
    answers: list = [None, None]
    barrier = threading.Barrier(2)

    def send(i: int) -> None:
        barrier.wait()
        answers[i] = clients[i].post("/web-activities", json=ACTIVITY,
                                     headers={"Idempotency-Key": "race"})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json()["id"] == answers[1].get_json()["id"]
    assert _count(app, WebActivity) == 1
