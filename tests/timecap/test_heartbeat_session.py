"""The heartbeat checks the browser session itself (it does not load the user): every way a
session stops being good must stop the heartbeat too — a 401, nothing stored — and no
session value, however odd, may cause a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from dap.accounts.models import User
from dap.extensions import db
from dap.timecap.models import PlatformDay
from tests.conftest import csrf_token, post_form, sign_in

T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday


def _beat(client, token: str):
    return client.post("/time/heartbeat", headers={"X-CSRFToken": token})


@pytest.fixture
def signed_in(app, world, frozen):
    """A participant's browser, signed in at T0 through the form, with its page token."""
    frozen(T0)
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, world["participant"]).email
    assert sign_in(client, email, remember="y").status_code == 302
    return client, csrf_token(client)


def _stored(app) -> list[tuple]:
    """Every platform-time row as it is (pages count as beats too, so not empty)."""
    with app.app_context():
        return [(row.user_id, row.day, row.seconds, row.last_beat) for row in
                db.session.scalars(select(PlatformDay).order_by(PlatformDay.user_id,
                                                                PlatformDay.day))]


def test_a_good_session_beats(app, signed_in, frozen, platform_seconds, world):
    client, token = signed_in
    frozen(T0 + timedelta(seconds=30))
    assert _beat(client, token).status_code == 200
    assert platform_seconds(world["participant"]) == 30


def test_a_copied_session_cookie_stops_when_its_owner_signs_out(app, signed_in, frozen):
    client, token = signed_in
    copy = app.test_client()
    copy.set_cookie("dap_session", client.get_cookie("dap_session").value)
    post_form(client, "/logout")
    before = _stored(app)
    frozen(T0 + timedelta(seconds=30))
    assert _beat(copy, token).status_code == 401
    assert _beat(client, token).status_code in (400, 401)  # the signed-out browser itself
    assert _stored(app) == before


def test_signing_out_everywhere_stops_the_heartbeat(app, signed_in, frozen, world):
    client, token = signed_in
    with app.app_context():
        from dap.accounts.services import end_other_sessions

        end_other_sessions(db.session.get(User, world["participant"]))
        db.session.commit()
    before = _stored(app)
    frozen(T0 + timedelta(seconds=30))
    assert _beat(client, token).status_code == 401
    assert _stored(app) == before


def test_a_deactivated_account_stops_beating(app, signed_in, frozen, world):
    client, token = signed_in
    with app.app_context():  # the flag alone (deactivating also ends the sessions)
        db.session.execute(update(User).where(User.id == world["participant"])
                           .values(is_active=False))
        db.session.commit()
    before = _stored(app)
    frozen(T0 + timedelta(seconds=30))
    assert _beat(client, token).status_code == 401
    assert _stored(app) == before


def test_a_session_older_than_the_remember_duration_is_over(app, signed_in, frozen):
    client, token = signed_in
    lasts = app.config["REMEMBER_COOKIE_DURATION"]
    frozen(T0 + lasts - timedelta(minutes=1))
    assert _beat(client, token).status_code == 200
    frozen(T0 + lasts + timedelta(minutes=1))
    assert _beat(client, token).status_code == 401


def test_a_remember_me_cookie_alone_still_counts(app, signed_in, frozen, platform_seconds,
                                                 world):
    """The session lost who is signed in (it keeps its page token): Flask-Login restores
    them from the remember-me cookie, as it would for a page."""
    client, token = signed_in
    with client.session_transaction() as session:
        session.pop("_user_id")
    frozen(T0 + timedelta(seconds=30))
    assert _beat(client, token).status_code == 200
    assert platform_seconds(world["participant"]) == 30


def test_another_persons_id_with_my_token_is_refused(app, signed_in, frozen, world):
    client, token = signed_in
    with client.session_transaction() as session:
        _, epoch, secret = session["_user_id"].split(":")
        session["_user_id"] = f"{world['patron']}:{epoch}:{secret}"
    before = _stored(app)
    frozen(T0 + timedelta(seconds=30))
    assert _beat(client, token).status_code == 401
    assert _stored(app) == before


@pytest.mark.parametrize("identity", [
    12, None, ["1", "0", "x"], "", "abc", "1:2", "1:0:", ":0:token", "1:-1:token",
    "99999999999999999999:0:token", "1:99999999999999999999:token", "١:0:token",
    "1:0:" + "x" * 10_000, "1:0:to:ken", "1 :0:token", "\x00:0:token",
], ids=lambda value: repr(value)[:30])
def test_odd_session_values_are_401_never_500(app, signed_in, frozen, identity):
    client, token = signed_in
    with client.session_transaction() as session:
        session["_user_id"] = identity
        client.delete_cookie("dap_remember")
    before = _stored(app)
    frozen(T0 + timedelta(seconds=30))
    assert _beat(client, token).status_code == 401
    assert _stored(app) == before


@pytest.mark.parametrize("identity", ["99999999999999999999:0:token", "١:0:token", 12])
def test_pages_treat_odd_session_values_as_signed_out(signed_in, identity):
    """The user loader parses identities with the same rule."""
    client, _ = signed_in
    with client.session_transaction() as session:
        session["_user_id"] = identity
        client.delete_cookie("dap_remember")
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
