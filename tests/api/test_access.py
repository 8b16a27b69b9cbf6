"""The API's access matrix: every operation, as each role's token, and with each kind of
token that must open nothing (none, revoked, expired, read-only for a write).

Adding an API operation without adding it here fails ``test_matrix_covers_every_operation``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts import api_tokens
from dap.accounts.models import ApiToken, User
from dap.api.spec import REGISTRY, openapi_path
from dap.cohorts.models import Cohort
from dap.events.models import Event, EventKind, EventMode, EventStatus
from dap.extensions import db
from dap.nudges.models import NotificationKind
from dap.nudges.notify import notify
from dap.plans import services as plan_services
from tests.api.conftest import Api, make_token

ROLES = ["participant", "patron", "facilitator", "admin", "outsider"]
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def only_participant(status: int, others: int = 404) -> dict[str, int]:
    return {**everyone(others), "participant": status}


#: (method, path with {placeholders}, body, expected status per role)
MATRIX: dict[str, tuple[str, str, dict | None, dict[str, int]]] = {
    "api.me": ("GET", "/me", None, everyone(200)),
    "api.time_summary": ("GET", "/time", None, everyone(200)),
    "api.list_goals": ("GET", "/goals", None, everyone(200)),
    "api.get_goal": ("GET", "/goals/{goal}", None, only_participant(200)),
    # others have no running cohort of their own: no plan to add to
    "api.create_goal": ("POST", "/goals", {"title": "Set up online banking"},
                        only_participant(201, 422)),
    "api.update_goal": ("PATCH", "/goals/{goal}", {"why": "To pay rent on time"},
                        only_participant(200)),
    "api.list_check_ins": ("GET", "/check-ins", None, everyone(200)),
    # someone else's goal id in the body: "not one of your goals"
    "api.create_check_in": ("POST", "/check-ins", {"goal_id": "{goal}", "minutes": 10},
                            only_participant(201, 422)),
    "api.list_web_activities": ("GET", "/web-activities", None, everyone(200)),
    "api.create_web_activity": ("POST", "/web-activities",
                                {"kind": "read", "title": "A guide", "minutes": 10},
                                only_participant(201, 403)),
    "api.list_events": ("GET", "/events", None, everyone(200)),
    # the cohort's patron, facilitator and admin see the event but do not answer it
    "api.answer_event": ("POST", "/events/{event}/rsvp", {"going": True},
                         {**everyone(403), "participant": 200, "outsider": 404}),
    "api.list_notifications": ("GET", "/notifications", None, everyone(200)),
    "api.read_notification": ("POST", "/notifications/{notification}/read", None,
                              only_participant(200)),
    "api.read_all_notifications": ("POST", "/notifications/read-all", None, everyone(200)),
    "api.list_looked_after": ("GET", "/participants", None, everyone(200)),
    "api.openapi": ("GET", "/openapi.json", None, everyone(200)),
}


@pytest.fixture
def things(app, world, frozen):
    """Ids of the participant's goal, an event of the cohort and a notification to the
    participant."""
    frozen(NOW)
    with app.app_context():
        participant = db.session.get(User, world["participant"])
        cohort = db.session.get(Cohort, world["cohort"])
        plan = plan_services.plan_for(cohort, participant)
        goal = plan_services.write_goal(plan, actor=participant, title="Video-call my nan")
        starts = NOW + timedelta(days=2)
        event = Event(cohort_id=cohort.id, kind=EventKind.WORKSHOP, title="Kick-off",
                      starts_at=starts, ends_at=starts + timedelta(hours=2),
                      mode=EventMode.IN_PERSON, venue="Room 1", status=EventStatus.SCHEDULED,
                      uid=f"{uuid.uuid4().hex}@dap")
        db.session.add(event)
        note = notify(participant, kind=NotificationKind.GENERAL, title="Welcome",
                      body="Glad you are here.", dedup_key="access-test")
        db.session.commit()
        return {"goal": goal.id, "event": event.id, "notification": note.id}


def _fill(value, things: dict):
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in things:
            return things[value[1:-1]]
        return value.format(**things)
    if isinstance(value, dict):
        return {k: _fill(v, things) for k, v in value.items()}
    return value


def _send(client: Api, endpoint: str, things: dict):
    method, template, body, _ = MATRIX[endpoint]
    path = _fill(template, things)
    return client.client.open("/api/v1" + path, method=method, headers=client.headers(),
                              json=_fill(body, things) if body is not None else None)


def test_matrix_covers_every_operation():
    from dap.api import blueprint

    blueprint()
    assert {op.endpoint for op in REGISTRY} == set(MATRIX)
    for op in REGISTRY:
        assert op.method == MATRIX[op.endpoint][0], op.endpoint
        assert openapi_path(op.rule)[0] == "/api/v1" + MATRIX[op.endpoint][1].replace(
            "{goal}", "{goal_id}").replace("{event}", "{event_id}").replace(
            "{notification}", "{notification_id}"), op.endpoint


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_each_role_gets_what_it_should(app, tokens, things, endpoint, role):
    response = _send(Api(app.test_client(), tokens[role]), endpoint, things)
    expected = MATRIX[endpoint][3][role]
    assert response.status_code == expected, (endpoint, role, response.get_data(as_text=True))
    if expected >= 400:
        assert response.mimetype == "application/problem+json"


def _operations(*, writes_only: bool = False) -> list[str]:
    return sorted(name for name, (method, *_rest) in MATRIX.items()
                  if name != "api.openapi" and (method != "GET" or not writes_only))


@pytest.mark.parametrize("endpoint", _operations())
def test_without_a_token_every_operation_is_401(app, things, endpoint):
    response = _send(Api(app.test_client(), None), endpoint, things)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_missing"


@pytest.mark.parametrize("endpoint", _operations())
def test_a_revoked_token_opens_no_operation(app, tokens, things, endpoint):
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(
            ApiToken.token_hash == api_tokens.hash_token(tokens["participant"])))
        api_tokens.revoke(token, actor=None)
        db.session.commit()
    response = _send(Api(app.test_client(), tokens["participant"]), endpoint, things)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_revoked"


@pytest.mark.parametrize("endpoint", _operations())
def test_an_expired_token_opens_no_operation(app, world, things, frozen, endpoint):
    with app.app_context():
        secret = make_token(world["participant"], expires_on=date(2026, 12, 2))
    frozen(NOW + timedelta(days=1))
    response = _send(Api(app.test_client(), secret), endpoint, things)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_expired"


@pytest.mark.parametrize("endpoint", _operations(writes_only=True))
def test_a_read_token_changes_nothing(app, tokens, things, endpoint):
    response = _send(Api(app.test_client(), tokens["participant-read"]), endpoint, things)
    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("endpoint", _operations())
def test_a_session_cookie_is_no_token(app, world, things, login_as, endpoint):
    with app.app_context():
        browser = login_as(db.session.get(User, world["participant"]))
    response = _send(Api(browser, None), endpoint, things)
    assert response.status_code == 401


def test_a_read_token_reads(app, tokens, things):
    reader = Api(app.test_client(), tokens["participant-read"])
    for endpoint in _operations():
        if MATRIX[endpoint][0] == "GET":
            assert _send(reader, endpoint, things).status_code == 200, endpoint
