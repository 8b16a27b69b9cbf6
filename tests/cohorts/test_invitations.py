"""Inviting people one by one, accepting, resending, revoking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.clock import now_utc
from dap.cohorts.models import Cohort, Invitation, Membership, MembershipStatus
from dap.extensions import db
from tests import factories
from tests.cohorts.conftest import join_link
from tests.conftest import post_form, sign_in


def invite(client, cohort_id, **data):
    payload = {"name": "Nia New", "email": "nia@example.org", "role": "participant", "team": ""}
    payload.update(data)
    return post_form(client, f"/cohorts/{cohort_id}/people/invite", payload)


def membership(app, cohort_id, email) -> Membership | None:
    with app.app_context():
        row = db.session.scalar(
            select(Membership).join(User).where(Membership.cohort_id == cohort_id,
                                                User.email == email))
        if row is not None:
            db.session.expunge(row)
        return row


def test_facilitator_invites_a_new_person_who_sets_a_password_and_joins(app, world, role_client):
    facilitator = role_client("facilitator")
    response = invite(facilitator, world["cohort"], team=str(world["team"]))
    assert response.status_code == 302
    pending = membership(app, world["cohort"], "nia@example.org")
    assert pending.status is MembershipStatus.INVITED
    assert pending.team_id == world["team"]

    link = join_link(app, "nia@example.org")
    visitor = app.test_client()
    page = visitor.get(link)
    assert page.status_code == 200
    assert "Choose your name and a password" in page.get_data(as_text=True)
    response = post_form(visitor, link, {"name": "Nia Newton", "password": "a long new secret",
                                         "confirm": "a long new secret"})
    assert response.status_code == 302
    joined = membership(app, world["cohort"], "nia@example.org")
    assert joined.status is MembershipStatus.ACTIVE
    assert joined.accepted_at is not None
    assert "Hello, Nia" in visitor.get("/").get_data(as_text=True)  # signed in
    assert sign_in(app.test_client(), "nia@example.org", "a long new secret").status_code == 302
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["invitation.sent", "invitation.accepted"]


def test_invitee_with_an_account_signs_in_then_joins(app, world, role_client):
    with app.app_context():
        factories.make_user(email="known@example.org", name="Kim Known")
        db.session.commit()
    invite(role_client("facilitator"), world["cohort"], email="known@example.org", name="Kim")
    link = join_link(app, "known@example.org")
    visitor = app.test_client()
    response = visitor.get(link)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/join/")
    post_form(visitor, "/login?next=" + link, {"email": "known@example.org",
                                               "password": factories.PASSWORD})
    page = visitor.get(link)
    assert "Join " in page.get_data(as_text=True)
    assert post_form(visitor, link).status_code == 302
    assert membership(app, world["cohort"], "known@example.org").status is MembershipStatus.ACTIVE


def test_link_opened_while_signed_in_as_someone_else_is_refused(app, world, role_client):
    invite(role_client("facilitator"), world["cohort"])
    link = join_link(app, "nia@example.org")
    other = role_client("patron")
    response = other.get(link)
    assert response.status_code == 403
    assert "This invitation is for someone else" in response.get_data(as_text=True)
    assert post_form(other, link).status_code == 403
    assert membership(app, world["cohort"], "nia@example.org").status is MembershipStatus.INVITED


def accept_new(app, link, name="Nia"):
    return post_form(app.test_client(), link, {"name": name, "password": "a long new secret",
                                               "confirm": "a long new secret"})


def test_invitation_link_works_once(app, world, role_client):
    invite(role_client("facilitator"), world["cohort"])
    link = join_link(app, "nia@example.org")
    assert accept_new(app, link).status_code == 302
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_invitation_expires_after_fourteen_days(app, world, role_client, frozen):
    start = frozen(now_utc())
    invite(role_client("facilitator"), world["cohort"])
    link = join_link(app, "nia@example.org")
    frozen(start + timedelta(days=13, hours=23))
    assert app.test_client().get(link).status_code == 200
    frozen(start + timedelta(days=14, minutes=1))
    response = app.test_client().get(link)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_resend_makes_a_fresh_link_and_the_old_one_stops(app, world, role_client, frozen):
    start = frozen(now_utc())
    facilitator = role_client("facilitator")
    invite(facilitator, world["cohort"])
    old = join_link(app, "nia@example.org")
    with app.app_context():
        invitation_id = db.session.scalar(
            select(Invitation.id).where(Invitation.email == "nia@example.org"))
    frozen(start + timedelta(days=13))
    response = post_form(facilitator,
                         f"/cohorts/{world['cohort']}/invitations/{invitation_id}/resend")
    assert response.status_code == 303
    new = join_link(app, "nia@example.org")
    assert new != old
    stale = app.test_client().get(old)
    assert stale.status_code == 410
    assert "newer invitation" in stale.get_data(as_text=True)
    frozen(start + timedelta(days=20))  # past the first expiry, within the new one
    assert accept_new(app, new).status_code == 302


def test_revoked_invitation_cannot_be_used(app, world, role_client):
    facilitator = role_client("facilitator")
    invite(facilitator, world["cohort"])
    link = join_link(app, "nia@example.org")
    with app.app_context():
        invitation_id = db.session.scalar(
            select(Invitation.id).where(Invitation.email == "nia@example.org"))
    assert post_form(facilitator, f"/cohorts/{world['cohort']}/invitations/{invitation_id}/revoke"
                     ).status_code == 303
    response = app.test_client().get(link)
    assert response.status_code == 410
    assert "withdrawn" in response.get_data(as_text=True)
    assert membership(app, world["cohort"], "nia@example.org").status is MembershipStatus.REMOVED


@pytest.mark.parametrize("token", ["nonsense", "x" * 400, "eyJpIjoxfQ.AAAA.BBBB"])
def test_tampered_invitation_link_is_refused(client, token):
    response = client.get(f"/join/{token}")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_inviting_someone_already_in_the_cohort_is_refused(app, world, role_client):
    with app.app_context():
        email = db.session.get(User, world["participant"]).email
    response = invite(role_client("facilitator"), world["cohort"], email=email.upper())
    assert response.status_code == 400
    assert "already in this cohort" in response.get_data(as_text=True)


def test_inviting_twice_points_to_resend(app, world, role_client):
    facilitator = role_client("facilitator")
    invite(facilitator, world["cohort"])
    response = invite(facilitator, world["cohort"])
    assert response.status_code == 400
    assert "already been invited" in response.get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"email": ""}, "Enter an email address"),
    ({"email": "not-an-email"}, "Enter an email address like"),
    ({"name": ""}, "Enter a name"),
    ({"name": "x" * 121}, "at most 120"),
    ({"role": "overlord"}, "Not a valid choice"),
    ({"team": "abc"}, "Choose a team from the list"),
    ({"team": "999999"}, "Choose a team from the list"),
])
def test_invite_bad_input(world, role_client, data, message):
    response = invite(role_client("facilitator"), world["cohort"], **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_team_of_another_organisation_is_refused(app, world, role_client):
    with app.app_context():
        other_team = factories.make_team(factories.make_organisation())
        db.session.commit()
        other_team_id = other_team.id
    response = invite(role_client("facilitator"), world["cohort"], team=str(other_team_id))
    assert response.status_code == 400
    assert "this organisation" in response.get_data(as_text=True)


def test_archived_cohort_takes_no_invitations(app, world, role_client):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert invite(role_client("facilitator"), world["cohort"]).status_code == 403


def test_unicode_names_and_addresses(app, world, role_client):
    response = invite(role_client("facilitator"), world["cohort"], name="Zoë Ñúñez 李",
                      email="zoë@exämple.org")
    assert response.status_code == 302
    assert membership(app, world["cohort"], "zoë@exämple.org") is not None
