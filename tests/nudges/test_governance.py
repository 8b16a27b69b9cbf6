"""Email governance: quiet hours, daily and weekly caps across every sender, folding into the
daily digest, preferences per category, paused plans, and the digest itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.jobs.registry import deliver_outbox
from dap.nudges.digests import send_daily_digests
from dap.nudges.models import (
    EmailState,
    MessagePreference,
    Notification,
    NotificationKind,
    OutboxMessage,
)
from dap.nudges.notify import notify
from dap.plans.models import Plan
from tests.nudges.test_notifications import send as send_nudge

#: Monday 2 March 2026, 10:00 in London (GMT, so UTC too)
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _mail_settings(app):
    app.config["BASE_URL"] = "https://dap.example.org"
    app.config["MAIL_FROM"] = "DAP <dap@dap.example.org>"
    app.config["MAIL_TIMEOUT_SECONDS"] = 5


def tell(app, world, key: str, *, kind=NotificationKind.CHECKIN_REMINDER, role="participant",
         sender_role: str | None = None, **extra) -> EmailState | None:
    """One message to ``role``'s user through the one door; returns its email state."""
    with app.app_context():
        person = db.session.get(User, world[role])
        cohort = db.session.get(Cohort, world["cohort"])
        sender = db.session.get(User, world[sender_role]) if sender_role else None
        stored = notify(person, kind=kind, title=f"Message {key}", body=f"About {key}.",
                        dedup_key=key, cohort=cohort, sender=sender, link="/notifications",
                        **extra)
        db.session.commit()
        return stored.email_state if stored is not None else None


def emails(app, **where) -> list[OutboxMessage]:
    with app.app_context():
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, name) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def set_cohort(app, world, **values) -> None:
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        for name, value in values.items():
            setattr(cohort, name, value)
        db.session.commit()


def set_user(app, world, role: str, **values) -> None:
    with app.app_context():
        user = db.session.get(User, world[role])
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def choose(app, world, role: str, category: str, delivery: str) -> None:
    with app.app_context():
        db.session.add(MessagePreference(user_id=world[role], category=category,
                                         delivery=delivery))
        db.session.commit()


def digests(app, at: datetime) -> int:
    with app.app_context():
        count = send_daily_digests(now=at)
        db.session.commit()
        return count


# --- quiet hours ----------------------------------------------------------------------------------


def test_an_email_in_quiet_hours_waits_for_eight_in_the_persons_time_zone(app, world, frozen):
    evening = frozen(datetime(2026, 3, 2, 21, 30, tzinfo=UTC))
    assert tell(app, world, "late") is EmailState.QUEUED
    (mail,) = emails(app)
    assert mail.next_attempt_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert mail.planned_at == mail.next_attempt_at
    # In New York it is 16:30: no waiting.
    set_user(app, world, "patron", timezone="America/New_York")
    assert tell(app, world, "for-patron", role="patron") is EmailState.QUEUED
    assert emails(app, user_id=world["patron"])[0].next_attempt_at == evening


