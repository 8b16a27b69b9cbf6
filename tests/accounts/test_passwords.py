"""Password reset by emailed link, change password, hashing parameters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from dap.accounts import services
from dap.accounts.models import User
from dap.clock import now_utc
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from tests import factories
from tests.conftest import FAST_HASH, post_form, sign_in

LINK_RE = re.compile(r"http://127\.0\.0\.1:5000(/reset/[A-Za-z0-9_.\-]+)")


def reset_link(app) -> str:
    with app.app_context():
        row = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "password_reset")
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert row is not None, "no reset email queued"
        match = LINK_RE.search(row.body_text)
        assert match, row.body_text
        assert match.group(0) in row.body_html
        return match.group(1)


def test_reset_request_queues_an_email_with_a_link(app, client, alex):
    response = post_form(client, "/reset", {"email": "  ALEX@example.org "})
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage)).one()
        assert row.to_addr == "alex@example.org"
        assert row.subject == "Reset your DAP password"
    assert reset_link(app).startswith("/reset/")


def test_reset_request_for_unknown_email_says_the_same_and_sends_nothing(app, client):
    response = post_form(client, "/reset", {"email": "nobody@example.org"})
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage)).all() == []


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b@c", "x" * 300 + "@example.org"])
def test_reset_request_with_bad_email_is_a_400_with_message(client, email):
    response = post_form(client, "/reset", {"email": email})
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)


def test_reset_link_sets_a_new_password_once(app, client, alex):
    post_form(client, "/reset", {"email": "alex@example.org"})
    link = reset_link(app)
    assert client.get(link).status_code == 200
    response = post_form(client, link, {"password": "a brand new secret", "confirm": "a brand new secret"})
    assert response.status_code == 302
    assert sign_in(app.test_client(), "alex@example.org", "a brand new secret").status_code == 302
    assert sign_in(app.test_client(), "alex@example.org").status_code == 401

    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    reuse = post_form(client, link, {"password": "another new secret", "confirm": "another new secret"})
    assert reuse.status_code == 410


def test_reset_link_expires_after_an_hour(app, client, alex, frozen):
    start = frozen(now_utc())
    post_form(client, "/reset", {"email": "alex@example.org"})
    link = reset_link(app)
    frozen(start + timedelta(minutes=59))
    assert client.get(link).status_code == 200
    frozen(start + timedelta(minutes=61))
    response = client.get(link)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["nonsense", "a" * 500, "eyJ1IjoxfQ.bad.signature", "%00"])
def test_tampered_reset_link_is_refused_clearly(client, alex, token):
    response = client.get(f"/reset/{token}")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_reset_link_for_another_user_id_cannot_be_forged(app, client, alex):
    with app.app_context():
        other = factories.make_user()
        db.session.commit()
        token = services.make_reset_token(db.session.get(User, alex.id), "wrong-secret")
    assert client.get(f"/reset/{token}").status_code == 400
    del other


@pytest.mark.parametrize(("password", "confirm", "message"), [
    ("short", "short", "Use between 10 and 200 characters"),
    ("p" * 201, "p" * 201, "Use between 10 and 200 characters"),
    ("long enough one", "different one!", "not the same"),
    ("alex@example.org", "alex@example.org", "cannot be your email"),
])
def test_reset_with_bad_new_password_keeps_the_link_usable(app, client, alex, password, confirm,
                                                           message):
    post_form(client, "/reset", {"email": "alex@example.org"})
    link = reset_link(app)
    response = post_form(client, link, {"password": password, "confirm": confirm})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert client.get(link).status_code == 200


def test_reset_ends_other_sessions(app, alex, login_as):
    other_device = login_as(alex)
    client = app.test_client()
    post_form(client, "/reset", {"email": "alex@example.org"})
    post_form(client, reset_link(app), {"password": "a brand new secret",
                                        "confirm": "a brand new secret"})
    assert other_device.get("/account").status_code == 302


def test_reset_requests_are_rate_limited_per_address(client, alex):
    statuses = [post_form(client, "/reset", {"email": "alex@example.org"}).status_code
                for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_change_password_needs_the_current_one(alex, login_as):
    client = login_as(alex)
    response = post_form(client, "/account/password", {
        "pw-current_password": "wrong one", "pw-new_password": "a brand new secret",
        "pw-confirm": "a brand new secret"})
    assert response.status_code == 400
    assert "current password is not right" in response.get_data(as_text=True)


def test_change_password_keeps_this_device_and_ends_others(app, alex, login_as):
    client = login_as(alex)
    other = login_as(alex)
    response = post_form(client, "/account/password", {
        "pw-current_password": factories.PASSWORD, "pw-new_password": "a brand new secret",
        "pw-confirm": "a brand new secret"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert sign_in(app.test_client(), "alex@example.org", "a brand new secret").status_code == 302


@pytest.mark.parametrize(("new", "confirm", "message"), [
    ("", "", "Choose a new password"),
    ("tiny", "tiny", "Use between 10 and 200 characters"),
    ("long enough one", "not the same one", "not the same"),
])
def test_change_password_bad_input(alex, login_as, new, confirm, message):
    client = login_as(alex)
    response = post_form(client, "/account/password", {
        "pw-current_password": factories.PASSWORD, "pw-new_password": new, "pw-confirm": confirm})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_production_hash_parameters_meet_owasp_minimum():
    params = services.HashParams()
    assert params.time_cost >= 2
    assert params.memory_cost >= 19 * 1024
    assert params.hasher().hash("x").startswith("$argon2id$")


def test_password_is_rehashed_on_sign_in_when_parameters_change(app, client):
    with app.app_context():
        weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
        user = factories.make_user(email="old@example.org")
        user.password_hash = weak.hash(factories.PASSWORD)
        db.session.commit()
        old_hash = user.password_hash
    assert sign_in(client, "old@example.org").status_code == 302
    with app.app_context():
        new_hash = db.session.scalar(select(User.password_hash).where(User.email == "old@example.org"))
    assert new_hash != old_hash
    assert f"m={FAST_HASH.memory_cost},t={FAST_HASH.time_cost}" in new_hash
