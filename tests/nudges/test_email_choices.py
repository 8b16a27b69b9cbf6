"""What people choose to get by email (the preferences page), the one-click unsubscribe every
governed email carries (body link and List-Unsubscribe headers, no sign-in), and the admins'
outbox page with failed emails and their errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.jobs.registry import deliver_outbox
from dap.nudges.models import EmailState, MessagePreference, NotificationKind
from dap.nudges.notify import notify
from dap.nudges.preferences import Category, unsubscribe_token
from tests.conftest import post_form
from tests.nudges.test_governance import MONDAY, emails, tell

UNSUBSCRIBE_RE = re.compile(r"https://dap\.example\.org(/unsubscribe/[A-Za-z0-9_.\-]+)")


@pytest.fixture(autouse=True)
def _mail_settings(app):
    app.config["BASE_URL"] = "https://dap.example.org"
    app.config["MAIL_FROM"] = "DAP <dap@dap.example.org>"
    app.config["MAIL_TIMEOUT_SECONDS"] = 5


def preference(app, user_id: int, category: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(MessagePreference.delivery).where(
            MessagePreference.user_id == user_id, MessagePreference.category == category))


def effective(app, user_id: int, category: str) -> str:
    """The delivery in force: the stored choice, or the category's default."""
    from dap.nudges.preferences import preferences_of

    with app.app_context():
        return preferences_of(db.session.get(User, user_id))[Category(category)].value


