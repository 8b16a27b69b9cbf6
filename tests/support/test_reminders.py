"""1:1 reminders: a day before each booked session, one to the participant and one to the
facilitator, once each; not before, not after the window; none for a cancelled booking or
a withdrawn slot; in-app for someone without an account; never the participant's note in
the facilitator's; across the clock change; two scans at once; and a flat query count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole
from dap.extensions import db
from dap.nudges.models import EmailState, Notification, NotificationKind, OutboxMessage
from dap.support.models import SupportSlot
from tests import factories
from tests.concurrency import at_once, scan_in_worker
from tests.conftest import counting_queries, post_form, run_due_at

#: the first slot of the published block: Wednesday 17 March 2027, 10:00 GMT (10:00 UTC)
START = datetime(2027, 3, 17, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
NOTE = "Help with my overdue tax return"


def _slot_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(SupportSlot.id).order_by(SupportSlot.starts_at)))


def _reminders(app) -> list[Notification]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.SUPPORT_REMINDER)
            .order_by(Notification.id)))
        db.session.expunge_all()
        return rows


def _emails(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "support_reminder")
            .order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def _booking_id(app, slot_id: int) -> int:
    from dap.support.models import SupportBooking

    with app.app_context():
        return db.session.scalar(select(SupportBooking.id).where(
            SupportBooking.slot_id == slot_id).order_by(SupportBooking.id.desc()))


def _key(booking_id: int, user_id: int, start: datetime) -> str:
    return f"reminder:support:{booking_id}:user:{user_id}:24h:{int(start.timestamp())}"


def _book(client, world, slot_id: int, note: str = NOTE):
    return post_form(client, f"/cohorts/{world['cohort']}/support/slots/{slot_id}/book",
                     {"note": note})


def _scan(app, frozen, at: datetime) -> int:
    from dap.support.reminders import remind_support_sessions

    frozen(at)
    with app.app_context():
        sent = remind_support_sessions(now=at, base_url="https://dap.example.org")
        db.session.commit()
    return sent


def _run_due(app, frozen, at: datetime) -> str:
    return run_due_at(app, at, "support_reminders")


@pytest.fixture
def slots(app, publish):
    assert publish().status_code == 303  # 17 March, 10:00 to 12:00 in four 30-minute slots
    return _slot_ids(app)


@pytest.fixture
def booked(app, world, slots, participants):
    """The first slot booked by a participant with a note; ``(booking id, user id)``."""
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    return _booking_id(app, slots[0]), me.user_id


def test_both_sides_are_reminded_once_a_day_before(app, world, frozen, booked, role_client):
    booking_id, participant = booked
    facilitator = world["facilitator"]
    assert _run_due(app, frozen, START - DAY - SECOND) == "sent 0 1:1 reminders"
    assert _run_due(app, frozen, START - DAY) == "sent 2 1:1 reminders"
    assert _run_due(app, frozen, START - DAY) == "sent 0 1:1 reminders"
    for at in (START - DAY + HOUR, START - 18 * HOUR - SECOND, START - HOUR, START):
        assert _scan(app, frozen, at) == 0
    mine, theirs = sorted(_reminders(app), key=lambda n: n.user_id != participant)
    assert mine.dedup_key == _key(booking_id, participant, START)
    assert theirs.dedup_key == _key(booking_id, facilitator, START)
    assert mine.title == "Tomorrow: your 1:1 with Sam Facilitator"
    assert mine.body.startswith("With Sam Facilitator on Wednesday 17 March at 10:00 "
                                "(Europe/London), 30 minutes. Where: Room 4.")
    assert mine.link == f"/cohorts/{world['cohort']}/support"
    with app.app_context():
        name = db.session.get(User, participant).name
    assert theirs.title == f"Tomorrow: 1:1 with {name}"
    assert theirs.link == "/support/agenda?view=day&day=2027-03-17"
    assert (mine.expires_at, theirs.expires_at) == (START, START)
    assert (mine.email_state, theirs.email_state) == (EmailState.QUEUED, EmailState.QUEUED)
    emails = {e.user_id: e for e in _emails(app)}
    assert set(emails) == {participant, facilitator}
    assert emails[facilitator].subject == f"Reminder: 1:1 with {name}, Wednesday 17 March at 10:00"
    assert "/support/agenda?view=day&amp;day=2027-03-17" in emails[facilitator].body_html
    assert emails[participant].next_attempt_at == START - DAY
    # The participant's note is on the agenda for the facilitator, never in the reminder.
    for text in (theirs.title, theirs.body, emails[facilitator].body_text,
                 emails[facilitator].body_html, emails[facilitator].subject,
                 mine.body, emails[participant].body_text):
        assert "tax return" not in text
    # The facilitator's link opens the agenda on that day, with the booking.
    page = role_client("facilitator").get(theirs.link).get_data(as_text=True)
    assert name in page


def test_run_due_twice_through_the_cli_sends_once(app, frozen, runner, booked):
    frozen(START - DAY + 60 * SECOND)
    first = runner.invoke(args=["jobs", "run-due"])
    assert first.exit_code == 0, first.output
    assert "support_reminders: ok" in first.output
    assert "sent 2 1:1 reminders" in first.output
    again = runner.invoke(args=["jobs", "run-due"])
    assert "sent 0 1:1 reminders" in again.output
    assert len(_reminders(app)) == 2


def test_too_late_for_the_window_sends_no_stale_reminder(app, world, frozen, booked, slots,
                                                        participants):
    assert _scan(app, frozen, START - 18 * HOUR) == 0  # the scheduler was down until now
    # Booked 17 hours ahead: no day-before reminder at all.
    frozen(START + HOUR - 17 * HOUR)
    (late,) = participants(1)
    assert _book(late, world, slots[2]).status_code == 303  # 11:00
    assert _scan(app, frozen, START + HOUR - 17 * HOUR) == 0
    assert _scan(app, frozen, START) == 0
    assert _reminders(app) == []


def test_a_cancelled_booking_or_a_withdrawn_slot_gets_none(app, world, frozen, slots,
                                                           participants, role_client):
    first, second = participants(2)
    assert _book(first, world, slots[0]).status_code == 303
    assert post_form(first, f"/cohorts/{world['cohort']}/support/slots/{slots[0]}/cancel",
                     {"message": ""}).status_code == 303
    assert _book(second, world, slots[1]).status_code == 303
    assert post_form(role_client("facilitator"),
                     f"/cohorts/{world['cohort']}/support/slots/{slots[1]}/withdraw",
                     {"message": "Room closed"}).status_code == 303
    for at in (START - DAY, START - DAY + HOUR / 2, START - DAY + HOUR):
        assert _scan(app, frozen, at) == 0
    assert _reminders(app) == []


def test_an_archived_cohort_gets_none(app, world, frozen, booked):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert _scan(app, frozen, START - DAY) == 0


def test_someone_without_an_account_is_reminded_in_app_and_the_facilitator_by_email(
        app, world, frozen, slots, role_client):
    facilitator = role_client("facilitator")
    response = post_form(facilitator, f"/cohorts/{world['cohort']}/people/managed/new",
                         {"name": "Doris Kaye", "team": ""})
    assert response.status_code in (302, 303)
    with app.app_context():
        doris = db.session.scalar(select(User.id).where(User.name == "Doris Kaye"))
    assert post_form(facilitator,
                     f"/cohorts/{world['cohort']}/support/slots/{slots[0]}/book-for",
                     {"participant": str(doris), "note": "Reading her email"}
                     ).status_code == 303
    assert _scan(app, frozen, START - DAY) == 2
    states = {n.user_id: (n.title, n.email_state) for n in _reminders(app)}
    assert states == {
        doris: ("Tomorrow: your 1:1 with Sam Facilitator", EmailState.NONE),
        world["facilitator"]: ("Tomorrow: 1:1 with Doris Kaye", EmailState.QUEUED)}
    assert [e.user_id for e in _emails(app)] == [world["facilitator"]]
    assert "Reading her email" not in _emails(app)[0].body_text


def test_across_the_clock_change_it_goes_once_at_the_right_instant(app, world, frozen,
                                                                   publish, participants):
    # Sunday 28 March 2027, 10:00 BST (09:00 UTC): due 09:00 UTC on the Saturday (GMT).
    assert publish(day="2027-03-28", starts="10:00", ends="10:30").status_code == 303
    [slot_id] = _slot_ids(app)
    start, due = datetime(2027, 3, 28, 9, tzinfo=UTC), datetime(2027, 3, 27, 9, tzinfo=UTC)
    (me,) = participants(1)
    assert _book(me, world, slot_id).status_code == 303
    sent_at = []
    at = due - 12 * HOUR
    while at <= start:
        if _scan(app, frozen, at):
            sent_at.append(at)
        at += 5 * 60 * SECOND
    assert sent_at == [due]
    assert len(_reminders(app)) == 2


# --- two scans at once ------------------------------------------------------------------------


def test_two_scans_at_once_send_each_reminder_once(app, booked, database_url):
    scan = (database_url, (START - DAY).timestamp(), "dap.support.reminders:remind_support_sessions")
    outcomes = at_once(scan_in_worker, [scan, scan])
    assert sum(outcomes) == 2
    assert len(_reminders(app)) == 2
    assert len(_emails(app)) == 2


# --- the query count --------------------------------------------------------------------------


def _arrange(app, world, publish, *, day: str, sessions: int) -> None:
    """A block of ``sessions`` 30-minute slots on ``day`` from 09:00, each booked by a new
    participant (through the service)."""
    from dap.support import services

    end = f"{9 + sessions // 2:02d}:{30 * (sessions % 2):02d}"
    assert publish(day=day, starts="09:00", ends=end).status_code == 303
    midnight = datetime.fromisoformat(day).replace(tzinfo=UTC)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        slots = db.session.scalars(select(SupportSlot).where(SupportSlot.starts_at >= midnight)
                                   .order_by(SupportSlot.id))
        for slot in slots:
            person = factories.make_user()
            factories.add_member(cohort, person, CohortRole.PARTICIPANT)
            services.book(slot, person, note=NOTE, actor=person, base_url="http://x")
        db.session.commit()


def test_the_scan_costs_the_same_statements_for_few_or_many(app, world, frozen, publish):
    from dap.support.reminders import remind_support_sessions

    def count(at: datetime) -> tuple[int, int, list[str]]:
        frozen(at)
        with counting_queries(app) as statements, app.app_context():
            sent = remind_support_sessions(now=at, base_url="http://x")
            db.session.commit()
        return sent, len(statements), statements

    _arrange(app, world, publish, day="2027-03-17", sessions=2)
    few = count(datetime(2027, 3, 16, 10, tzinfo=UTC))
    _arrange(app, world, publish, day="2027-03-18", sessions=12)
    many = count(datetime(2027, 3, 17, 14, 30, tzinfo=UTC))
    assert (few[0], many[0]) == (4, 24)
    assert few[1] == many[1], (few[1], many[1])
    # Run again: what was sent is left out by the scan's own query (the keys built in SQL
    # match the ones built in Python), so nothing else is read or written.
    again = count(datetime(2027, 3, 17, 14, 30, tzinfo=UTC))
    assert again[0] == 0
    queries = [s for s in many[2] if not s.startswith("BEGIN")]
    assert [s for s in again[2] if not s.startswith("BEGIN")] == queries[:1], again[2]
