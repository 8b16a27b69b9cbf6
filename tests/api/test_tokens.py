"""Personal access tokens through the doors people use: the account page, the admin page, the
command line and the privacy pages; and whether the API then takes the token or refuses it."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from dap.accounts.models import ApiToken, TokenScope, User
from dap.audit.models import AuditEvent
from dap.clock import as_utc
from dap.extensions import db
from tests import factories
from tests.api.conftest import make_token
from tests.conftest import post_form

#: a Monday afternoon in London (the default time zone), 10:00 in New York
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TOKEN_RE = re.compile(r"^dap_[A-Za-z0-9_-]{40}$")
SECRET_ON_PAGE_RE = re.compile(r'id="new-token"[^>]*value="([^"]+)"')
PROBLEM = "application/problem+json"


# --- helpers ---------------------------------------------------------------------------------


def make_on_page(client, name: str | None = "Phone shortcut", scope: str | None = "read-write",
                 expires_on: str | None = ""):
    """Submit the "Make a token" form (a None field is left out, as a browser could)."""
    fields = {"name": name, "scope": scope, "expires_on": expires_on}
    return post_form(client, "/account/tokens", {k: v for k, v in fields.items() if v is not None})


def secret_on(response) -> str:
    match = SECRET_ON_PAGE_RE.search(response.get_data(as_text=True))
    assert match, "the page shows no new token"
    return match.group(1)


def made_on_page(client, **fields) -> str:
    """A token made through the form; its secret as the page showed it."""
    response = make_on_page(client, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    return secret_on(response)


def call_me(app, secret: str | None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return app.test_client().get("/api/v1/me", headers=headers)


def assert_works(app, secret: str) -> dict:
    response = call_me(app, secret)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def assert_refused(app, secret: str, code: str) -> None:
    response = call_me(app, secret)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == code
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="DAP API"')


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def stored(app, secret: str) -> ApiToken:
    """The token's row, found by the SHA-256 of the secret (detached)."""
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(secret)))
        assert token is not None
        db.session.expunge(token)
        return token


def token_count(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ApiToken)
                                 .where(ApiToken.user_id == user_id))


def set_user(app, user_id: int, **values) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def email_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


def token_for(app, user_id: int, **kwargs) -> str:
    """A token made through the service (arranging, not what is tested)."""
    with app.app_context():
        return make_token(user_id, **kwargs)


def row_cells(page: str, name: str) -> list[str]:
    """The cells of the list's row for the token named ``name`` (HTML as rendered)."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        if name in cells:
            return cells
    raise AssertionError(f"no row for {name!r}")


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                         .order_by(AuditEvent.id)))
        for event in events:
            db.session.expunge(event)
        return events


def revoke_path(app, secret: str, *, admin: bool = False) -> str:
    prefix = "/admin/tokens" if admin else "/account/tokens"
    return f"{prefix}/{stored(app, secret).id}/revoke"


def read_zip(data: bytes) -> dict[str, str]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.fixture
def participant(role_client, frozen):
    """world's participant, signed in at T0."""
    frozen(T0)
    return role_client("participant")


# --- making a token on the page ----------------------------------------------------------------


def test_the_page_lists_nothing_before_the_first_token(participant):
    response = participant.get("/account/tokens")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "You have no tokens yet." in page
    assert 'id="new-token"' not in page


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_new_token_is_shown_once_on_a_page_that_is_not_kept(participant):
    response = make_on_page(participant)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    secret = secret_on(response)
    assert TOKEN_RE.match(secret)
    assert response.get_data(as_text=True).count(secret) == 1


def test_reloading_the_page_does_not_show_the_token_again(participant):
    secret = made_on_page(participant)
    page = participant.get("/account/tokens").get_data(as_text=True)
    assert secret not in page
    assert secret[4:] not in page
    assert 'id="new-token"' not in page


def test_the_database_keeps_only_the_sha256_of_the_token(app, participant):
    secret = made_on_page(participant)
    with app.app_context():
        cells = [str(value) for query in ("SELECT * FROM api_tokens", "SELECT * FROM audit_events")
                 for row in db.session.execute(text(query)) for value in row]
    assert sha256(secret) in cells
    assert not [cell for cell in cells if secret[4:] in cell]