def checked(page: str, name: str) -> str:
    """The value of the checked radio button named ``name`` on ``page``."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and " checked" in tag:
            return re.search(r'value="([^"]*)"', tag).group(1)
    raise AssertionError(f"no {name} choice is checked")


def delivered(app, smtp_server):
    with app.app_context():
        deliver_outbox(app)
    return [r.message for r in smtp_server.inbox.received]


def arrived(smtp_server) -> list[bytes]:
    """The messages as they came over SMTP."""
    return [r.raw for r in smtp_server.inbox.received]


# --- the email itself ----------------------------------------------------------------------------


def test_every_governed_email_carries_one_click_unsubscribe(app, world, frozen, smtp_server):
    frozen(MONDAY)
    tell(app, world, "nudge-1", kind=NotificationKind.NUDGE)
    (message,) = delivered(app, smtp_server)
    (raw,) = arrived(smtp_server)
    # A plain URL in angle brackets, never an RFC 2047 encoded-word, however long.
    assert re.search(rb"\nList-Unsubscribe: <https://dap\.example\.org/unsubscribe/[^>\s]+>\r?\n",
                     raw), raw[:600]
    header = message["List-Unsubscribe"]
    assert header.startswith("<https://dap.example.org/unsubscribe/")
    assert header.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    url = header[1:-1]
    assert url in text
    assert url in html
    assert "https://dap.example.org/account/emails" in text
    assert "Nudges from your patrons" in text  # why they get it


def test_account_emails_have_no_unsubscribe(app, world, smtp_server):
    with app.app_context():
        from dap.nudges.services import queue_email

        queue_email(to="alex@example.org", subject="Reset", template="password_reset",
                    context={"user": db.session.get(User, world["participant"]),
                             "link": "https://x/reset", "minutes": 60},
                    dedup_key="reset:9", kind="password_reset")
        db.session.commit()
    (message,) = delivered(app, smtp_server)
    assert message["List-Unsubscribe"] is None


# --- unsubscribing -------------------------------------------------------------------------------


def _link(app, world, frozen, kind=NotificationKind.NUDGE) -> str:
    frozen(MONDAY)
    tell(app, world, f"for-link-{kind.value}", kind=kind)
    (mail,) = [m for m in emails(app) if m.kind == kind.value]
    return UNSUBSCRIBE_RE.search(mail.body_text).group(1)


def test_the_link_asks_first_and_a_press_unsubscribes_without_signing_in(app, world, frozen,
                                                                      client):
    path = _link(app, world, frozen)
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Stop these emails?" in body
    assert "Nudges from your patrons" in body
    assert preference(app, world["participant"], "nudges") is None  # a GET changes nothing
    done = post_form(client, path)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.get_data(as_text=True)
    assert preference(app, world["participant"], "nudges") == "off"
    assert preference(app, world["participant"], "reminders") is None  # only that category
    assert tell(app, world, "after", kind=NotificationKind.NUDGE) is EmailState.NONE
    assert tell(app, world, "other", kind=NotificationKind.CHECKIN_REMINDER) is EmailState.QUEUED


def test_mail_programs_one_click_post_needs_no_form_token(app, world, frozen, client):
    path = _link(app, world, frozen)
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert preference(app, world["participant"], "nudges") == "off"


def test_a_reused_link_changes_nothing_and_is_recorded_once(app, world, frozen, client):
    path = _link(app, world, frozen)
    for _ in range(3):
        assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    page = client.get(path).get_data(as_text=True)
    assert "You are unsubscribed" in page
    assert "Already done" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "account.unsubscribed")) == 1


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
    lambda t: t[: len(t) // 2],  # cut short by a mail program
    lambda t: "x" + t,
    lambda t: "not-a-token",
    lambda t: "A" * 5000,
    lambda t: "%00%ff",
])
def test_a_tampered_link_is_refused_and_changes_nothing(app, world, frozen, client, tamper):
    path = _link(app, world, frozen)
    token = path.rsplit("/", 1)[1]
    bad = f"/unsubscribe/{tamper(token)}"
    for response in (client.get(bad), client.post(bad, data={"List-Unsubscribe": "One-Click"})):
        assert response.status_code in (400, 404)
        if response.status_code == 400:
            assert "does not work" in response.get_data(as_text=True)
    assert preference(app, world["participant"], "nudges") is None


def test_a_link_signed_with_another_key_or_for_another_category_is_refused(app, world, client):
    with app.app_context():
        forged = unsubscribe_token(world["participant"], Category.NUDGES, secret_key="guess")
    assert client.get(f"/unsubscribe/{forged}").status_code == 400
    from itsdangerous import URLSafeSerializer

    odd = URLSafeSerializer(app.config["SECRET_KEY"], salt="dap.unsubscribe")
    for payload in ([world["participant"], "everything"], ["1", "nudges"], [True, "nudges"],
                    {"u": 1}, [world["participant"]]):
        assert client.get(f"/unsubscribe/{odd.dumps(payload)}").status_code == 400


def test_a_deleted_accounts_link_is_refused(app, world, frozen, client):
    path = _link(app, world, frozen)
    with app.app_context():
        db.session.get(User, world["participant"]).deleted_at = MONDAY
        db.session.commit()
    assert client.get(path).status_code == 400


def test_the_digests_link_turns_every_category_off(app, world, frozen, client):
    from dap.nudges.digests import send_daily_digests

    frozen(MONDAY)
    with app.app_context():
        db.session.add(MessagePreference(user_id=world["participant"], category="reminders",
                                         delivery="daily"))
        db.session.commit()
    tell(app, world, "one")
    with app.app_context():
        send_daily_digests(now=datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
        db.session.commit()
    (digest,) = emails(app, kind="digest")
    path = UNSUBSCRIBE_RE.search(digest.body_text).group(1)
    assert "all emails from DAP" in client.get(path).get_data(as_text=True)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        chosen = set(db.session.scalars(select(MessagePreference.delivery).where(
            MessagePreference.user_id == world["participant"])))
    assert chosen == {"off"}
    assert tell(app, world, "enthuse", kind=NotificationKind.ENTHUSE) is EmailState.NONE


# --- the preferences page ------------------------------------------------------------------------


def test_a_participant_chooses_per_category(app, world, role_client):
    me = role_client("participant")
    page = me.get("/account/emails").get_data(as_text=True)
    assert "Nudges from your patrons" in page
    assert "Reminders" in page
    assert "Weekly summary for patrons" not in page  # not a patron
    response = post_form(me, "/account/emails", {
        "nudges": "daily", "feedback": "immediate", "reminders": "off", "events": "immediate",
        "support": "immediate", "encouragement": "off"})
    assert response.status_code == 303
    assert preference(app, world["participant"], "nudges") == "daily"
    assert preference(app, world["participant"], "reminders") == "off"
    page = me.get("/account/emails").get_data(as_text=True)
    assert checked(page, "nudges") == "daily"
    assert checked(page, "reminders") == "off"
    assert checked(page, "events") == "immediate"


def test_a_patron_sees_the_patron_categories(app, world, role_client):
    page = role_client("patron").get("/account/emails").get_data(as_text=True)
    assert "Weekly summary for patrons" in page
    assert "Every Monday" in page
    assert "Asked for help" not in page
    assert "Asked for help" in role_client("facilitator").get("/account/emails").get_data(
        as_text=True)


@pytest.mark.parametrize("value", ["weekly", "sometimes", "", "off" * 100, "日本"])
def test_a_choice_not_offered_is_refused_and_nothing_is_saved(app, world, role_client, value):
    me = role_client("participant")
    post_form(me, "/account/emails", {"nudges": "daily", "reminders": "immediate",
                                      "feedback": "immediate", "events": "immediate",
                                      "support": "immediate", "encouragement": "immediate"})
    response = post_form(me, "/account/emails", {"nudges": value, "reminders": "off",
                                                 "feedback": "immediate", "events": "immediate",
                                                 "support": "immediate",
                                                 "encouragement": "immediate"})
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)
    assert effective(app, world["participant"], "nudges") == "daily"
    assert effective(app, world["participant"], "reminders") == "immediate"


def test_the_page_needs_the_form_token_and_a_signed_in_person(app, world, role_client, client):
    me = role_client("participant")
    assert me.post("/account/emails", data={"nudges": "off"}).status_code == 400
    assert preference(app, world["participant"], "nudges") is None
    assert client.get("/account/emails").status_code == 302


# --- the admins' outbox ----------------------------------------------------------------------------


def test_failed_emails_are_visible_to_admins_with_the_error_and_can_be_retried(
        app, world, frozen, smtp_down, role_client):
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    frozen(MONDAY)
    tell(app, world, "doomed", kind=NotificationKind.NUDGE)
    with app.app_context():
        assert deliver_outbox(app) == "sent 0, will retry 0, gave up 1"
    admin = role_client("admin")
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "Message doomed" in page
    assert "ConnectionRefusedError" in page
    (mail,) = emails(app)
    assert post_form(admin, f"/admin/outbox/{mail.id}/retry").status_code == 303
    (mail,) = emails(app)
    assert mail.status.value == "pending"
    assert mail.attempts == 0
    smtp_down.start()
    with app.app_context():
        assert deliver_outbox(app) == "sent 1, will retry 0, gave up 0"
    assert post_form(admin, "/admin/outbox/999999/retry").status_code == 404
    assert post_form(role_client("facilitator"), f"/admin/outbox/{mail.id}/retry").status_code == 403
    assert role_client("participant").get("/admin/outbox").status_code == 403


# --- the cohort's caps --------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "week", "field_error"), [
    ("0", "8", "emails from 1 to 10"), ("11", "20", "emails from 1 to 10"),
    ("two", "8", None), ("", "8", None), ("2", "51", "emails from 1 to 50"),
    ("5", "3", "at least as many emails a week"), ("-1", "8", None),
    ("99999999999999999999", "8", None),
])
def test_the_caps_are_checked_when_a_facilitator_sets_them(app, world, role_client, day, week,
                                                           field_error):
    facilitator = role_client("facilitator")
    path = f"/cohorts/{world['cohort']}/edit"
    page = facilitator.get(path).get_data(as_text=True)
    values = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    values.update({"emails_per_day_max": day, "emails_per_week_max": week})
    values.pop("csrf_token", None)
    values["organisation_id"] = str(world["organisation"])
    values["timezone"] = "Europe/London"
    response = post_form(facilitator, path, values)
    assert response.status_code == 400
    if field_error:
        assert field_error in response.get_data(as_text=True)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        assert (cohort.emails_per_day_max, cohort.emails_per_week_max) == (2, 8)


def test_a_facilitator_sets_the_caps(app, world, role_client):
    facilitator = role_client("facilitator")
    path = f"/cohorts/{world['cohort']}/edit"
    page = facilitator.get(path).get_data(as_text=True)
    values = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    values.pop("csrf_token", None)
    values.update({"emails_per_day_max": "3", "emails_per_week_max": "10",
                   "organisation_id": str(world["organisation"]), "timezone": "Europe/London"})
    assert post_form(facilitator, path, values).status_code == 303
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        assert (cohort.emails_per_day_max, cohort.emails_per_week_max) == (3, 10)
    overview = facilitator.get(f"/cohorts/{world['cohort']}").get_data(as_text=True)
    assert "3 a day, 10 a week" in overview


def test_two_senders_at_once_cannot_both_take_the_last_place(app, world, database_url):
    """Each recipient's row is locked while the caps are counted (PostgreSQL); SQLite's
    write transactions queue. Two processes, one place left: one email, one folded."""
    from tests.concurrency import at_once

    with app.app_context():
        db.session.get(Cohort, world["cohort"]).emails_per_day_max = 1
        db.session.commit()
    states = at_once(_notify_in_process, [(database_url, world["participant"], world["cohort"],
                                           key, MONDAY.timestamp()) for key in ("a", "b")])
    assert states == ["digest", "queued"]


def _notify_in_process(database_url, user_id, cohort_id, key, at, barrier, results):
    from tests.concurrency import worker_app

    with worker_app(database_url, at):
        person = db.session.get(User, user_id)
        cohort = db.session.get(Cohort, cohort_id)
        db.session.commit()
        barrier.wait()
        stored = notify(person, kind=NotificationKind.NUDGE, title="Race", body="",
                        dedup_key=f"race:{key}", cohort=cohort)
        db.session.commit()
        results.put(stored.email_state.value)
