"""API fixtures: the small world of tests/conftest.py with a token per role, and a client
that sends a bearer token and JSON."""

from __future__ import annotations

from datetime import date

import pytest

from dap.accounts import api_tokens
from dap.accounts.models import TokenScope, User
from dap.extensions import db


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