def test_quiet_hours_follow_summer_time(app, world, frozen):
    # 29 March 2026: London is on BST (UTC+1) from 01:00 UTC; 06:30 UTC is 07:30 there.
    frozen(datetime(2026, 3, 29, 6, 30, tzinfo=UTC))
    assert tell(app, world, "early") is EmailState.QUEUED
    assert emails(app)[0].next_attempt_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_nothing_waiting_for_morning_is_delivered_before_it(app, world, frozen, smtp_server):
    frozen(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    tell(app, world, "night")
    frozen(datetime(2026, 3, 3, 7, 59, tzinfo=UTC))
    with app.app_context():
        assert deliver_outbox(app) == "sent 0, will retry 0, gave up 0"
    frozen(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    with app.app_context():
        assert deliver_outbox(app) == "sent 1, will retry 0, gave up 0"
    assert len(smtp_server.inbox.received) == 1


def test_an_urgent_change_goes_at_once_even_at_night(app, world, frozen):
    night = frozen(datetime(2026, 3, 2, 23, 15, tzinfo=UTC))
    assert tell(app, world, "cancelled", kind=NotificationKind.EVENT_CANCELLED) is EmailState.QUEUED
    assert emails(app)[0].next_attempt_at == night


def _fail_until(app, frozen, until: datetime) -> OutboxMessage:
    """Delivery runs against a server that is down, each at the email's next attempt, until
    that attempt would be at or after ``until``; the email as it then stands."""
    while True:
        (mail,) = emails(app)
        if mail.next_attempt_at >= until:
            return mail
        frozen(mail.next_attempt_at)
        with app.app_context():
            assert deliver_outbox(app) == "sent 0, will retry 1, gave up 0"


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_eight(app, world, frozen, smtp_down):
    # Queued 19:25 London: attempts at 19:25, 19:26 and 19:31 fail; the 30-minute wait
    # after the third would end at 20:01, in quiet hours, so the retry waits for 08:00.
    frozen(datetime(2026, 3, 2, 19, 25, tzinfo=UTC))
    assert tell(app, world, "evening") is EmailState.QUEUED
    mail = _fail_until(app, frozen, datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    assert mail.attempts == 3
    assert mail.next_attempt_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def test_a_retry_follows_the_persons_own_quiet_hours(app, world, frozen, smtp_down):
    # 19:25 London is 14:25 in New York: the retry at 15:01 there is not in their quiet hours.
    set_user(app, world, "patron", timezone="America/New_York")
    frozen(datetime(2026, 3, 2, 19, 25, tzinfo=UTC))
    assert tell(app, world, "evening", role="patron") is EmailState.QUEUED
    mail = _fail_until(app, frozen, datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    assert mail.next_attempt_at == datetime(2026, 3, 2, 20, 1, tzinfo=UTC)


def test_retries_of_urgent_and_account_emails_go_at_night(app, world, frozen, smtp_down):
    frozen(datetime(2026, 3, 2, 19, 25, tzinfo=UTC))
    assert tell(app, world, "cancelled", kind=NotificationKind.EVENT_CANCELLED) is EmailState.QUEUED
    mail = _fail_until(app, frozen, datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    assert mail.next_attempt_at == datetime(2026, 3, 2, 20, 1, tzinfo=UTC)


# --- caps -----------------------------------------------------------------------------------------


def test_the_daily_cap_counts_every_sender_and_folds_the_rest(app, world, frozen, role_client):
    frozen(MONDAY)
    set_cohort(app, world, emails_per_day_max=2)
    patron = role_client("patron")
    assert send_nudge(patron, world, choice="own", kind="nudge", message="Go on!").status_code == 303
    assert tell(app, world, "review", kind=NotificationKind.REVIEW_DONE,
                sender_role="facilitator") is EmailState.QUEUED
    assert tell(app, world, "reminder") is EmailState.DIGEST
    assert len(emails(app)) == 2
    # Tomorrow the day starts afresh.
    frozen(MONDAY + timedelta(days=1))
    assert tell(app, world, "tuesday") is EmailState.QUEUED


def test_the_weekly_cap_holds_across_days_and_resets_on_monday(app, world, frozen):
    set_cohort(app, world, emails_per_day_max=3, emails_per_week_max=4)
    frozen(MONDAY)
    assert [tell(app, world, f"mon-{i}") for i in range(3)] == [EmailState.QUEUED] * 3
    frozen(MONDAY + timedelta(days=3))
    assert [tell(app, world, f"thu-{i}") for i in range(2)] == [EmailState.QUEUED,
                                                                 EmailState.DIGEST]
    frozen(MONDAY + timedelta(days=6, hours=11))  # Sunday 21:00: planned for Monday 08:00
    assert tell(app, world, "sunday-night") is EmailState.QUEUED
    assert emails(app)[-1].planned_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def test_an_email_planned_for_tomorrow_counts_towards_tomorrow(app, world, frozen):
    set_cohort(app, world, emails_per_day_max=1)
    frozen(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))
    assert tell(app, world, "tonight") is EmailState.QUEUED  # goes Tuesday 08:00
    frozen(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert tell(app, world, "tuesday") is EmailState.DIGEST


def test_high_priority_goes_past_the_cap_and_counts(app, world, frozen):
    frozen(MONDAY)
    set_cohort(app, world, emails_per_day_max=1)
    assert tell(app, world, "invite", kind=NotificationKind.EVENT_INVITATION) is EmailState.QUEUED
    assert tell(app, world, "nudge", kind=NotificationKind.NUDGE) is EmailState.DIGEST
    assert tell(app, world, "invite-2", kind=NotificationKind.EVENT_INVITATION) is EmailState.QUEUED
    assert len(emails(app)) == 2


def test_account_emails_are_never_counted(app, world, frozen):
    from dap.nudges.services import queue_email

    frozen(MONDAY)
    set_cohort(app, world, emails_per_day_max=1)
    with app.app_context():
        person = db.session.get(User, world["participant"])
        queue_email(to=person.email, subject="Reset", template="password_reset",
                    context={"user": person, "link": "https://x/reset", "minutes": 60},
                    dedup_key="reset:1", kind="password_reset")
        db.session.commit()
    assert tell(app, world, "nudge", kind=NotificationKind.NUDGE) is EmailState.QUEUED


# --- preferences, pauses, people without email ------------------------------------------------


def test_a_category_turned_off_stays_in_app_only(app, world, frozen):
    frozen(MONDAY)
    choose(app, world, "participant", "reminders", "off")
    assert tell(app, world, "quiet") is EmailState.NONE
    assert emails(app) == []
    assert tell(app, world, "nudge", kind=NotificationKind.NUDGE) is EmailState.QUEUED


def test_a_paused_plan_holds_emails_except_urgent_ones(app, world, frozen):
    frozen(MONDAY)
    with app.app_context():
        db.session.add(Plan(cohort_id=world["cohort"], participant_id=world["participant"],
                            paused_from=date(2026, 3, 1), paused_until=date(2026, 3, 8)))
        db.session.commit()
    assert tell(app, world, "nudge", kind=NotificationKind.NUDGE) is EmailState.HELD
    assert tell(app, world, "moved", kind=NotificationKind.EVENT_CHANGED) is EmailState.QUEUED
    frozen(MONDAY + timedelta(days=7))  # the pause is over
    assert tell(app, world, "back", kind=NotificationKind.NUDGE) is EmailState.QUEUED


def test_people_without_an_address_get_in_app_only(app, world, frozen):
    frozen(MONDAY)
    set_user(app, world, "participant", is_managed=True)
    assert tell(app, world, "managed") is EmailState.NONE
    set_user(app, world, "participant", is_managed=False, is_active=False)
    assert tell(app, world, "inactive") is EmailState.NONE
    assert emails(app) == []


def test_the_same_message_twice_is_stored_and_counted_once(app, world, frozen):
    frozen(MONDAY)
    set_cohort(app, world, emails_per_day_max=2)
    assert tell(app, world, "same") is EmailState.QUEUED
    assert tell(app, world, "same") is None
    assert tell(app, world, "other") is EmailState.QUEUED  # the repeat took no place


# --- the daily digest -----------------------------------------------------------------------------


def test_the_digest_gathers_what_waited_once_a_morning(app, world, frozen):
    frozen(MONDAY)
    choose(app, world, "participant", "reminders", "daily")
    for key in ("one", "two"):
        assert tell(app, world, key) is EmailState.DIGEST
    assert tell(app, world, "gone", expires_at=MONDAY + timedelta(hours=2)) is EmailState.DIGEST
    assert digests(app, datetime(2026, 3, 3, 7, 59, tzinfo=UTC)) == 0  # not yet 08:00
    assert digests(app, datetime(2026, 3, 3, 8, 0, tzinfo=UTC)) == 1
    (digest,) = emails(app, kind="digest")
    assert digest.subject == "Your DAP digest: 2 messages"
    assert "Message one" in digest.body_text
    assert "Message two" in digest.body_text
    assert "Message gone" not in digest.body_text  # expired before the digest
    assert "https://dap.example.org/notifications" in digest.body_text
    assert digest.unsubscribe_url.startswith("https://dap.example.org/unsubscribe/")
    assert digests(app, datetime(2026, 3, 3, 8, 5, tzinfo=UTC)) == 0  # once a day
    # What comes after today's digest waits for tomorrow's.
    frozen(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    tell(app, world, "three")
    assert digests(app, datetime(2026, 3, 3, 12, 0, tzinfo=UTC)) == 0
    assert digests(app, datetime(2026, 3, 4, 8, 0, tzinfo=UTC)) == 1
    latest = emails(app, kind="digest")[-1]
    assert "Message three" in latest.body_text
    assert "Message one" not in latest.body_text
    with app.app_context():
        states = dict(db.session.execute(select(Notification.dedup_key,
                                                Notification.email_state)).all())
    assert states == {"one": EmailState.DIGESTED, "two": EmailState.DIGESTED,
                      "gone": EmailState.NONE, "three": EmailState.DIGESTED}


def test_the_digest_comes_at_eight_in_the_persons_own_time_zone(app, world, frozen):
    set_user(app, world, "participant", timezone="America/New_York")
    frozen(MONDAY)
    choose(app, world, "participant", "reminders", "daily")
    tell(app, world, "one")
    assert digests(app, datetime(2026, 3, 3, 8, 0, tzinfo=UTC)) == 0  # 03:00 in New York
    assert digests(app, datetime(2026, 3, 3, 13, 0, tzinfo=UTC)) == 1  # 08:00 there


def test_a_folded_message_reaches_the_next_digest(app, world, frozen):
    set_cohort(app, world, emails_per_day_max=1)
    frozen(MONDAY)
    tell(app, world, "first")
    assert tell(app, world, "folded") is EmailState.DIGEST
    assert digests(app, datetime(2026, 3, 3, 8, 0, tzinfo=UTC)) == 1
    assert "Message folded" in emails(app, kind="digest")[0].body_text


def test_the_digest_query_count_does_not_grow_with_people(app, frozen):
    """Set-based: the same statements for 3 people waiting as for 30."""
    from tests import factories
    from tests.conftest import counting_queries

    def run(n: int) -> int:
        with app.app_context():
            cohort = factories.make_cohort()
            people = [factories.make_user() for _ in range(n)]
            db.session.flush()
            for person in people:
                db.session.add(MessagePreference(user_id=person.id, category="reminders",
                                                 delivery="daily"))
            db.session.commit()
            frozen(MONDAY)
            for i, person in enumerate(people):
                notify(person, kind=NotificationKind.CHECKIN_REMINDER, title="Hi", body="",
                       dedup_key=f"n{n}:{i}", cohort=cohort)
            db.session.commit()
        with counting_queries(app) as statements:
            assert digests(app, MONDAY + timedelta(days=1)) == n
        return len(statements)

    assert run(3) == run(30)


# --- what the patron is told ------------------------------------------------------------------


def _flash_after_nudge(patron, world) -> str:
    response = send_nudge(patron, world, choice="own", kind="enthuse", message="Bravo!")
    assert response.status_code == 303
    return patron.get(response.headers["Location"]).get_data(as_text=True)


def test_the_patron_learns_when_their_nudge_arrives(app, world, frozen, role_client):
    patron = role_client("patron")
    frozen(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))
    assert "the email goes at 08:00 their time" in _flash_after_nudge(patron, world)
    frozen(MONDAY + timedelta(days=1))
    set_cohort(app, world, emails_per_day_max=1)
    tell(app, world, "fills-the-day")
    assert "in their next morning digest" in _flash_after_nudge(patron, world)
    with app.app_context():
        db.session.add(Plan(cohort_id=world["cohort"], participant_id=world["participant"],
                            paused_from=date(2026, 3, 1), paused_until=date(2026, 3, 31)))
        db.session.commit()
    assert "has paused their plan" in _flash_after_nudge(patron, world)


def test_a_message_that_could_only_arrive_too_late_is_not_emailed(app, world, frozen):
    frozen(datetime(2026, 3, 2, 6, 0, tzinfo=UTC))  # quiet hours until 08:00
    starts = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert tell(app, world, "too-late", kind=NotificationKind.EVENT_REMINDER,
                expires_at=starts) is EmailState.NONE
    assert tell(app, world, "in-time", kind=NotificationKind.EVENT_REMINDER,
                expires_at=starts + timedelta(hours=3)) is EmailState.QUEUED


def test_a_scan_that_crashes_midway_sends_nothing_twice_when_run_again(app, world, frozen,
                                                                       monkeypatch):
    """The scan's messages are one transaction: a crash after the notifications are
    written but before their emails are stored leaves nothing behind, and the next run
    sends each message once."""
    from dap.jobs.registry import JobDefinition
    from dap.jobs.runner import run_job
    from dap.nudges import notify as notify_module

    def scan(app) -> str:  # as the registry's scans: in the runner's app context
        cohort = db.session.get(Cohort, world["cohort"])
        people = [db.session.get(User, world[r]) for r in ("participant", "patron")]
        stored = notify_module.send([notify_module.Message(
            person=p, kind=NotificationKind.CHECKIN_REMINDER, title="Hello", body="",
            dedup_key=f"crash:{p.id}", cohort=cohort) for p in people])
        return f"sent {len(stored)}"

    job = JobDefinition("crashy", scan, 60, "a scan that may crash")
    frozen(MONDAY)
    real_store = notify_module.store_emails

    def crash(rows):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(notify_module, "store_emails", crash)
    assert run_job(app, job, runner="test").status == "error"
    with app.app_context():
        assert db.session.scalars(select(Notification)).all() == []
        assert db.session.scalars(select(OutboxMessage)).all() == []
    monkeypatch.setattr(notify_module, "store_emails", real_store)
    assert run_job(app, job, runner="test").result == "sent 2"
    assert run_job(app, job, runner="test").result == "sent 0"  # and again: nothing new
    assert sorted(m.to_addr for m in emails(app)) == sorted(
        [f"{u}" for u in _addresses(app, world, ("participant", "patron"))])


def _addresses(app, world, roles) -> list[str]:
    with app.app_context():
        return [db.session.get(User, world[r]).email for r in roles]
