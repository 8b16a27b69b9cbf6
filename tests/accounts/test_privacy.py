"""Download my data; delete my account (and someone else's, for admins and facilitators)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User, UserSession
from dap.accounts.privacy import export_user_data
from dap.audit.models import AuditEvent
from dap.clock import now_utc
from dap.cohorts.models import (
    CohortRole,
    Invitation,
    InvitationKind,
    Membership,
    MembershipStatus,
    PatronLink,
)
from dap.extensions import db
from dap.nudges.models import OutboxMessage, OutboxStatus
from tests import factories
from tests.conftest import counting_queries, post_form, sign_in

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN_PASSWORD = "the admin's own password"
FACILITATOR_PASSWORD = "the facilitator's own pw"


# --- helpers ---------------------------------------------------------------------------------


def add_invitation(cohort_id: int, email: str, *, invited_by_id: int | None = None,
                   kind: InvitationKind = InvitationKind.MEMBERSHIP, **fields) -> Invitation:
    invitation = Invitation(kind=kind, cohort_id=cohort_id, email=email, invited_by_id=invited_by_id,
                            nonce="secret-nonce-value", expires_at=now_utc() + timedelta(days=14),
                            **fields)
    db.session.add(invitation)
    db.session.flush()
    return invitation


def add_email(to: str, subject: str, *, key: str, status: OutboxStatus = OutboxStatus.SENT) -> None:
    db.session.add(OutboxMessage(dedup_key=key, to_addr=to, subject=subject, kind="general",
                                 body_text=f"Body for {to}: https://dap.example/reset/TOKEN",
                                 status=status))
    db.session.flush()


def add_history(app, world) -> None:
    """Invitations, audit events and emails around world's participant and others."""
    with app.app_context():
        participant = db.session.get(User, world["participant"])
        patron = db.session.get(User, world["patron"])
        add_invitation(world["cohort"], participant.email, invited_by_id=world["facilitator"],
                       accepted_at=now_utc(), accepted_by_id=participant.id)
        add_invitation(world["cohort"], "mycolleague@example.org", invited_by_id=participant.id,
                       kind=InvitationKind.PATRON, participant_id=participant.id)
        add_invitation(world["cohort"], "someone.else@example.org", invited_by_id=world["facilitator"])
        db.session.add_all([
            AuditEvent(action="invitation.sent", actor_id=world["facilitator"], subject_id=participant.id,
                       cohort_id=world["cohort"], details={"role": "participant"}),
            AuditEvent(action="patron.linked", actor_id=world["facilitator"],
                       subject_id=patron.id, cohort_id=world["cohort"], details={}),
        ])
        add_email(participant.email, "Welcome to DAP", key="welcome:p")
        add_email(patron.email, "A nudge for your participant", key="nudge:pat")
        db.session.commit()