def test_the_list_shows_name_prefix_and_scope(app, participant):
    secret = made_on_page(participant, name="Team dashboard", scope="read")
    cells = row_cells(participant.get("/account/tokens").get_data(as_text=True), "Team dashboard")
    assert stored(app, secret).prefix == secret[:8]
    assert cells[:3] == ["Team dashboard", f"<code>{secret[:8]}…</code>", "read"]
    assert cells[5] == "never"  # no expiry chosen


def test_a_new_token_acts_for_its_owner(app, world, participant):
    secret = made_on_page(participant, name="Phone")
    me = assert_works(app, secret)
    assert me["id"] == world["participant"]
    assert me["token"]["name"] == "Phone"
    assert me["token"]["scope"] == "read-write"


def test_a_read_token_reads_but_may_not_write(app, participant):
    secret = made_on_page(participant, scope="read")
    assert_works(app, secret)
    response = app.test_client().post("/api/v1/web-activities", json={},
                                      headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "insufficient_scope"


def test_making_a_token_is_audited(app, world, participant):
    secret = made_on_page(participant, name="Phone", scope="read")
    [event] = audit(app, "api_token.created")
    assert (event.actor_id, event.subject_id) == (world["participant"], world["participant"])
    assert event.details["token_id"] == stored(app, secret).id
    assert (event.details["name"], event.details["scope"]) == ("Phone", "read")


def test_a_post_without_csrf_makes_no_token(app, world, participant):
    response = participant.post("/account/tokens", data={"name": "Phone", "scope": "read"})
    assert response.status_code == 400
    assert token_count(app, world["participant"]) == 0


# --- last used -------------------------------------------------------------------------------


def test_last_used_is_never_before_the_first_call(participant):
    made_on_page(participant, name="Phone", expires_on="")
    cells = row_cells(participant.get("/account/tokens").get_data(as_text=True), "Phone")
    assert cells[4] == "never"


def test_last_used_is_set_by_a_call(app, participant, frozen):
    secret = made_on_page(participant, name="Phone")
    frozen(T0 + timedelta(minutes=5))
    assert_works(app, secret)
    assert as_utc(stored(app, secret).last_used_at) == T0 + timedelta(minutes=5)
    cells = row_cells(participant.get("/account/tokens").get_data(as_text=True), "Phone")
    assert cells[4] != "never"
    assert "2026-03-02T15:05:00" in cells[4]


def test_last_used_is_written_at_most_once_a_minute(app, participant, frozen):
    secret = made_on_page(participant)
    assert_works(app, secret)
    frozen(T0 + timedelta(seconds=59))
    assert_works(app, secret)
    assert as_utc(stored(app, secret).last_used_at) == T0
    frozen(T0 + timedelta(seconds=61))
    assert_works(app, secret)
    assert as_utc(stored(app, secret).last_used_at) == T0 + timedelta(seconds=61)


# --- bad input on the form ---------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": ""}, "Enter a name for the token."),
    ({"name": "   "}, "Enter a name for the token."),
    ({"name": None}, "Enter a name for the token."),
    ({"name": "x" * 81}, "Use at most 80 characters."),
    ({"name": "x" * 10_000}, "Use at most 80 characters."),
    ({"name": "\x01\x02\x7f"}, "Enter a name for the token."),
    ({"scope": None}, "Choose what it may do."),
    ({"scope": ""}, "Choose what it may do."),
    ({"scope": "admin"}, "Not a valid choice"),
    ({"scope": "READ"}, "Not a valid choice"),
    ({"expires_on": "tomorrow"}, "Not a valid date value"),
    ({"expires_on": "2026-02-30"}, "Not a valid date value"),
    ({"expires_on": "03/04/2026"}, "Not a valid date value"),
    ({"expires_on": "99999-01-01"}, "Not a valid date value"),
    ({"expires_on": "2026-03-01"}, "That day has passed"),
    ({"expires_on": "1970-01-01"}, "That day has passed"),
    ({"expires_on": (T0.date() + timedelta(days=367)).isoformat()}, "Choose a day within a year"),
], ids=["empty-name", "blank-name", "no-name", "81-chars", "huge-name", "only-control-chars",
        "no-scope", "empty-scope", "unknown-scope", "scope-in-capitals", "words-for-date",
        "30-february", "other-date-format", "five-digit-year", "yesterday", "long-ago",
        "367-days-ahead"])
