"""Event reminders: a day before and an hour before, to the people going, once each; not
before, not after their window; again for a new time; across the clock changes; two
scans at once; and a query count that does not grow with events or people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.cohorts.models import Cohort, CohortRole
from dap.events.models import Event
from dap.extensions import db
from dap.nudges.models import EmailState, Notification, NotificationKind, OutboxMessage
from tests import factories
from tests.concurrency import at_once, scan_in_worker
from tests.conftest import counting_queries, post_form, run_due_at
from tests.events.conftest import FORM, answer

#: the form's event: Saturday 20 March 2027, 10:00 in London (GMT), so 10:00 UTC
START = datetime(2027, 3, 20, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def _event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Event.id).order_by(Event.id.desc()))


def _reminders(app) -> list[Notification]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.EVENT_REMINDER)
            .order_by(Notification.id)))
        db.session.expunge_all()
        return rows


def _emails(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "event_reminder")
            .order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def _keys(app) -> list[str]:
    return [n.dedup_key for n in _reminders(app)]


def _key(event_id: int, user_id: int, lead: str, start: datetime) -> str:
    return f"reminder:event:{event_id}:user:{user_id}:{lead}:{int(start.timestamp())}"


def _scan(app, frozen, at: datetime) -> int:
    """One pass of the scan alone at ``at``, committed as the job runner would."""
    from dap.events.reminders import remind_event_goers

    frozen(at)
    with app.app_context():
        sent = remind_event_goers(now=at, base_url="https://dap.example.org")
        db.session.commit()
    return sent


def _run_due(app, frozen, at: datetime) -> str:
    return run_due_at(app, at, "event_reminders")


@pytest.fixture
def going(app, world, schedule, participants):
    """The form's event, with two people going and three who are not: one waiting, one who
    can't go, and one who said going and then cancelled (her seat went to the one waiting
    first). Returns ``(event id, [user ids going], [user ids not going])``."""
    assert schedule(capacity="2").status_code == 303
    event_id = _event_id(app)
    first, cancels, promoted, waiting, declines = participants(5)
    for client in (first, cancels, promoted, waiting):
        assert answer(client, world["cohort"], event_id, True).status_code == 303
    assert answer(cancels, world["cohort"], event_id, False).status_code == 303  # seat → promoted
    assert answer(declines, world["cohort"], event_id, False).status_code == 303
    return (event_id, [first.user_id, promoted.user_id],
            [cancels.user_id, waiting.user_id, declines.user_id])


def test_each_reminder_goes_once_when_due_to_the_people_going_only(app, frozen, going):
    event_id, yes, _ = going
    assert _run_due(app, frozen, START - DAY - SECOND) == "sent 0 event reminders"
    assert _reminders(app) == []

    assert _run_due(app, frozen, START - DAY) == "sent 2 event reminders"
    assert _run_due(app, frozen, START - DAY) == "sent 0 event reminders"  # twice: once
    day_before = _reminders(app)
    assert sorted(n.dedup_key for n in day_before) == sorted(
        _key(event_id, user_id, "24h", START) for user_id in yes)
    first = day_before[0]
    assert first.title == "Tomorrow: Writing for screens"
    assert first.body.startswith("Saturday 20 March, 10:00–12:00 (Europe/London), Room 4.")
    assert first.link == f"/cohorts/{first.cohort_id}/events/{event_id}"
    assert first.expires_at == START
    assert first.email_state is EmailState.QUEUED
    emails = _emails(app)
    assert len(emails) == 2
    assert emails[0].subject == "Reminder: Writing for screens, Saturday 20 March at 10:00"
    assert "Where: Room 4, 1 High Street" in emails[0].body_text
    assert f"{app.config['BASE_URL']}/cohorts/{first.cohort_id}/events/{event_id}" in (
        emails[0].body_text)
    assert "Stop these emails" in emails[0].body_text  # the governed footer
    assert "</body>" in emails[0].body_html
    assert emails[0].next_attempt_at == START - DAY  # normal priority, outside quiet hours

    # Nothing more through the rest of the day-before window and up to the last hour.
    for at in (START - DAY + HOUR, START - 18 * HOUR - SECOND, START - HOUR - SECOND):
        assert _scan(app, frozen, at) == 0
    assert _scan(app, frozen, START - HOUR) == 2
    assert _scan(app, frozen, START - HOUR + 5 * 60 * SECOND) == 0
    hour_before = _reminders(app)[2:]
    assert sorted(n.dedup_key for n in hour_before) == sorted(
        _key(event_id, user_id, "1h", START) for user_id in yes)
    assert hour_before[0].title == "In an hour: Writing for screens"
    assert hour_before[0].expires_at == START
    assert _emails(app)[2].subject == "Starting at 10:00: Writing for screens"
    # Once it has started, nothing.
    assert _scan(app, frozen, START) == 0
    assert _scan(app, frozen, START + HOUR) == 0
    assert len(_reminders(app)) == 4
    assert {n.user_id for n in _reminders(app)} == set(yes)


def test_run_due_twice_through_the_cli_sends_once(app, frozen, runner, going):
    frozen(START - DAY + 60 * SECOND)
    first = runner.invoke(args=["jobs", "run-due"])
    assert first.exit_code == 0, first.output
    assert "event_reminders: ok" in first.output
    assert "sent 2 event reminders" in first.output
    again = runner.invoke(args=["jobs", "run-due"])
    assert again.exit_code == 0, again.output
    assert "sent 0 event reminders" in again.output
    assert len(_reminders(app)) == 2
    assert len(_emails(app)) == 2


def test_the_hour_before_one_is_high_priority_and_not_held_by_the_daily_cap(
        app, world, frozen, schedule, participants):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).emails_per_day_max = 1
        db.session.commit()
    assert schedule(starts="10:00", ends="10:30").status_code == 303
    first = _event_id(app)
    assert schedule(starts="10:30", ends="11:00").status_code == 303
    second = _event_id(app)
    [me] = participants(1)
    for event_id in (first, second):
        answer(me, world["cohort"], event_id, True)
    assert _scan(app, frozen, START - DAY) == 1
    assert _scan(app, frozen, START - DAY + HOUR / 2) == 1  # past the cap: to the digest
    assert _scan(app, frozen, START - HOUR) == 1
    assert _scan(app, frozen, START - HOUR / 2) == 1  # past the cap, and still emailed
    assert [(n.dedup_key.split(":")[-2], n.email_state) for n in _reminders(app)] == [
        ("24h", EmailState.QUEUED), ("24h", EmailState.DIGEST),
        ("1h", EmailState.QUEUED), ("1h", EmailState.QUEUED)]


def test_too_late_for_the_day_before_window_sends_no_stale_reminder(app, frozen, going):
    # The scheduler was down from before the window opened until it had closed.
    assert _scan(app, frozen, START - 18 * HOUR) == 0
    assert _scan(app, frozen, START - 2 * HOUR) == 0
    assert _reminders(app) == []
    assert _scan(app, frozen, START - HOUR) == 2  # the hour-before one still goes


def test_an_event_made_less_than_18_hours_ahead_gets_only_the_hour_before_one(
        app, world, frozen, schedule, participants):
    frozen(START - 17 * HOUR)
    assert schedule().status_code == 303
    event_id = _event_id(app)
    [me] = participants(1)
    assert answer(me, world["cohort"], event_id, True).status_code == 303
    assert _scan(app, frozen, START - 17 * HOUR) == 0
    assert _scan(app, frozen, START - HOUR) == 1
    assert _keys(app) == [_key(event_id, me.user_id, "1h", START)]


def test_a_reminder_that_could_only_arrive_after_the_start_stays_in_app(
        app, world, frozen, schedule, participants):
    assert schedule(starts="07:00", ends="08:00").status_code == 303  # 07:00 GMT
    event_id = _event_id(app)
    [me] = participants(1)
    answer(me, world["cohort"], event_id, True)
    start = START - 3 * HOUR
    assert _scan(app, frozen, start - HOUR) == 1  # 06:00: quiet hours until 08:00
    [reminder] = _reminders(app)
    assert reminder.email_state is EmailState.NONE
    assert _emails(app) == []


def test_a_cancelled_event_gets_none(app, world, frozen, going, role_client):
    event_id, _, _ = going
    path = f"/cohorts/{world['cohort']}/events/{event_id}/cancel"
    assert post_form(role_client("facilitator"), path, {"reason": "Snow"}).status_code == 303
    assert _scan(app, frozen, START - DAY) == 0
    assert _scan(app, frozen, START - HOUR) == 0
    assert _reminders(app) == []


def test_an_archived_cohort_gets_none(app, world, frozen, going):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert _scan(app, frozen, START - DAY) == 0
    assert _scan(app, frozen, START - HOUR) == 0


def test_someone_no_longer_in_the_cohort_or_deactivated_gets_none(app, world, frozen, going):
    from dap.accounts.models import User
    from dap.cohorts.models import Membership, MembershipStatus

    _, (first, promoted), _ = going
    with app.app_context():
        db.session.get(User, first).is_active = False
        db.session.scalar(select(Membership).where(
            Membership.user_id == promoted)).status = MembershipStatus.REMOVED
        db.session.commit()
    assert _scan(app, frozen, START - DAY) == 0


def test_a_moved_event_is_reminded_again_for_its_new_time_but_not_for_a_new_room(
        app, world, frozen, going, role_client):
    event_id, yes, _ = going
    assert _scan(app, frozen, START - DAY) == 2
    facilitator = role_client("facilitator")
    path = f"/cohorts/{world['cohort']}/events/{event_id}/edit"
    frozen(START - DAY + 5 * 60 * SECOND)
    assert post_form(facilitator, path, {**FORM, "capacity": "2", "starts": "14:00",
                                         "ends": "16:00"}).status_code == 303
    moved = START + 4 * HOUR
    assert _scan(app, frozen, START - DAY + 10 * 60 * SECOND) == 0  # not due for 14:00 yet
    assert _scan(app, frozen, moved - DAY) == 2
    assert sorted(_keys(app)[2:]) == sorted(_key(event_id, u, "24h", moved) for u in yes)
    assert _reminders(app)[2].body.startswith("Saturday 20 March, 14:00–16:00")
    # Another room, same time: no new reminder.
    frozen(moved - DAY + 5 * 60 * SECOND)
    assert post_form(facilitator, path, {**FORM, "capacity": "2", "starts": "14:00",
                                         "ends": "16:00", "venue": "Room 5"}).status_code == 303
    assert _scan(app, frozen, moved - DAY + 10 * 60 * SECOND) == 0
    assert len(_reminders(app)) == 4


@pytest.mark.parametrize(("day", "start", "due"), [
    # Sunday 28 March 2027: the clocks went forward at 01:00 GMT. 10:00 BST is 09:00 UTC;
    # 24 hours before is 09:00 on the Saturday (GMT), not 10:00 local.
    ("2027-03-28", datetime(2027, 3, 28, 9, tzinfo=UTC), datetime(2027, 3, 27, 9, tzinfo=UTC)),
    # Sunday 31 October 2027: the clocks went back at 01:00 GMT. 10:00 GMT is 10:00 UTC; 24
    # hours before is 11:00 BST on the Saturday.
    ("2027-10-31", datetime(2027, 10, 31, 10, tzinfo=UTC),
     datetime(2027, 10, 30, 10, tzinfo=UTC)),
])
def test_across_a_clock_change_each_reminder_goes_once_at_the_right_instant(
        app, world, frozen, schedule, participants, day, start, due):
    assert schedule(day=day, starts="10:00", ends="12:00").status_code == 303
    event_id = _event_id(app)
    [me] = participants(1)
    answer(me, world["cohort"], event_id, True)
    with app.app_context():
        assert db.session.get(Event, event_id).starts_at == start
    sent_at: dict[str, list[datetime]] = {"24h": [], "1h": []}
    at = due - 12 * HOUR  # a scheduler passing every five minutes, through the change
    while at <= start + HOUR:
        before = set(_keys(app))
        _scan(app, frozen, at)
        for key in set(_keys(app)) - before:
            sent_at[key.split(":")[-2]].append(at)
        at += 5 * 60 * SECOND
    assert sent_at == {"24h": [due], "1h": [start - HOUR]}
    assert _keys(app) == [_key(event_id, me.user_id, "24h", start),
                          _key(event_id, me.user_id, "1h", start)]
    assert _reminders(app)[0].title == "Tomorrow: Writing for screens"
    assert _reminders(app)[0].body.startswith(
        f"Sunday {int(day[-2:])} {'March' if day[5:7] == '03' else 'October'}, 10:00–12:00")


# --- two scans at once ------------------------------------------------------------------------


def test_two_scans_at_once_send_each_reminder_once(app, going, database_url):
    scan = (database_url, (START - DAY).timestamp(), "dap.events.reminders:remind_event_goers")
    outcomes = at_once(scan_in_worker, [scan, scan])
    assert sum(outcomes) == 2
    assert len(_reminders(app)) == 2
    assert len(_emails(app)) == 2


# --- the query count --------------------------------------------------------------------------


def _arrange(app, schedule, world, *, day: str, events: int, people: int) -> None:
    """``events`` events on ``day`` from 10:00, an hour apart, each with ``people`` going
    (new participants, answering through the service)."""
    from dap.accounts.models import User
    from dap.events import services

    for n in range(events):
        assert schedule(day=day, starts=f"{10 + n}:00", ends=f"{10 + n}:30").status_code == 303
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        users = [factories.make_user() for _ in range(people)]
        for user in users:
            factories.add_member(cohort, user, CohortRole.PARTICIPANT)
        db.session.commit()
        for event in db.session.scalars(select(Event).order_by(Event.id.desc()).limit(events)):
            for user in users:
                services.respond(event, db.session.get(User, user.id), going=True,
                                 base_url="http://x")
        db.session.commit()


def test_the_scan_costs_the_same_statements_for_few_or_many(app, world, frozen, schedule):
    from dap.events.reminders import remind_event_goers

    def count(at: datetime) -> tuple[int, int, list[str]]:
        frozen(at)
        with counting_queries(app) as statements, app.app_context():
            sent = remind_event_goers(now=at, base_url="http://x")
            db.session.commit()
        return sent, len(statements), statements

    _arrange(app, schedule, world, day="2027-03-20", events=2, people=3)
    few = count(datetime(2027, 3, 19, 12, tzinfo=UTC))
    _arrange(app, schedule, world, day="2027-03-24", events=6, people=30)
    many = count(datetime(2027, 3, 23, 15, tzinfo=UTC))
    assert (few[0], many[0]) == (6, 180)
    assert few[1] == many[1], (few[1], many[1])
    # Run again: what was sent is left out by the scan's own query (the keys built in SQL
    # match the ones built in Python), so nothing else is read or written.
    again = count(datetime(2027, 3, 23, 15, tzinfo=UTC))
    assert again[0] == 0
    queries = [s for s in many[2] if not s.startswith("BEGIN")]
    assert [s for s in again[2] if not s.startswith("BEGIN")] == queries[:1], again[2]
