"""The API's door: bearer tokens only, and what each kind of bad token gets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import ApiToken, TokenScope, User
from dap.extensions import db
from tests.api.conftest import Api, make_token, problem
from tests.conftest import sign_in


def test_a_token_opens_the_api_as_its_owner(api, world):
    response = api("participant").get("/me")
    assert response.status_code == 200
    assert response.get_json()["id"] == world["participant"]
    assert response.get_json()["token"]["scope"] == "read-write"


def test_no_token_is_a_401_with_a_bearer_challenge(api):
    response = api(None).get("/me")
    problem(response, 401, "token_missing")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "dap_abc", "Token dap_abc", "bearer",
])
def test_malformed_authorization_headers_are_401(app, header):
    response = app.test_client().get("/api/v1/me", headers={"Authorization": header})
    problem(response, 401, "token_missing")


@pytest.mark.parametrize("secret", [
    "dap_" + "x" * 40, "not-a-dap-token", "dap_", "dap_" + "é" * 30, "dap_" + "a" * 5000,
])
def test_unknown_tokens_are_401_invalid(app, secret):
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    body = problem(response, 401, "token_invalid")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert secret not in body.get("detail", "")


def test_the_scheme_is_case_insensitive(app, tokens):
    response = app.test_client().get("/api/v1/me",
                                     headers={"Authorization": f"bearer {tokens['participant']}"})
    assert response.status_code == 200


def test_a_session_cookie_opens_nothing(app, world, login_as):
    with app.app_context():
        client = login_as(db.session.get(User, world["participant"]))
    assert client.get("/account").status_code == 200  # signed in on the web
    problem(client.get("/api/v1/me"), 401, "token_missing")
    problem(client.post("/api/v1/goals", json={"title": "Sneaky"}), 401, "token_missing")


def test_an_api_request_sets_no_cookie(api):
    response = api("participant").get("/me")
    assert "Set-Cookie" not in response.headers


def test_revoked_token_is_401_revoked(app, api, tokens):
    from dap.accounts import api_tokens

    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(
            ApiToken.token_hash == api_tokens.hash_token(tokens["participant"])))
        api_tokens.revoke(token, actor=None)
        db.session.commit()
    problem(api("participant").get("/me"), 401, "token_revoked")


def test_expired_token_is_401_expired(app, world, frozen):
    frozen(datetime(2026, 6, 1, 12, tzinfo=UTC))
    with app.app_context():
        secret = make_token(world["participant"], expires_on=date(2026, 6, 1))
    client = Api(app.test_client(), secret)
    # the owner's zone is Europe/London (BST): the last day ends at 23:00 UTC
    frozen(datetime(2026, 6, 1, 22, 59, tzinfo=UTC))
    assert client.get("/me").status_code == 200
    frozen(datetime(2026, 6, 1, 23, 0, tzinfo=UTC))
    problem(client.get("/me"), 401, "token_expired")


@pytest.mark.parametrize("change", ["deactivated", "deleted", "managed"])
def test_tokens_of_closed_accounts_open_nothing(app, api, world, change):
    client = api("participant")
    assert client.get("/me").status_code == 200
    with app.app_context():
        user = db.session.get(User, world["participant"])
        if change == "deactivated":
            user.is_active = False
        elif change == "deleted":
            user.deleted_at = datetime.now(UTC)
        else:
            user.is_managed = True
        db.session.commit()
    problem(client.get("/me"), 401, "token_invalid")


def test_a_read_token_may_read_but_not_write(api):
    client = api("participant-read")
    assert client.get("/goals").status_code == 200
    response = client.post("/goals", json={"title": "Try a spreadsheet"})
    problem(response, 403, "insufficient_scope")
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert api("participant").get("/goals").get_json()["items"] == []  # nothing was made


def test_scope_is_checked_before_the_body(api):
    """A read token's write is refused for its scope, whatever the body holds."""
    problem(api("participant-read").post("/goals", data="{not json",
                                          content_type="application/json"),
             403, "insufficient_scope")


def test_last_use_is_noted_at_most_once_a_minute(app, api, tokens, frozen):
    from dap.accounts import api_tokens

    def last_used():
        with app.app_context():
            return db.session.scalar(select(ApiToken.last_used_at).where(
                ApiToken.token_hash == api_tokens.hash_token(tokens["participant"])))

    start = frozen(datetime(2026, 12, 1, 9, tzinfo=UTC))
    client = api("participant")
    assert last_used() is None
    client.get("/me")
    assert last_used() == start
    frozen(start + timedelta(seconds=30))
    client.get("/me")
    assert last_used() == start
    frozen(start + timedelta(seconds=61))
    client.get("/me")
    assert last_used() == start + timedelta(seconds=61)


def test_a_token_is_stored_only_as_its_hash(app, tokens):
    with app.app_context():
        rows = db.session.execute(select(ApiToken.token_hash, ApiToken.prefix)).all()
    secret = tokens["participant"]
    assert all(secret not in (token_hash, prefix) for token_hash, prefix in rows)
    assert any(prefix == secret[:8] for _, prefix in rows)


def test_the_web_sign_in_does_not_accept_a_token_as_password(app, world, tokens):
    with app.app_context():
        email = db.session.get(User, world["participant"]).email
    response = sign_in(app.test_client(), email, tokens["participant"])
    assert response.status_code != 302


def test_tokens_are_per_person(app, api, world):
    """Each token acts for its own owner only."""
    assert api("patron").get("/me").get_json()["id"] == world["patron"]
    assert api("facilitator").get("/me").get_json()["roles"][0] == "facilitator"
    with app.app_context():
        other = make_token(world["outsider"], TokenScope.READ)
    assert Api(app.test_client(), other).get("/me").get_json()["id"] == world["outsider"]


def test_cors_is_off(api):
    """No Access-Control-Allow-* header, even for a preflight: pages of other sites cannot
    call the API from a browser."""
    client = api("participant")
    answered = client.get("/me", headers={"Origin": "https://evil.example"})
    preflight = client.client.options("/api/v1/goals", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    for response in (answered, preflight):
        assert not [k for k, _ in response.headers if k.lower().startswith("access-control")]