def test_bad_input_is_refused_with_a_message_and_makes_nothing(app, world, participant, fields,
                                                                 message):
    response = make_on_page(participant, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="new-token"' not in page
    assert token_count(app, world["participant"]) == 0


def test_control_characters_are_dropped_from_the_name(app, participant):
    secret = made_on_page(participant, name="Pho\x00ne\x07 short\x1bcut")
    assert stored(app, secret).name == "Phone shortcut"


@pytest.mark.parametrize("name", ["Téléphone 📱 de Zoë", "日本語のスクリプト", "é" * 80])
def test_unicode_names_are_accepted_and_shown(app, participant, name):
    secret = made_on_page(participant, name=name)
    assert stored(app, secret).name == name
    assert row_cells(participant.get("/account/tokens").get_data(as_text=True), name)


def test_markup_in_a_name_is_shown_as_text(participant):
    made_on_page(participant, name="<b>bold</b>")
    page = participant.get("/account/tokens").get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<b>bold</b>" not in page


def test_an_expiry_a_year_ahead_is_accepted(app, participant):
    secret = made_on_page(participant, expires_on=(T0.date() + timedelta(days=366)).isoformat())
    assert_works(app, secret)


def test_today_is_the_owners_today(app, world, participant, frozen):
    """At 02:00 UTC on 3 March it is still 2 March in New York: "today" there is accepted,
    and the day before is refused."""
    set_user(app, world["participant"], timezone="America/New_York")
    frozen(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    assert make_on_page(participant, expires_on="2026-03-01").status_code == 400
    assert make_on_page(participant, expires_on="2026-03-02").status_code == 201


def test_a_token_for_today_works_until_midnight_in_the_owners_zone(app, world, participant, frozen):
    set_user(app, world["participant"], timezone="America/New_York")
    secret = made_on_page(participant, expires_on="2026-03-02")
    # midnight in New York (EST, UTC-5) is 05:00 UTC the next day
    frozen(datetime(2026, 3, 3, 4, 59, 59, tzinfo=UTC))
    assert_works(app, secret)
    frozen(datetime(2026, 3, 3, 5, 0, tzinfo=UTC))
    assert_refused(app, secret, "token_expired")


def test_an_expiry_is_stored_as_the_end_of_the_owners_day(app, world, participant):
    set_user(app, world["participant"], timezone="Pacific/Auckland")
    # 04:00 on 3 March in Auckland (NZDT, UTC+13)
    secret = made_on_page(participant, expires_on=date(2026, 3, 3).isoformat())
    assert as_utc(stored(app, secret).expires_at) == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)


def test_an_expired_token_is_listed_as_expired(app, participant, frozen):
    made_on_page(participant, name="Short-lived", expires_on="2026-03-02")
    frozen(T0 + timedelta(days=1))
    cells = row_cells(participant.get("/account/tokens").get_data(as_text=True), "Short-lived")
    assert "expired" in cells[6]
    assert "/revoke" not in cells[6]


def test_the_21st_live_token_is_refused_with_a_clear_message(app, world, participant):
    for n in range(20):
        token_for(app, world["participant"], name=f"Token {n}")
    response = make_on_page(participant, name="One too many")
    assert response.status_code == 400
    assert "At most 20 live tokens: revoke one you no longer use." in response.get_data(as_text=True)
    assert token_count(app, world["participant"]) == 20


def test_a_revoked_token_frees_its_place(app, world, participant):
    secrets = [token_for(app, world["participant"], name=f"Token {n}") for n in range(20)]
    assert post_form(participant, revoke_path(app, secrets[0])).status_code == 303
    assert make_on_page(participant, name="Replacement").status_code == 201


# --- revoking ----------------------------------------------------------------------------------


def test_revoking_own_token_stops_it(app, world, participant):
    secret = made_on_page(participant)
    response = post_form(participant, revoke_path(app, secret))
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/tokens"
    assert_refused(app, secret, "token_revoked")
    token = stored(app, secret)
    assert (as_utc(token.revoked_at), token.revoked_by_id) == (T0, world["participant"])


def test_a_revoked_token_is_listed_as_revoked(app, participant):
    secret = made_on_page(participant, name="Old script")
    post_form(participant, revoke_path(app, secret))
    page = participant.get("/account/tokens").get_data(as_text=True)
    assert "Revoked “Old script”" in page
    assert "revoked" in row_cells(page, "Old script")[6]


def test_revoking_twice_is_harmless(app, participant, frozen):
    secret = made_on_page(participant)
    path = revoke_path(app, secret)
    assert post_form(participant, path).status_code == 303
    frozen(T0 + timedelta(minutes=1))
    assert post_form(participant, path).status_code == 303
    assert as_utc(stored(app, secret).revoked_at) == T0
    assert len(audit(app, "api_token.revoked")) == 1
    assert_refused(app, secret, "token_revoked")


def test_revoking_someone_elses_token_answers_404_and_it_still_works(app, world, participant):
    theirs = token_for(app, world["patron"])
    assert post_form(participant, revoke_path(app, theirs)).status_code == 404
    assert stored(app, theirs).revoked_at is None
    assert_works(app, theirs)


@pytest.mark.parametrize("token_id", ["999999", "0"])
def test_revoking_a_token_that_does_not_exist_answers_404(participant, token_id):
    assert post_form(participant, f"/account/tokens/{token_id}/revoke").status_code == 404


def test_revoking_without_csrf_answers_400_and_the_token_still_works(app, participant):
    secret = made_on_page(participant)
    assert participant.post(revoke_path(app, secret)).status_code == 400
    assert_works(app, secret)


def test_revoking_is_audited(app, world, participant):
    secret = made_on_page(participant, name="Phone")
    post_form(participant, revoke_path(app, secret))
    [event] = audit(app, "api_token.revoked")
    assert (event.actor_id, event.subject_id) == (world["participant"], world["participant"])
    assert (event.details["token_id"], event.details["name"]) == (stored(app, secret).id, "Phone")


def test_a_managed_account_has_no_token_page(app, world, participant):
    set_user(app, world["participant"], is_managed=True)
    assert participant.get("/account/tokens").status_code == 404
    assert make_on_page(participant).status_code == 404
    assert token_count(app, world["participant"]) == 0


def test_a_managed_accounts_old_token_opens_nothing(app, world):
    secret = token_for(app, world["participant"])
    set_user(app, world["participant"], is_managed=True)
    assert_refused(app, secret, "token_invalid")


def test_a_deactivated_owners_token_answers_401(app, world):
    secret = token_for(app, world["participant"])
    set_user(app, world["participant"], is_active=False)
    assert_refused(app, secret, "token_invalid")


@pytest.mark.parametrize("secret", ["dap_" + "A" * 40, "not-a-dap-token", "dap_", "dap_" + "x" * 500])
def test_unknown_tokens_answer_token_invalid(app, world, secret):
    assert_refused(app, secret, "token_invalid")


def test_no_token_answers_token_missing(app):
    response = call_me(app, None)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_missing"


# --- the admin page --------------------------------------------------------------------------


def test_admin_page_lists_everyones_live_tokens_with_their_owners(app, world, role_client, frozen):
    frozen(T0)
    token_for(app, world["participant"], name="Alex phone")
    token_for(app, world["patron"], name="Pat script")
    revoked = token_for(app, world["patron"], name="Revoked one")
    token_for(app, world["outsider"], name="Expired one", expires_on=T0.date())
    with app.app_context():
        from dap.accounts import api_tokens

        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(revoked)))
        api_tokens.revoke(token, actor=None)
        db.session.commit()
    frozen(T0 + timedelta(days=1))
    response = role_client("admin").get("/admin/tokens")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 live tokens." in page
    assert "Alex Participant" in row_cells(page, "Alex phone")[0]
    assert "Pat Patron" in row_cells(page, "Pat script")[0]
    assert "Revoked one" not in page
    assert "Expired one" not in page