def read_export(data: bytes) -> tuple[dict, dict[str, list[dict]]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    document = json.loads(archive.read("data.json"))
    tables = {
        name[:-4]: list(csv.DictReader(io.StringIO(archive.read(name).decode())))
        for name in archive.namelist() if name.endswith(".csv")
    }
    return document, tables



def user_row(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


OWN_PASSWORDS = {"admin": ADMIN_PASSWORD, "facilitator": FACILITATOR_PASSWORD}


@pytest.fixture
def own_password_client(app, world):
    """``own_password_client("admin")`` → a client signed in as that role's user after giving
    them a password of their own (everyone else keeps ``factories.PASSWORD``)."""
    from tests.factories import _hash

    def make(role: str):
        with app.app_context():
            user = db.session.get(User, world[role])
            user.password_hash = _hash(OWN_PASSWORDS[role])
            db.session.commit()
            email = user.email
        client = app.test_client()
        assert sign_in(client, email, OWN_PASSWORDS[role]).status_code == 302
        return client

    return make


@pytest.fixture
def managed(app, world):
    """A supported-digital participant of world's cohort: no email, no password."""
    with app.app_context():
        cohort = db.session.get(factories.Cohort, world["cohort"])
        user = factories.make_user(name="Morgan Managed", password="", is_managed=True)
        user.email = None
        membership = factories.add_member(cohort, user, CohortRole.PARTICIPANT)
        membership.status = MembershipStatus.INVITED
        db.session.commit()
        return user.id


# --- export ----------------------------------------------------------------------------------


def test_export_is_a_zip_attachment_named_by_date(role_client, frozen):
    frozen(T0)
    response = role_client("participant").get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == "attachment; filename=dap-export-2026-03-02.zip"
    assert "no-store" in response.headers["Cache-Control"]
    names = set(zipfile.ZipFile(io.BytesIO(response.data)).namelist())
    assert names == {"README.txt", "data.json", "memberships.csv", "patron_links.csv", "sessions.csv",
                     "api_tokens.csv",
                     "invitations.csv", "audit_events.csv", "emails.csv", "plans.csv", "goals.csv",
                     "check_ins.csv", "plan_reviews.csv", "plan_comments.csv", "goal_suggestions.csv",
                     "goal_endorsements.csv",
                     "event_answers.csv", "event_attendance.csv", "event_feedback.csv",
                     "event_recap_notes.csv", "event_photos.csv", "platform_time.csv",
                     "web_activities.csv", "support_bookings.csv", "support_action_points.csv",
                     "notifications.csv", "baseline_ratings.csv", "baseline_answers.csv",
                     "feed_posts.csv", "feed_comments.csv", "feed_kudos.csv", "feed_reports.csv"}


def test_export_holds_everything_about_the_user_and_no_secrets(app, world, role_client):
    add_history(app, world)
    document, tables = read_export(role_client("participant").get("/account/export").data)

    profile = document["profile"]
    assert profile["name"] == "Alex Participant"
    assert profile["email"].startswith("user")
    assert profile["timezone"] == "Europe/London"
    assert "password_hash" not in profile

    assert [(m["cohort"], m["role"], m["status"], m["team"]) for m in document["memberships"]] == [
        (tables["memberships"][0]["cohort"], "participant", "active", "Customer Services")]
    assert [(link["your_role"], link["other_person"]) for link in document["patron_links"]] == [
        ("participant", "Pat Patron")]
    assert len(document["sessions"]) == 1
    assert document["sessions"][0]["user_agent"].startswith("Werkzeug")
    invitations = {(i["direction"], i["kind"], i["email"]) for i in document["invitations"]}
    assert invitations == {("to you", "membership", profile["email"]),
                           ("by you", "patron", "mycolleague@example.org")}
    assert [(e["action"], e["actor"], e["subject"]) for e in document["audit_events"]] == [
        ("invitation.sent", "Sam Facilitator", "Alex Participant")]
    assert document["audit_events"][0]["description"] == "Invited someone to the cohort"
    assert [(e["subject"], e["status"]) for e in document["emails"]] == [("Welcome to DAP", "sent")]

    raw = json.dumps(document)
    for secret in ("secret-nonce-value", "TOKEN", "argon2", "token_hash", "someone.else@example.org",
                   "A nudge for your participant"):
        assert secret not in raw
    for name, rows in tables.items():
        assert len(rows) == len(document[name]), name
    assert tables["patron_links"][0]["other_person"] == "Pat Patron"


def test_export_csv_cells_cannot_run_as_formulas(app, world):
    evil = "=HYPERLINK(\"http://evil.example\")"
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = evil
    with app.app_context():
        email = db.session.get(User, world["participant"]).email
    assert sign_in(client, email).status_code == 302
    document, tables = read_export(client.get("/account/export").data)
    assert document["sessions"][0]["user_agent"] == evil  # JSON keeps the real value
    assert tables["sessions"][0]["user_agent"] == "'" + evil


def test_export_query_count_does_not_grow_with_the_users_rows(app, world):
    def queries_for(user_id: int) -> int:
        with counting_queries(app) as statements, app.app_context():
            export_user_data(db.session.get(User, user_id))
        return len(statements)

    with app.app_context():
        few = factories.make_user(name="Few Rows")
        many = factories.make_user(name="Many Rows")
        for user, n in ((few, 1), (many, 12)):
            for i in range(n):
                cohort = factories.make_cohort()
                factories.add_member(cohort, user, CohortRole.PARTICIPANT)
                other = factories.make_user()
                factories.add_member(cohort, other, CohortRole.PATRON)
                factories.link_patron(cohort, other, user)
                add_invitation(cohort.id, user.email, invited_by_id=other.id)
                db.session.add(AuditEvent(action="membership.added", actor_id=other.id,
                                          subject_id=user.id, cohort_id=cohort.id))
                db.session.add(UserSession(user_id=user.id, token_hash=f"{user.id:032d}{i:032d}"))
                add_email(user.email, f"Hello {i}", key=f"hello:{user.id}:{i}")
        db.session.commit()
        few_id, many_id = few.id, many.id
    # BEGIN, loading the user, then at most thirty-six (one for API tokens; seven of them for plans, with
    # endorsements: see tests/plans/test_privacy_plans.py; six for events:
    # tests/events/test_privacy_events.py; two for the time cap:
    # tests/timecap/test_privacy_timecap.py; two for 1:1 support: tests/support/test_sessions.py;
    # two for notifications and email choices: tests/nudges/test_notifications.py; two for
    # the skills baseline: tests/baseline/test_privacy_baseline.py; six for the cohort feed:
    # tests/community/test_privacy_feed.py)
    assert queries_for(few_id) == queries_for(many_id) <= 38


def test_export_needs_a_signed_in_user(client):
    response = client.get("/account/export")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_export_is_rate_limited_per_account(role_client):
    client = role_client("patron")
    for _ in range(10):
        assert client.get("/account/export").status_code == 200
    assert client.get("/account/export").status_code == 429


def test_account_page_links_to_export_and_delete(role_client):
    page = role_client("participant").get("/account").get_data(as_text=True)
    assert 'href="/account/export"' in page
    assert 'href="/account/delete"' in page


# --- deleting one's own account ---------------------------------------------------------------


def test_delete_page_explains_what_is_erased_and_what_is_kept(app, world, role_client):
    with app.app_context():
        cohort_name = db.session.get(factories.Cohort, world["cohort"]).name
    page = role_client("participant").get("/account/delete").get_data(as_text=True)
    assert "What is erased" in page
    assert "What is kept" in page
    assert "“Deleted user”" in page
    assert f"{cohort_name} (as participant)" in page
    assert "1 patron link " in page
    assert 'name="password"' in page


def test_deleting_own_account_erases_personal_data_and_signs_out(app, world, role_client, login_as,
                                                                  frozen):
    frozen(T0)
    add_history(app, world)
    with app.app_context():
        participant = db.session.get(User, world["participant"])
        old_email, old_epoch = participant.email, participant.session_epoch
        members_before = db.session.scalar(select(func.count()).select_from(Membership)
                                           .where(Membership.cohort_id == world["cohort"]))
        add_invitation(world["cohort"], old_email, invited_by_id=world["facilitator"])  # pending
        add_email(old_email, "Your weekly digest", key="digest:p", status=OutboxStatus.PENDING)
        db.session.commit()
        other_device = login_as(participant)
    client = role_client("participant")

    response = post_form(client, "/account/delete", {"password": factories.PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/deleted"
    assert "Your account has been deleted" in client.get("/account/deleted").get_data(as_text=True)
    assert client.get("/account").status_code == 302  # signed out here…
    assert other_device.get("/account").status_code == 302  # …and everywhere

    user = user_row(app, world["participant"])
    assert (user.name, user.email, user.password_hash) == ("Deleted user", None, "")
    assert user.deleted_at == T0
    assert not user.is_active
    assert user.timezone == "Europe/London"
    assert user.session_epoch == old_epoch + 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)
                                 .where(UserSession.user_id == user.id)) == 0
        membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        assert (membership.status, membership.removed_at) == (MembershipStatus.REMOVED, T0)
        link = db.session.scalar(select(PatronLink).where(PatronLink.participant_id == user.id))
        assert link.ended_at == T0
        invitations = db.session.scalars(
            select(Invitation).where(Invitation.id != world["invitation"]).order_by(Invitation.id)).all()
        # accepted one kept (address erased); patron invitation they asked for and the
        # pending one to their address revoked; someone else's untouched
        assert [(i.email, i.revoked_at is not None) for i in invitations] == [
            ("", False), ("mycolleague@example.org", True),
            ("someone.else@example.org", False), ("", True)]
        emails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(m.to_addr, m.subject, m.body_text, m.status) for m in emails] == [
            ("", "", "", OutboxStatus.SENT),
            (emails[1].to_addr, "A nudge for your participant", emails[1].body_text, OutboxStatus.SENT),
            ("", "", "", OutboxStatus.FAILED)]
        deleted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deleted"))
        assert (deleted.actor_id, deleted.subject_id) == (user.id, user.id)
        assert deleted.details == {"by": "self", "memberships_removed": 1, "patron_links_ended": 1,
                                   "invitations_revoked": 2}
        removed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "membership.removed"))
        assert removed.cohort_id == world["cohort"]
        assert removed.details == {"reason": "account_deleted", "role": "participant"}
        # the facilitators' counts stay right: the rows are still there
        assert db.session.scalar(select(func.count()).select_from(Membership)
                                 .where(Membership.cohort_id == world["cohort"])) == members_before


