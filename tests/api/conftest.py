"""API fixtures: the small world of tests/conftest.py with a token per role, and a client
that sends a bearer token and JSON."""

from __future__ import annotations

from datetime import date

import pytest

from dap.accounts import api_tokens
from dap.accounts.models import TokenScope, User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans import services as plan_services
from dap.plans.models import GoalStatus


class Api:
    """A test client speaking to /api/v1 with one token (or none)."""

    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.token = token

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, **kwargs):
        return self.client.get("/api/v1" + path, headers=self.headers(kwargs.pop("headers", None)),
                               **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post("/api/v1" + path, json=json,
                                headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.client.patch("/api/v1" + path, json=json,
                                 headers=self.headers(kwargs.pop("headers", None)), **kwargs)


def make_token(user_id: int, scope: TokenScope = TokenScope.READ_WRITE,
               expires_on: date | None = None, name: str = "Test") -> str:
    user = db.session.get(User, user_id)
    _, secret = api_tokens.create(user, name=name, scope=scope, expires_on=expires_on,
                                  actor=user)
    db.session.commit()
    return secret


@pytest.fixture
def tokens(app, world) -> dict[str, str]:
    """A read-write token for each role of the world (and ``<role>-read`` read tokens)."""
    out = {}
    with app.app_context():
        for role in ("participant", "patron", "facilitator", "admin", "outsider"):
            out[role] = make_token(world[role])
            out[f"{role}-read"] = make_token(world[role], TokenScope.READ, name="Read only")
    return out


@pytest.fixture
def api(app, tokens):
    """``api(role)`` → an Api client with that role's token (``None``: no token)."""

    def make(role: str | None = "participant") -> Api:
        return Api(app.test_client(), tokens[role] if role else None)

    return make


def problem(response, status: int, code: str, field: str | None = None) -> dict:
    """The response is problem details (RFC 9457) with this status and stable code, and
    ``field`` among the fields at fault when given."""
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["status"], body["code"], body["type"]) == (status, code, "about:blank"), body
    assert body["title"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
        assert all(e["message"] and e["code"] for e in body["errors"])
    return body


def all_pages(client: Api, path: str, limit: int) -> tuple[list[int], list[str | None]]:
    """Every page of a list, following ``next_cursor``: the ids in order and the cursors."""
    ids, cursors, cursor = [], [], None
    for _ in range(20):
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["items"]) <= limit
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        cursors.append(cursor)
        if cursor is None:
            return ids, cursors
    raise AssertionError("the pages never ended")


def write_goal(app, user_id: int, cohort_id: int, title: str = "Run a poll",
               status: GoalStatus = GoalStatus.ACTIVE, **fields) -> int:
    """A goal written through the plan service (as the web page would), then planned,
    dropped or finished when ``status`` says so; ``fields`` go to ``write_goal``."""
    with app.app_context():
        person = db.session.get(User, user_id)
        plan = plan_services.plan_for(db.session.get(Cohort, cohort_id), person)
        goal = plan_services.write_goal(plan, actor=person, title=title, **fields)
        if status is GoalStatus.DONE:
            plan_services.complete_goal(goal, actor=person, reflection="Done", evidence=[])
        elif status is not GoalStatus.ACTIVE:
            plan_services.set_status(goal, status=status, reason="No time")
        db.session.commit()
        return goal.id