def test_admin_page_shows_50_tokens_a_page(app, world, role_client):
    for role in ("participant", "patron", "outsider"):
        for n in range(17):
            token_for(app, world[role], name=f"{role} {n}")
    admin = role_client("admin")
    first = admin.get("/admin/tokens").get_data(as_text=True)
    second = admin.get("/admin/tokens?page=2").get_data(as_text=True)
    assert "51 live tokens." in first
    assert first.count('/revoke"') == 50
    assert second.count('/revoke"') == 1


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999"])
def test_admin_page_survives_odd_page_numbers(world, role_client, page):
    assert role_client("admin").get(f"/admin/tokens?page={page}").status_code == 200


@pytest.mark.parametrize("role", ["facilitator", "participant"])
def test_the_admin_page_is_for_admins_only(app, world, role_client, role):
    secret = token_for(app, world["patron"])
    client = role_client(role)
    assert client.get("/admin/tokens").status_code == 403
    assert post_form(client, revoke_path(app, secret, admin=True)).status_code == 403
    assert_works(app, secret)


def test_admin_revokes_someone_elses_token(app, world, role_client):
    secret = token_for(app, world["participant"], name="Leaked")
    admin = role_client("admin")
    response = post_form(admin, revoke_path(app, secret, admin=True))
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/tokens"
    assert_refused(app, secret, "token_revoked")
    assert stored(app, secret).revoked_by_id == world["admin"]
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "Revoked “Leaked”" in page
    assert "No live tokens." in page