def test_deleted_user_cannot_sign_in_with_the_old_email(app, world, role_client):
    with app.app_context():
        old_email = db.session.get(User, world["participant"]).email
    post_form(role_client("participant"), "/account/delete", {"password": factories.PASSWORD})
    response = sign_in(app.test_client(), old_email)
    assert response.status_code == 401
    assert "That email and password do not match an account" in response.get_data(as_text=True)


@pytest.mark.parametrize(("password", "message"), [
    ("", "Enter your password to confirm."),
    ("wrong password", "That password is not right."),
    ("x" * 201, "Field cannot be longer than 200 characters."),
])
def test_wrong_or_empty_password_deletes_nothing(app, world, role_client, password, message):
    response = post_form(role_client("participant"), "/account/delete", {"password": password})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    user = user_row(app, world["participant"])
    assert (user.name, user.deleted_at, user.is_active) == ("Alex Participant", None, True)


def test_an_empty_form_deletes_nothing(app, world, role_client):
    assert post_form(role_client("participant"), "/account/delete", {}).status_code == 400
    assert user_row(app, world["participant"]).deleted_at is None


def test_a_post_without_csrf_token_deletes_nothing(app, world, role_client):
    response = role_client("participant").post("/account/delete", data={"password": factories.PASSWORD})
    assert response.status_code == 400
    assert user_row(app, world["participant"]).deleted_at is None


