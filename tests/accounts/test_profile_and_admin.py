"""Editing one's profile; the admin's user management."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from tests.conftest import post_form, sign_in


def get_user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_profile_shows_name_and_time_zone_list(alex, login_as):
    page = login_as(alex).get("/account").get_data(as_text=True)
    assert 'value="Alex Morgan"' in page
    assert '<option selected value="Europe/London">' in page
    assert '<option value="America/New_York">' in page


def test_edit_profile_name_and_time_zone(app, alex, login_as):
    client = login_as(alex)
    response = post_form(client, "/account", {"profile-name": "  Alex   J. Morgan ",
                                              "profile-timezone": "Asia/Kolkata"})
    assert response.status_code == 302
    user = get_user(app, alex.id)
    assert user.name == "Alex J. Morgan"
    assert user.timezone == "Asia/Kolkata"


@pytest.mark.parametrize(("name", "tz", "message"), [
    ("Alex", "Mars/Olympus_Mons", "Choose a time zone from the list"),
    ("Alex", "", "Choose a time zone from the list"),
    ("Alex", "../../etc/passwd", "Choose a time zone from the list"),
    ("", "Europe/London", "Enter your name"),
    ("   ", "Europe/London", "Enter your name"),
    ("x" * 121, "Europe/London", "at most 120 characters"),
])
def test_edit_profile_bad_input_is_refused_and_keeps_saved_data(app, alex, login_as, name, tz,
                                                                  message):
    client = login_as(alex)
    response = post_form(client, "/account", {"profile-name": name, "profile-timezone": tz})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    user = get_user(app, alex.id)
    assert user.name == "Alex Morgan"
    assert user.timezone == "Europe/London"


def test_unicode_name_is_kept(app, alex, login_as):
    client = login_as(alex)
    post_form(client, "/account", {"profile-name": "Zoë Ñúñez 李", "profile-timezone": "UTC"})
    assert get_user(app, alex.id).name == "Zoë Ñúñez 李"


def test_admin_lists_and_searches_users(app, world, role_client):
    client = role_client("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Alex Participant" in page
    assert "Pat Patron" in page
    found = client.get("/admin/users?q=PATRON").get_data(as_text=True)
    assert "Pat Patron" in found
    assert "Alex Participant" not in found
    nothing = client.get("/admin/users?q=%25_%5C").get_data(as_text=True)
    assert "No users match" in nothing


@pytest.mark.parametrize("query", ["?page=0", "?page=-3", "?page=abc", "?page=99999999999",
                                   "?q=" + "z" * 5000])
def test_admin_user_list_survives_odd_paging_and_search(world, role_client, query):
    assert role_client("admin").get("/admin/users" + query).status_code == 200


def test_admin_creates_a_user_who_gets_a_set_password_email(app, world, role_client):
    client = role_client("admin")
    response = post_form(client, "/admin/users/new", {
        "name": "Newton New", "email": " Newton@Example.org ", "is_facilitator": "y",
        "send_reset": "y"})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "newton@example.org"))
        assert user.is_facilitator
        assert not user.is_admin
        assert user.password_hash == ""
        mail = db.session.scalars(select(OutboxMessage)).one()
        assert mail.to_addr == "newton@example.org"
        assert "/reset/" in mail.body_text


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "email": "a@example.org"}, "Enter a name"),
    ({"name": "A", "email": ""}, "Enter your email address"),
    ({"name": "A", "email": "not an email"}, "Enter an email address like"),
    ({"name": "A" * 200, "email": "a@example.org"}, "at most 120"),
])
def test_admin_create_user_bad_input(world, role_client, data, message):
    response = post_form(role_client("admin"), "/admin/users/new", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_admin_create_user_with_taken_email(app, world, role_client):
    with app.app_context():
        taken = db.session.get(User, world["participant"]).email
    response = post_form(role_client("admin"), "/admin/users/new",
                         {"name": "Copy", "email": taken.upper()})
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_admin_grants_and_removes_site_roles(app, world, role_client):
    client = role_client("admin")
    uid = world["participant"]
    response = post_form(client, f"/admin/users/{uid}", {"is_facilitator": "y", "is_admin": "y"})
    assert response.status_code == 302
    user = get_user(app, uid)
    assert user.is_facilitator
    assert user.is_admin
    post_form(client, f"/admin/users/{uid}", {})
    user = get_user(app, uid)
    assert not user.is_facilitator
    assert not user.is_admin


def test_admin_cannot_remove_own_admin_role(app, world, role_client):
    response = post_form(role_client("admin"), f"/admin/users/{world['admin']}", {})
    assert response.status_code == 400
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    assert get_user(app, world["admin"]).is_admin


def test_admin_deactivates_and_reactivates(app, world, role_client):
    client = role_client("admin")
    uid = world["participant"]
    email = get_user(app, uid).email
    assert post_form(client, f"/admin/users/{uid}/active", {"active": "0"}).status_code == 303
    assert not get_user(app, uid).is_active
    assert sign_in(app.test_client(), email).status_code == 403
    assert post_form(client, f"/admin/users/{uid}/active", {"active": "1"}).status_code == 303
    assert get_user(app, uid).is_active
    assert sign_in(app.test_client(), email).status_code == 302


def test_admin_cannot_deactivate_self(app, world, role_client):
    client = role_client("admin")
    response = post_form(client, f"/admin/users/{world['admin']}/active", {"active": "0"},
                         follow_redirects=True)
    assert "cannot deactivate your own account" in response.get_data(as_text=True)
    assert get_user(app, world["admin"]).is_active


@pytest.mark.parametrize("path", ["/admin/users/999999", "/admin/users/999999/active",
                                  "/admin/users/99999999999999999999",
                                  "/admin/users/9223372036854775808/active"])
def test_admin_pages_for_missing_users_are_404(world, role_client, path):
    client = role_client("admin")
    response = post_form(client, path, {"active": "0"}) if path.endswith("active") else client.get(path)
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["participant", "patron", "facilitator"])
def test_non_admins_cannot_manage_users(world, role_client, role):
    client = role_client(role)
    assert client.get("/admin/users").status_code == 403
    assert post_form(client, f"/admin/users/{world['outsider']}/active",
                     {"active": "0"}).status_code == 403