def test_admin_revoking_is_audited_against_the_owner(app, world, role_client):
    secret = token_for(app, world["participant"], name="Leaked")
    post_form(role_client("admin"), revoke_path(app, secret, admin=True))
    [event] = audit(app, "api_token.revoked")
    assert (event.actor_id, event.subject_id) == (world["admin"], world["participant"])
    assert event.details["token_id"] == stored(app, secret).id


def test_admin_revoking_a_missing_token_answers_404(world, role_client):
    assert post_form(role_client("admin"), "/admin/tokens/999999/revoke").status_code == 404


def test_admin_revoking_without_csrf_answers_400(app, world, role_client):
    secret = token_for(app, world["participant"])
    assert role_client("admin").post(revoke_path(app, secret, admin=True)).status_code == 400
    assert_works(app, secret)


# --- the command line ---------------------------------------------------------------------------


def test_cli_create_prints_only_a_working_token(app, world, runner):
    result = runner.invoke(args=["token", "create", email_of(app, world["participant"]),
                                 "--name", "Cron job"])
    assert result.exit_code == 0, result.output
    secret = result.output.removesuffix("\n")
    assert TOKEN_RE.match(secret)
    me = assert_works(app, secret)
    assert (me["id"], me["token"]["name"], me["token"]["scope"]) == (
        world["participant"], "Cron job", "read-write")


def test_cli_create_finds_the_account_whatever_the_case(app, world, runner):
    email = email_of(app, world["participant"]).upper()
    result = runner.invoke(args=["token", "create", f"  {email} "])
    assert result.exit_code == 0, result.output
    assert_works(app, result.output.strip())


def test_cli_create_with_read_scope_makes_a_read_token(app, world, runner):
    result = runner.invoke(args=["token", "create", email_of(app, world["participant"]),
                                 "--scope", "read"])
    assert result.exit_code == 0, result.output
    assert stored(app, result.output.strip()).scope is TokenScope.READ


def test_cli_create_with_an_expiry_in_the_past_fails_clearly(app, world, runner, frozen):
    frozen(T0)
    result = runner.invoke(args=["token", "create", email_of(app, world["participant"]),
                                 "--expires", "2026-03-01"])
    assert result.exit_code != 0
    assert "Invalid value for '--expires': That day has passed" in result.output
    assert "dap_" not in result.output
    assert token_count(app, world["participant"]) == 0


def test_cli_create_with_an_expiry_ahead_sets_it(app, world, runner, frozen):
    frozen(T0)
    result = runner.invoke(args=["token", "create", email_of(app, world["participant"]),
                                 "--expires", "2026-03-05"])
    assert result.exit_code == 0, result.output
    # the end of 5 March in London (GMT)
    assert as_utc(stored(app, result.output.strip()).expires_at) == datetime(2026, 3, 6, tzinfo=UTC)


