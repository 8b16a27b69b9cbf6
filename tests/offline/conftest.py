"""A participant's device sending what it queued offline, through /sync/*."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from dap.extensions import db
from dap.plans.models import CheckIn
from dap.timecap.models import WebActivity
from tests.conftest import csrf_token
from tests.plans.conftest import own_goal  # noqa: F401 - a fixture shared with the plan tests


class Device:
    """A browser that was offline: it asks /sync/state for a token, then sends entries."""

    def __init__(self, client) -> None:
        self.client = client
        self.token = csrf_token(client) if client is not None else ""

    def state(self):
        return self.client.get("/sync/state", headers={"Accept": "application/json"})

    def send(self, path: str, body, *, key: str | None = "new",
             token: str | None = "mine", **kwargs):  # noqa: S107 - a CSRF token's stand-in
        headers = {"Accept": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = str(uuid.uuid4()) if key == "new" else key
        if token is not None:
            headers["X-CSRFToken"] = self.token if token == "mine" else token
        headers.update(kwargs.pop("headers", {}))
        if isinstance(body, dict | list) or body is None:
            return self.client.post(path, json=body, headers=headers, **kwargs)
        return self.client.post(path, data=body, headers=headers, **kwargs)

    def check_in(self, body, **kwargs):
        return self.send("/sync/check-ins", body, **kwargs)

    def web(self, body, **kwargs):
        return self.send("/sync/web-activities", body, **kwargs)


@pytest.fixture
def device(role_client):
    """``device(role="participant")`` → a Device of a new client signed in as that role."""
    return lambda role="participant": Device(role_client(role))


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


@pytest.fixture
def counts(app):
    """``counts()`` → (check-ins, web activities) stored."""

    def count() -> tuple[int, int]:
        with app.app_context():
            return (db.session.scalar(select(func.count()).select_from(CheckIn)),
                    db.session.scalar(select(func.count()).select_from(WebActivity)))

    return count


def problem(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    if field is not None:
        assert field in {e["field"] for e in body.get("errors", [])}, body
    return body
