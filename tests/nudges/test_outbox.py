"""The email outbox against a real SMTP server (aiosmtpd on 127.0.0.1): queueing,
delivery, retries with backoff, giving up, dedup, claims, SMTP AUTH and .eml files."""

from __future__ import annotations

import ssl
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from dap.extensions import db
from dap.jobs.registry import deliver_outbox
from dap.nudges import services
from dap.nudges.mail import FileTransport, SMTPTransport, message_id, transport_for
from dap.nudges.models import OutboxMessage, OutboxStatus
from dap.nudges.services import backoff, queue_email
from tests.conftest import post_form
from tests.smtp import Inbox, LocalSMTP, free_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINK = "https://dap.example.org/reset/abc123"


@pytest.fixture(autouse=True)
def _mail_settings(app):
    app.config["BASE_URL"] = "https://dap.example.org"
    app.config["MAIL_FROM"] = "DAP <dap@dap.example.org>"
    app.config["MAIL_TIMEOUT_SECONDS"] = 5


# --- helpers ---------------------------------------------------------------------------------


class Person:
    def __init__(self, first_name: str) -> None:
        self.first_name = first_name


def queue(app, *, to: str = "alex@example.org", key: str = "reset:1",
          subject: str = "Reset your DAP password", first_name: str = "Alex",
          send_after: datetime | None = None) -> bool:
    """Queue a password-reset email (the real templates) and commit, as a view does."""
    with app.app_context():
        stored = queue_email(
            to=to, subject=subject, template="password_reset",
            context={"user": Person(first_name), "link": LINK, "minutes": 60},
            dedup_key=key, kind="password_reset", send_after=send_after,
        )
        db.session.commit()
    return stored


def deliver(app) -> str:
    """One run of the delivery job, wired from the app's configuration."""
    with app.app_context():
        return deliver_outbox(app)


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return list(rows)


def only_row(app) -> OutboxMessage:
    rows = outbox(app)
    assert len(rows) == 1, rows
    return rows[0]


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, message
    assert html is not None, message
    return text.get_content(), html.get_content()


# --- queueing --------------------------------------------------------------------------------


def test_queued_email_is_a_pending_row_rendered_from_both_templates(app, frozen):
    frozen(T0)
    assert queue(app, first_name="Zoë") is True
    row = only_row(app)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 0
    assert row.to_addr == "alex@example.org"
    assert row.subject == "Reset your DAP password"
    assert row.kind == "password_reset"
    assert row.next_attempt_at == T0
    assert "Hello Zoë," in row.body_text
    assert LINK in row.body_text
    assert f'href="{LINK}"' in row.body_html
    assert row.sent_at is None


def test_reusing_a_dedup_key_stores_and_sends_once(app, smtp_server):
    assert queue(app, key="nudge:7:week-3") is True
    assert queue(app, key="nudge:7:week-3", subject="A second, different subject") is False
    assert only_row(app).subject == "Reset your DAP password"

    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    assert [r.message["Subject"] for r in smtp_server.inbox.received] == ["Reset your DAP password"]


def test_email_queued_for_later_waits_until_it_is_due(app, smtp_server, frozen):
    frozen(T0)
    queue(app, send_after=T0 + timedelta(hours=1))
    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    frozen(T0 + timedelta(minutes=59))
    deliver(app)
    assert smtp_server.inbox.received == []
    frozen(T0 + timedelta(hours=1))
    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    assert len(smtp_server.inbox.received) == 1


# --- delivery over SMTP ----------------------------------------------------------------------


def test_due_email_is_delivered_over_smtp_with_text_and_html_parts(app, smtp_server, frozen):
    frozen(T0)
    queue(app, to="zoe@example.org", subject="Réinitialisez votre mot de passe DAP",
          first_name="Zoë", key="reset:42")

    assert deliver(app) == "sent 1, will retry 0, gave up 0"

    [received] = smtp_server.inbox.received
    assert received.rcpt_tos == ["zoe@example.org"]
    assert received.mail_from == "dap@dap.example.org"
    message = received.message
    assert message["To"] == "zoe@example.org"
    assert message["From"] == "DAP <dap@dap.example.org>"
    assert message["Subject"] == "Réinitialisez votre mot de passe DAP"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "Hello Zoë," in text
    assert LINK in text
    assert f'href="{LINK}"' in html
    row = only_row(app)
    assert message["X-DAP-Outbox-Id"] == str(row.id)
    assert message["Message-ID"] == message_id(outbox_id=row.id, dedup_key="reset:42",
                                               domain="dap.example.org")
    assert message["Message-ID"].endswith("@dap.example.org>")
    assert "reset:42" not in message["Message-ID"]  # the key is hashed, never shown

    assert row.status == OutboxStatus.SENT
    assert row.attempts == 1
    assert row.sent_at == T0
    assert row.last_error == ""