@pytest.mark.parametrize("args", [["--expires", "5 March"], ["--scope", "admin"]])
def test_cli_create_refuses_malformed_options(app, world, runner, args):
    result = runner.invoke(args=["token", "create", email_of(app, world["participant"]), *args])
    assert result.exit_code == 2
    assert "Invalid value" in result.output
    assert token_count(app, world["participant"]) == 0


def test_cli_create_for_an_unknown_email_fails(world, runner):
    result = runner.invoke(args=["token", "create", "nobody@example.org"])
    assert result.exit_code == 1
    assert "No account with the email 'nobody@example.org'." in result.output


def test_cli_create_refuses_an_account_that_cannot_use_the_api(app, world, runner):
    set_user(app, world["participant"], is_active=False)
    result = runner.invoke(args=["token", "create", email_of(app, world["participant"])])
    assert result.exit_code == 1
    assert "This account cannot use the API." in result.output
    assert token_count(app, world["participant"]) == 0


def test_cli_list_shows_each_tokens_state_but_never_the_token(app, world, runner, frozen):
    frozen(T0)
    live = token_for(app, world["participant"], name="Live one", scope=TokenScope.READ)
    revoked = token_for(app, world["participant"], name="Revoked one")
    expired = token_for(app, world["participant"], name="Expired one", expires_on=T0.date())
    assert runner.invoke(args=["token", "revoke", str(stored(app, revoked).id)]).exit_code == 0
    frozen(T0 + timedelta(days=1))
    result = runner.invoke(args=["token", "list", email_of(app, world["participant"])])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[-1]: line.split("\t") for line in result.output.splitlines()}
    assert lines["Live one"][:5] == [str(stored(app, live).id), f"{live[:8]}…", "read", "live",
                                     "last used never"]
    assert lines["Revoked one"][3] == "revoked"
    assert lines["Expired one"][3] == "expired"
    for secret in (live, revoked, expired):
        assert secret[8:] not in result.output
        assert sha256(secret) not in result.output


def test_cli_list_for_an_unknown_email_fails(world, runner):
    result = runner.invoke(args=["token", "list", "nobody@example.org"])
    assert result.exit_code == 1
    assert "No account with the email" in result.output


def test_cli_revoke_stops_the_token_and_says_so_the_second_time(app, world, runner):
    secret = token_for(app, world["participant"])
    token_id = stored(app, secret).id
    first = runner.invoke(args=["token", "revoke", str(token_id)])
    assert (first.exit_code, first.output) == (0, f"Revoked token {token_id}.\n")
    assert_refused(app, secret, "token_revoked")
    second = runner.invoke(args=["token", "revoke", str(token_id)])
    assert (second.exit_code, second.output) == (0, f"Token {token_id} was already revoked.\n")
    [event] = audit(app, "api_token.revoked")
    assert (event.actor_id, event.subject_id) == (None, world["participant"])


@pytest.mark.parametrize(("token_id", "exit_code", "message"), [
    ("999999", 1, "No token 999999."),
    ("abc", 2, "Invalid value"),
])
def test_cli_revoke_of_a_missing_token_fails(world, runner, token_id, exit_code, message):
    result = runner.invoke(args=["token", "revoke", token_id])
    assert result.exit_code == exit_code
    assert message in result.output


# --- privacy -----------------------------------------------------------------------------------


def test_the_export_lists_tokens_without_the_secret_or_its_hash(app, participant):
    secret = made_on_page(participant, name="Export me", scope="read")
    response = participant.get("/account/export")
    assert response.status_code == 200
    files = read_zip(response.data)
    [row] = list(csv.DictReader(io.StringIO(files["api_tokens.csv"])))
    assert (row["name"], row["starts_with"], row["scope"]) == ("Export me", secret[:8], "read")
    everything = "".join(files.values())
    assert secret[8:] not in everything
    assert sha256(secret) not in everything


def test_deleting_the_account_deletes_its_tokens(app, world, participant):
    secret = made_on_page(participant)
    others = token_for(app, world["patron"])
    response = post_form(participant, "/account/delete", {"password": factories.PASSWORD})
    assert response.status_code == 302
    assert token_count(app, world["participant"]) == 0
    assert_refused(app, secret, "token_invalid")
    assert_works(app, others)
