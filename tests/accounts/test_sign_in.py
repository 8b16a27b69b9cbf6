"""Signing in and out, sessions, remember-me, lockout and rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dap.accounts.models import User
from dap.clock import now_utc
from dap.extensions import db
from tests import factories
from tests.conftest import post_form, sign_in


def test_sign_in_with_email_and_password_lands_on_dashboard(client, alex):
    response = sign_in(client, "alex@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Hello, Alex" in page
    assert "Alex Morgan" in page  # the header says who is signed in


def test_sign_in_form_has_labelled_email_and_password_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page


@pytest.mark.parametrize("typed", [
    "  alex@example.org  ", "ALEX@Example.ORG", "Alex@example.org\t",
])
def test_email_is_matched_whatever_the_spaces_and_capitals(client, alex, typed):
    assert sign_in(client, typed).status_code == 302


def test_unknown_email_and_wrong_password_get_the_same_message(client, alex):
    unknown = sign_in(client, "nobody@example.org")
    wrong = sign_in(client, "alex@example.org", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    message = "That email and password do not match an account"
    assert message in unknown.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)


@pytest.mark.parametrize(("email", "password"), [
    ("", "whatever-long"),
    ("alex@example.org", ""),
    ("x" * 300 + "@example.org", "whatever-long"),
    ("alex@example.org", "p" * 500),
    ("not an email", "whatever-long"),
    ("ünïcødé@exämple.org", "whatever-long"),
    ("alex@example.org", "пароль-ünïcødé-密码"),
])
def test_bad_sign_in_input_gets_a_4xx_and_a_message(client, alex, email, password):
    response = sign_in(client, email, password)
    assert 400 <= response.status_code < 500
    assert "There is a problem" in response.get_data(as_text=True)


def test_unicode_email_account_can_sign_in(app, client):
    with app.app_context():
        factories.make_user(email="zoë@exämple.org")
        db.session.commit()
    assert sign_in(client, "ZOË@exämple.org").status_code == 302


def test_deactivated_user_cannot_sign_in(app, client, alex):
    with app.app_context():
        db.session.get(User, alex.id).is_active = False
        db.session.commit()
    response = sign_in(client, "alex@example.org")
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)


def test_next_takes_you_to_a_local_page_after_sign_in(client, alex):
    response = post_form(client, "/login?next=/account",
                         {"email": "alex@example.org", "password": factories.PASSWORD})
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http://evil.example/account", "/\\evil.example",
    "\\\\evil.example", "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1", "evil.example",
])
def test_next_never_leaves_the_site(client, alex, target):
    response = post_form(client, "/login", {"email": "alex@example.org",
                                           "password": factories.PASSWORD},
                         query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or location.startswith("/") and not location.startswith("//")
    assert "evil" not in location


def test_anonymous_visitor_is_sent_to_sign_in_with_next(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_signing_in_clears_the_old_session(client, alex):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    sign_in(client, "alex@example.org")
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_copied_session_cookie_is_refused_after_sign_out_everywhere(app, alex, login_as):
    client = login_as(alex)
    stolen = client.get_cookie("dap_session").value
    thief = app.test_client()
    thief.set_cookie("dap_session", stolen)
    assert "Hello, Alex" in thief.get("/").get_data(as_text=True)

    post_form(client, "/account/sign-out-everywhere")
    assert "Hello, Alex" in client.get("/").get_data(as_text=True)  # this device stays
    assert thief.get("/account").status_code == 302  # the copy is dead


def test_copied_cookie_is_refused_after_sign_out(app, alex, login_as):
    client = login_as(alex)
    stolen = client.get_cookie("dap_session").value
    post_form(client, "/logout")
    assert client.get("/account").status_code == 302
    thief = app.test_client()
    thief.set_cookie("dap_session", stolen)
    assert thief.get("/account").status_code == 302


def test_signing_out_on_one_device_keeps_the_others(app, alex, login_as):
    phone = login_as(alex)
    laptop = login_as(alex)
    post_form(phone, "/logout")
    assert laptop.get("/account").status_code == 200


def test_copied_remember_me_cookie_is_refused_after_sign_out(app, alex):
    client = app.test_client()
    sign_in(client, "alex@example.org", remember="y")
    remember = client.get_cookie("dap_remember").value
    post_form(client, "/logout")
    replay = app.test_client()
    replay.set_cookie("dap_remember", remember)
    assert replay.get("/account").status_code == 302


def test_remember_me_cookie_survives_session_loss_but_not_epoch_bump(app, alex):
    client = app.test_client()
    response = sign_in(client, "alex@example.org", remember="y")
    assert response.status_code == 302
    remember = client.get_cookie("dap_remember")
    assert remember is not None
    cookie_header = response.headers.getlist("Set-Cookie")
    assert any("dap_remember" in c and "HttpOnly" in c and "SameSite=Lax" in c
               for c in cookie_header)

    fresh = app.test_client()
    fresh.set_cookie("dap_remember", remember.value)
    assert "Hello, Alex" in fresh.get("/").get_data(as_text=True)

    with app.app_context():
        from dap.accounts.services import end_other_sessions

        end_other_sessions(db.session.get(User, alex.id))
        db.session.commit()
    replay = app.test_client()
    replay.set_cookie("dap_remember", remember.value)
    assert replay.get("/account").status_code == 302


def test_session_cookie_flags(client, alex):
    response = sign_in(client, "alex@example.org")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("dap_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie  # http base URL in tests


def test_deactivation_ends_existing_sessions(app, alex, login_as, world):
    client = login_as(alex)
    assert client.get("/account").status_code == 200
    with app.app_context():
        admin = db.session.get(User, world["admin"])
        admin_client = login_as(admin)
    response = post_form(admin_client, f"/admin/users/{alex.id}/active", {"active": "0"})
    assert response.status_code == 303
    assert client.get("/account").status_code == 302


def test_twenty_fast_wrong_passwords_are_rate_limited(client, alex):
    statuses = [sign_in(client, "alex@example.org", f"wrong-{i}-password").status_code
                for i in range(20)]
    assert statuses[0] == 401
    assert 429 in statuses
    first_429 = statuses.index(429)
    assert first_429 <= 10
    assert all(s == 429 for s in statuses[first_429:])
    limited = sign_in(client, "alex@example.org")
    assert "Too many attempts" in limited.get_data(as_text=True)
    assert int(limited.headers["Retry-After"]) > 0


def test_rate_limit_is_per_account_across_addresses(client, alex):
    statuses = []
    for i in range(12):
        response = post_form(client, "/login",
                             {"email": "alex@example.org", "password": f"wrong-{i}-pw"},
                             environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"})
        statuses.append(response.status_code)
    assert 429 in statuses
    assert statuses.index(429) == 10


def test_account_locks_after_consecutive_failures_and_unlocks_later(app, alex, frozen):
    app.config["RATELIMIT_ENABLED"] = False
    from dap.extensions import limiter

    limiter.enabled = False
    try:
        start = frozen(now_utc())
        client = app.test_client()
        for i in range(10):
            assert sign_in(client, "alex@example.org", f"wrong-{i}-pw").status_code == 401
        locked = sign_in(client, "alex@example.org")
        assert locked.status_code == 429
        assert "locked" in locked.get_data(as_text=True)
        frozen(start + timedelta(minutes=16))
        assert sign_in(client, "alex@example.org").status_code == 302
    finally:
        limiter.enabled = True


def test_successful_sign_in_resets_the_failure_count(app, client, alex):
    for i in range(3):
        sign_in(client, "alex@example.org", f"wrong-{i}-pw")
    sign_in(client, "alex@example.org")
    with app.app_context():
        user = db.session.get(User, alex.id)
        assert user.failed_logins == 0
        assert user.last_login_at is not None


def test_logout_get_shows_a_confirmation_and_post_signs_out(alex, login_as):
    client = login_as(alex)
    page = client.get("/logout")
    assert page.status_code == 200
    assert "Sign out of DAP on this device?" in page.get_data(as_text=True)
    assert post_form(client, "/logout").status_code == 302
    assert client.get("/account").status_code == 302


def test_logout_post_without_csrf_is_refused(alex, login_as):
    client = login_as(alex)
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200


def test_account_page_lists_signed_in_devices(app, alex, login_as):
    phone = login_as(alex)
    laptop = app.test_client()
    post_form(laptop, "/login", {"email": "alex@example.org", "password": factories.PASSWORD},
              headers={"User-Agent": "LaptopBrowser/1.0"})
    page = laptop.get("/account").get_data(as_text=True)
    assert "signed in on 2 devices" in page
    assert "LaptopBrowser/1.0 <strong>(this device)</strong>" in page
    post_form(laptop, "/account/sign-out-everywhere")
    assert "signed in on 1 device." in laptop.get("/account").get_data(as_text=True)
    assert phone.get("/account").status_code == 302