def test_the_only_admin_cannot_delete_their_account(app, world, role_client):
    client = role_client("admin")
    assert "only administrator account" in client.get("/account/delete").get_data(as_text=True)
    response = post_form(client, "/account/delete", {"password": factories.PASSWORD})
    assert response.status_code == 400
    assert "only administrator account" in response.get_data(as_text=True)
    user = user_row(app, world["admin"])
    assert (user.is_admin, user.deleted_at) == (True, None)


def test_an_admin_may_delete_their_account_when_another_admin_remains(app, world, role_client):
    with app.app_context():
        factories.make_user(name="Second Admin", is_admin=True)
        db.session.commit()
    response = post_form(role_client("admin"), "/account/delete", {"password": factories.PASSWORD})
    assert response.status_code == 302
    user = user_row(app, world["admin"])
    assert (user.name, user.is_admin, user.deleted_at is not None) == ("Deleted user", False, True)


def test_deleted_users_show_in_admin_search_only_as_deleted_user(app, world, role_client):
    with app.app_context():
        old_email = db.session.get(User, world["participant"]).email
        factories.make_user(name="Second Admin", is_admin=True)
        db.session.commit()
    post_form(role_client("participant"), "/account/delete", {"password": factories.PASSWORD})
    admin = role_client("admin")
    assert "No users match" in admin.get(f"/admin/users?q={old_email}").get_data(as_text=True)
    assert "No users match" in admin.get("/admin/users?q=Alex").get_data(as_text=True)
    page = admin.get("/admin/users?q=deleted").get_data(as_text=True)
    assert "Deleted user" in page
    assert "None" not in page
    assert "badge-inactive\">deleted" in page
    detail = admin.get(f"/admin/users/{world['participant']}").get_data(as_text=True)
    assert "This account was deleted" in detail
    assert "Deactivate" not in detail
    assert "/delete" not in detail


def test_deleted_page_sends_signed_in_people_home(role_client, client):
    assert role_client("participant").get("/account/deleted").status_code == 302
    assert client.get("/account/deleted").status_code == 200


# --- admins and facilitators deleting someone else --------------------------------------------


def test_admin_user_page_links_to_the_delete_page(world, role_client):
    page = role_client("admin").get(f"/admin/users/{world['outsider']}").get_data(as_text=True)
    assert f'href="/admin/users/{world["outsider"]}/delete"' in page