def test_jobs_run_due_cli_delivers_through_the_configured_smtp_server(app, runner, smtp_server):
    queue(app)
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    assert "deliver_outbox: ok" in result.output
    assert "sent 1, will retry 0, gave up 0" in result.output
    [received] = smtp_server.inbox.received
    assert received.message["To"] == "alex@example.org"
    assert only_row(app).status == OutboxStatus.SENT


def test_two_delivery_runs_one_after_another_send_once(app, smtp_server):
    queue(app, key="a", to="a@example.org")
    queue(app, key="b", to="b@example.org")
    assert deliver(app) == "sent 2, will retry 0, gave up 0"
    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    assert sorted(r.message["To"] for r in smtp_server.inbox.received) == [
        "a@example.org", "b@example.org"]


def test_a_delivery_run_loads_the_tls_settings_once_not_for_every_email(
        app, smtp_server, monkeypatch):
    """Loading the system's certificates costs tens of milliseconds of CPU: done for each
    email, it was half of a run's time (a run sent about 20 emails a second)."""
    loads = []
    real = ssl.create_default_context

    def counted(*args, **kwargs):
        loads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    for n in range(3):
        queue(app, key=f"k{n}", to=f"p{n}@example.org")
    assert deliver(app) == "sent 3, will retry 0, gave up 0"
    assert len(smtp_server.inbox.received) == 3
    assert len(loads) <= 1


def test_one_refused_recipient_does_not_hold_up_the_others(app, smtp_server, frozen):
    frozen(T0)
    queue(app, key="bad", to="bounce@example.org")
    queue(app, key="good", to="good@example.org")
    assert deliver(app) == "sent 1, will retry 1, gave up 0"
    assert [r.rcpt_tos for r in smtp_server.inbox.received] == [["good@example.org"]]
    by_key = {row.dedup_key: row for row in outbox(app)}
    assert by_key["good"].status == OutboxStatus.SENT
    assert by_key["bad"].status == OutboxStatus.PENDING
    assert "SMTPRecipientsRefused" in by_key["bad"].last_error


def test_nothing_is_locked_while_an_email_travels(app, database_url):
    """A slow mail server must not hold up the rest of DAP: while a message is on its way
    no transaction is open, so on SQLite another connection can write at once (with the
    write lock held it would wait, here half a second, then fail)."""
    from sqlalchemy import create_engine, delete

    queue(app)
    other = create_engine(database_url, connect_args=(
        {"timeout": 0.5} if database_url.startswith("sqlite") else {}))
    written: list[str] = []

    class Writing:
        def send(self, message: EmailMessage) -> None:
            with other.begin() as connection:  # BEGIN IMMEDIATE on SQLite: the write lock
                connection.execute(delete(OutboxMessage).where(OutboxMessage.id == -1))
            written.append(message["To"])

    try:
        with app.app_context():
            report = services.deliver_due(transport=Writing(), sender="dap@example.org",
                                          domain="example.org", max_attempts=3)
    finally:
        other.dispose()
    assert (report.sent, report.retried, report.errors) == (1, 0, [])
    assert written == ["alex@example.org"]
    assert only_row(app).status == OutboxStatus.SENT


def test_concurrent_delivery_runs_send_each_email_once(app, smtp_server, monkeypatch):
    """Both runs find the same due row; the atomic claim lets only one of them send it."""
    queue(app)
    both_have_scanned = threading.Barrier(2, timeout=10)
    real_claim = services._claim

    def claim_together(message_id, now):
        both_have_scanned.wait()
        return real_claim(message_id, now)

    monkeypatch.setattr(services, "_claim", claim_together)
    reports: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(deliver(app))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    assert sorted(reports) == ["sent 0, will retry 0, gave up 0", "sent 1, will retry 0, gave up 0"]
    assert len(smtp_server.inbox.received) == 1
    assert only_row(app).attempts == 1