def test_admin_is_told_what_happens_then_deletes_with_their_own_password(app, world,
                                                                         own_password_client):
    client = own_password_client("admin")
    path = f"/admin/users/{world['participant']}/delete"
    page = client.get(path).get_data(as_text=True)
    assert "Delete Alex Participant's account" in page
    assert "What is erased" in page
    assert "Your own password" in page

    # the person's own password is not the actor's
    response = post_form(client, path, {"password": factories.PASSWORD})
    assert response.status_code == 400
    assert "That password is not right." in response.get_data(as_text=True)
    assert user_row(app, world["participant"]).deleted_at is None

    response = post_form(client, path, {"password": ADMIN_PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/users/{world['participant']}"
    assert "Alex Participant&#39;s account has been deleted." in client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert user_row(app, world["participant"]).name == "Deleted user"
    with app.app_context():
        deleted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deleted"))
        assert (deleted.actor_id, deleted.subject_id, deleted.details["by"]) == (
            world["admin"], world["participant"], "admin")
    assert client.get("/admin/users").status_code == 200  # the admin is still signed in


def test_admin_opening_their_own_delete_page_goes_to_the_self_service_page(world, role_client):
    response = role_client("admin").get(f"/admin/users/{world['admin']}/delete")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/delete"


@pytest.mark.parametrize("user_id", ["999999", "0"])
def test_missing_users_answer_404(role_client, user_id):
    assert role_client("admin").get(f"/admin/users/{user_id}/delete").status_code == 404


def test_already_deleted_users_answer_404(world, own_password_client):
    client = own_password_client("admin")
    path = f"/admin/users/{world['outsider']}/delete"
    assert post_form(client, path, {"password": ADMIN_PASSWORD}).status_code == 303
    assert client.get(path).status_code == 404
    assert post_form(client, path, {"password": ADMIN_PASSWORD}).status_code == 404


def test_facilitator_deletes_a_managed_participant_of_their_cohort(app, world, own_password_client,
                                                                   managed):
    client = own_password_client("facilitator")
    path = f"/admin/users/{managed}/delete"
    page = client.get(path).get_data(as_text=True)
    assert "Delete Morgan Managed's account" in page
    assert "supported-digital account" in page

    response = post_form(client, path + "?next=/cohorts/1/people",
                         {"password": FACILITATOR_PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/cohorts/1/people"
    user = user_row(app, managed)
    assert (user.name, user.deleted_at is not None) == ("Deleted user", True)
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(Membership.user_id == managed))
        assert membership.status is MembershipStatus.REMOVED
        deleted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deleted"))
        assert (deleted.actor_id, deleted.details["by"]) == (world["facilitator"], "facilitator")


def test_an_unsafe_next_is_ignored(own_password_client, managed):
    response = post_form(own_password_client("facilitator"),
                         f"/admin/users/{managed}/delete?next=//evil.example",
                         {"password": FACILITATOR_PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_facilitators_cannot_delete_people_outside_their_scope(app, world, role_client, managed):
    with app.app_context():
        elsewhere = factories.make_cohort()
        stranger = factories.make_user(name="Managed Elsewhere", password="", is_managed=True)
        factories.add_member(elsewhere, stranger, CohortRole.PARTICIPANT)
        removed = factories.make_user(name="Managed Removed", password="", is_managed=True)
        cohort = db.session.get(factories.Cohort, world["cohort"])
        factories.add_member(cohort, removed, CohortRole.PARTICIPANT).status = MembershipStatus.REMOVED
        db.session.commit()
        out_of_scope = [stranger.id, removed.id, world["participant"], world["patron"], world["admin"],
                        world["outsider"], 999999]
    client = role_client("facilitator")
    for user_id in out_of_scope:
        assert client.get(f"/admin/users/{user_id}/delete").status_code == 404, user_id
        assert post_form(client, f"/admin/users/{user_id}/delete",
                         {"password": factories.PASSWORD}).status_code == 404, user_id
    for user_id in out_of_scope[:-1]:
        assert user_row(app, user_id).deleted_at is None


@pytest.mark.parametrize("role", ["participant", "patron"])
def test_participants_and_patrons_cannot_delete_others(app, world, role_client, managed, role):
    client = role_client(role)
    for user_id in (managed, world["outsider"]):
        assert client.get(f"/admin/users/{user_id}/delete").status_code == 404
        assert post_form(client, f"/admin/users/{user_id}/delete",
                         {"password": factories.PASSWORD}).status_code == 404
    assert user_row(app, managed).deleted_at is None


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    for path in ("/account/delete", f"/admin/users/{world['outsider']}/delete"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_a_deleted_account_cannot_be_reactivated_or_given_roles(app, world, role_client):
    admin = role_client("admin")
    path = f"/admin/users/{world['outsider']}"
    assert post_form(admin, path + "/delete", {"password": factories.PASSWORD}).status_code == 303
    response = post_form(admin, path + "/active", {"active": "1"})
    assert response.status_code == 303
    assert "cannot be reactivated" in admin.get(path).get_data(as_text=True)
    assert post_form(admin, path, {"is_admin": "y", "is_facilitator": "y"}).status_code == 400
    user = user_row(app, world["outsider"])
    assert (user.is_active, user.is_admin, user.is_facilitator) == (False, False, False)