# --- failures, retries and giving up ---------------------------------------------------------


def test_server_down_keeps_email_pending_with_backoff_then_delivers_once_when_back(
    app, smtp_down, frozen
):
    frozen(T0)
    queue(app)

    assert deliver(app) == "sent 0, will retry 1, gave up 0"
    row = only_row(app)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at == T0 + timedelta(minutes=1)
    assert row.claimed_at is None
    assert row.sent_at is None

    smtp_down.start()
    frozen(T0 + timedelta(seconds=30))  # back up, but the retry is not due yet
    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    assert smtp_down.inbox.received == []

    frozen(T0 + timedelta(minutes=1, seconds=1))
    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    assert len(smtp_down.inbox.received) == 1
    row = only_row(app)
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 2
    assert row.last_error == ""
    assert row.sent_at == T0 + timedelta(minutes=1, seconds=1)


def test_server_stopped_after_a_delivery_loses_nothing(app, smtp_server, frozen):
    frozen(T0)
    queue(app, key="first")
    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    smtp_server.stop()
    queue(app, key="second", to="second@example.org")
    assert deliver(app) == "sent 0, will retry 1, gave up 0"
    smtp_server.start()
    frozen(T0 + timedelta(minutes=2))
    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    assert [r.message["To"] for r in smtp_server.inbox.received] == [
        "alex@example.org", "second@example.org"]


def test_retries_follow_the_schedule_then_the_email_is_failed(app, smtp_down, frozen):
    """About 1 min, 5 min, 30 min, 2 h and 12 h between attempts; the sixth failure is final."""
    assert app.config["MAIL_MAX_ATTEMPTS"] == 6
    now = frozen(T0)
    queue(app)
    waits = []
    for _ in range(5):
        assert deliver(app) == "sent 0, will retry 1, gave up 0"
        row = only_row(app)
        waits.append(row.next_attempt_at - now)
        now = frozen(row.next_attempt_at)
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                     timedelta(hours=2), timedelta(hours=12)]
    assert deliver(app) == "sent 0, will retry 0, gave up 1"
    row = only_row(app)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 6
    assert "ConnectionRefusedError" in row.last_error


def test_an_attempt_before_its_time_does_nothing(app, smtp_down, frozen):
    frozen(T0)
    queue(app)
    deliver(app)
    frozen(T0 + timedelta(seconds=59))
    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    assert only_row(app).attempts == 1


def test_backoff_past_the_schedule_stays_at_twelve_hours():
    assert [backoff(n) for n in (1, 2, 3, 4, 5)] == [
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
        timedelta(hours=12)]
    assert backoff(0) == timedelta(minutes=1)
    assert backoff(9) == timedelta(hours=12)
    assert backoff(10**6) == timedelta(hours=12)  # whatever MAIL_MAX_ATTEMPTS is


def test_email_is_marked_failed_after_the_maximum_attempts(app, smtp_down, frozen):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    frozen(T0)
    queue(app)
    reports = []
    for hour in range(3):
        frozen(T0 + timedelta(hours=7 * hour))
        reports.append(deliver(app))
    assert reports == ["sent 0, will retry 1, gave up 0"] * 2 + ["sent 0, will retry 0, gave up 1"]
    row = only_row(app)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 3
    assert "ConnectionRefusedError" in row.last_error

    smtp_down.start()  # a failed email stays failed, even once the server is back
    frozen(T0 + timedelta(days=2))
    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    assert smtp_down.inbox.received == []


def test_temporary_smtp_refusal_is_retried_with_the_same_message_id(app, smtp_server, frozen):
    smtp_server.inbox.refuse_next = 1
    frozen(T0)
    queue(app)
    assert deliver(app) == "sent 0, will retry 1, gave up 0"
    row = only_row(app)
    assert "SMTPDataError" in row.last_error
    assert "451" in row.last_error

    frozen(T0 + timedelta(minutes=1))
    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    [refused] = smtp_server.inbox.refused
    [received] = smtp_server.inbox.received
    assert received.message["Message-ID"] == refused["Message-ID"]


def test_a_stale_sending_claim_is_taken_over_and_a_fresh_one_is_left_alone(
    app, smtp_server, frozen
):
    frozen(T0)
    queue(app, key="crashed", to="crashed@example.org")
    queue(app, key="in-flight", to="inflight@example.org")
    with app.app_context():
        for key, claimed in (("crashed", T0 - timedelta(minutes=11)),
                             ("in-flight", T0 - timedelta(minutes=5))):
            db.session.execute(
                update(OutboxMessage).where(OutboxMessage.dedup_key == key)
                .values(status=OutboxStatus.SENDING, claimed_at=claimed)
            )
        db.session.commit()

    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    assert [r.message["To"] for r in smtp_server.inbox.received] == ["crashed@example.org"]
    by_key = {row.dedup_key: row for row in outbox(app)}
    assert by_key["crashed"].status == OutboxStatus.SENT
    assert by_key["in-flight"].status == OutboxStatus.SENDING

    frozen(T0 + timedelta(minutes=5, seconds=1))  # now the other claim is stale too
    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    assert len(smtp_server.inbox.received) == 2


# --- SMTP AUTH -------------------------------------------------------------------------------


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer"
          and auth_data.password == b"s3cret p@ss")
    # handled=False: let aiosmtpd answer 535 itself when the credentials are wrong
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture
def smtp_with_auth(app):
    server = LocalSMTP(authenticator=_authenticator, auth_require_tls=False).start()
    yield server
    server.stop()


def test_smtp_auth_uses_the_user_and_password_from_the_url(app, smtp_with_auth):
    # Percent-encoded in the URL, as a password with a space and an @ must be.
    app.config["MAIL_URL"] = f"smtp://mailer:s3cret%20p%40ss@127.0.0.1:{smtp_with_auth.port}"
    queue(app)
    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    [received] = smtp_with_auth.inbox.received
    assert received.authenticated is True
    assert received.login == b"mailer"


def test_wrong_smtp_password_keeps_the_email_for_a_retry(app, smtp_with_auth):
    app.config["MAIL_URL"] = f"smtp://mailer:wrong@127.0.0.1:{smtp_with_auth.port}"
    queue(app)
    assert deliver(app) == "sent 0, will retry 1, gave up 0"
    row = only_row(app)
    assert row.status == OutboxStatus.PENDING
    assert "SMTPAuthenticationError" in row.last_error
    assert smtp_with_auth.inbox.received == []


def test_password_is_never_sent_unencrypted_to_a_remote_server(app):
    # 127.0.0.2 stands in for a remote server: not one of the loopback names DAP trusts.
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.2", port=free_port(),
                            authenticator=_authenticator, auth_require_tls=False)
    controller.start()
    try:
        app.config["MAIL_URL"] = f"smtp://mailer:s3cret%20p%40ss@127.0.0.2:{controller.port}"
        queue(app)
        assert deliver(app) == "sent 0, will retry 1, gave up 0"
        assert "refusing to send the password unencrypted" in only_row(app).last_error
        assert inbox.received == []
    finally:
        controller.stop()


def test_smtp_transport_reads_host_port_and_credentials_from_the_url():
    plain = SMTPTransport("smtp://mailer:s3cret%20p%40ss@mail.example.org:2525")
    assert (plain.host, plain.port, plain.tls) == ("mail.example.org", 2525, False)
    assert (plain.username, plain.password) == ("mailer", "s3cret p@ss")
    tls = SMTPTransport("smtps://mail.example.org")
    assert (tls.port, tls.tls, tls.username) == (465, True, None)
    assert SMTPTransport("smtp://mail.example.org").port == 25
    for bad in ("http://mail.example.org", "smtp://", "mail.example.org:25"):
        with pytest.raises(ValueError, match="DAP_MAIL_URL"):
            SMTPTransport(bad)


# --- without a mail server: .eml files -------------------------------------------------------


def test_without_mail_url_emails_are_written_as_eml_files(app):
    app.config["MAIL_URL"] = ""
    assert isinstance(transport_for("", outbox_dir=Path("x"), timeout=1), FileTransport)
    queue(app, first_name="Zoë", key="reset:eml")
    assert deliver(app) == "sent 1, will retry 0, gave up 0"

    files = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    assert len(files) == 1
    row = only_row(app)
    assert files[0].name.endswith(f"-{row.id}.eml")
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "alex@example.org"
    assert message["Subject"] == "Reset your DAP password"
    assert message["Message-ID"] == message_id(outbox_id=row.id, dedup_key="reset:eml",
                                               domain="dap.example.org")
    text, html = parts(message)
    assert "Hello Zoë," in text
    assert f'href="{LINK}"' in html
    assert row.status == OutboxStatus.SENT

    assert deliver(app) == "sent 0, will retry 0, gave up 0"
    assert len(list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))) == 1


# --- the password-reset flow -----------------------------------------------------------------


def test_password_reset_request_queues_an_email_whose_link_opens_the_reset_form(
    app, world, client, smtp_server
):
    from dap.accounts.models import User

    with app.app_context():
        email = db.session.get(User, world["participant"]).email

    response = post_form(client, "/reset", {"email": email})
    assert response.status_code == 200

    row = only_row(app)
    assert row.to_addr == email
    assert row.kind == "password_reset"
    assert row.status == OutboxStatus.PENDING
    assert "https://dap.example.org/reset/" in row.body_text

    assert deliver(app) == "sent 1, will retry 0, gave up 0"
    [received] = smtp_server.inbox.received
    text, _ = parts(received.message)
    link = next(word for word in text.split() if "/reset/" in word)
    assert client.get(urlsplit(link).path).status_code == 200


def test_password_reset_for_an_unknown_address_queues_nothing(app, world, client):
    response = post_form(client, "/reset", {"email": "nobody@example.org"})
    assert response.status_code == 200
    assert outbox(app) == []


def test_a_mail_server_down_for_an_hour_gets_everything_afterwards_once(app, smtp_down,
                                                                         frozen):
    """Three emails queued while the server is down; the scheduler keeps trying every
    minute; the server comes back after an hour; each arrives exactly once."""
    frozen(T0)
    for n in range(3):
        queue(app, to=f"person{n}@example.org", key=f"reset:{n}")
    minute = T0
    while minute < T0 + timedelta(hours=1):
        frozen(minute)
        deliver(app)
        minute += timedelta(minutes=1)
    assert smtp_down.inbox.received == []
    assert {row.status for row in outbox(app)} == {OutboxStatus.PENDING}
    smtp_down.start()
    while minute < T0 + timedelta(hours=4):
        frozen(minute)
        deliver(app)
        minute += timedelta(minutes=1)
    addresses = sorted(r.rcpt_tos[0] for r in smtp_down.inbox.received)
    assert addresses == [f"person{n}@example.org" for n in range(3)]
    assert {row.status for row in outbox(app)} == {OutboxStatus.SENT}


def test_one_run_keeps_sending_batches_while_any_are_due(app, frozen):
    """A Monday evening's burst drains in one run, not 200 a minute (written as .eml
    files: the batching is under test here, not SMTP)."""
    app.config["MAIL_URL"] = ""
    app.config["MAIL_RUN_SECONDS"] = 600  # however slow this machine is today
    frozen(T0)
    with app.app_context():
        from dap.nudges.services import email_values, store_emails

        store_emails([email_values(to=f"p{n}@example.org", subject="Hi", text="Hello",
                                   html="", dedup_key=f"burst:{n}", kind="general",
                                   send_after=T0) for n in range(450)])
        db.session.commit()
    assert deliver(app) == "sent 450, will retry 0, gave up 0"
    assert len(list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))) == 450
    app.config["MAIL_RUN_SECONDS"] = 0  # one batch of 200 only
    with app.app_context():
        store_emails([email_values(to=f"q{n}@example.org", subject="Hi", text="Hello",
                                   html="", dedup_key=f"later:{n}", kind="general",
                                   send_after=T0) for n in range(250)])
        db.session.commit()
    assert deliver(app) == "sent 200, will retry 0, gave up 0"
    assert deliver(app) == "sent 50, will retry 0, gave up 0"
