"""Measuring platform time: heartbeats and page requests, counted once however many tabs
are open, nothing for idle gaps or a sleeping laptop, split by day in the cohort's time
zone; participants only. Concurrency: 3 processes beating the same person at once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.extensions import db
from dap.timecap.models import PlatformDay

T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday


def test_a_single_tab_counts_its_time(world, tab, platform_seconds):
    me = tab()
    me.open(T0)
    me.beats(T0 + timedelta(seconds=30), 20)  # ten minutes
    assert platform_seconds(world["participant"]) == 600


def test_three_tabs_interleaved_count_once(world, tab, platform_seconds, role_client, frozen):
    first = tab()
    first.open(T0)
    # three tabs of one browser (one session), beating 10 s apart, each every 30 s
    tabs = [first, first, first]
    for n in range(1, 31):
        tabs[n % 3].beat(T0 + timedelta(seconds=10 * n))
    assert platform_seconds(world["participant"]) == 300  # five minutes of wall time


def test_a_gap_of_90_seconds_counts_60_and_91_counts_nothing(world, tab, platform_seconds):
    me = tab()
    me.open(T0)
    me.beat(T0 + timedelta(seconds=90))
    assert platform_seconds(world["participant"]) == 60
    me.beat(T0 + timedelta(seconds=181))
    assert platform_seconds(world["participant"]) == 60


def test_a_sleeping_laptop_earns_nothing(world, tab, platform_seconds):
    me = tab()
    me.open(T0)
    me.beat(T0 + timedelta(seconds=30))
    me.beat(T0 + timedelta(hours=2))  # the lid was shut
    me.beat(T0 + timedelta(hours=2, seconds=30))
    assert platform_seconds(world["participant"]) == 60


def test_page_requests_count_as_beats(world, role_client, frozen, platform_seconds):
    client = role_client("participant")
    for n in range(5):
        frozen(T0 + timedelta(seconds=20 * n))
        assert client.get("/").status_code == 200
    assert platform_seconds(world["participant"]) == 80


def test_a_beat_out_of_order_adds_nothing_and_loses_nothing(world, tab, platform_seconds):
    me = tab()
    me.open(T0)
    me.beat(T0 + timedelta(seconds=60))
    me.beat(T0 + timedelta(seconds=30))  # a slow request arriving late
    me.beat(T0 + timedelta(seconds=90))
    assert platform_seconds(world["participant"]) == 90


def test_time_is_split_at_midnight_in_the_cohorts_time_zone(world, tab, platform_seconds, app):
    """The world cohort is in Europe/London: in November that is UTC."""
    me = tab()
    late = datetime(2026, 11, 18, 23, 59, 0, tzinfo=UTC)
    me.open(late)
    me.beats(late + timedelta(seconds=30), 4)  # 23:59:30, 00:00:00, 00:00:30, 00:01:00
    assert platform_seconds(world["participant"], by_day=True) == {
        date(2026, 11, 18): 30, date(2026, 11, 19): 90}


def test_a_cohort_in_another_time_zone_has_its_own_days(app, world, tab, platform_seconds):
    from dap.cohorts.models import Cohort

    with app.app_context():
        db.session.get(Cohort, world["cohort"]).timezone = "America/New_York"
        db.session.commit()
    me = tab()
    at = datetime(2026, 11, 19, 4, 59, 30, tzinfo=UTC)  # 23:59:30 in New York
    me.open(at)
    me.beats(at + timedelta(seconds=30), 2)
    assert platform_seconds(world["participant"], by_day=True) == {
        date(2026, 11, 18): 0, date(2026, 11, 19): 60}


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin"])
def test_people_who_are_not_participants_are_never_measured(world, tab, role, app):
    them = tab(role)
    them.open(T0)
    response = them.beat(T0 + timedelta(seconds=30))
    assert response.status_code == 204
    with app.app_context():
        assert db.session.scalar(select(PlatformDay.user_id)) is None


def test_a_heartbeat_without_a_session_is_401(client):
    response = client.post("/time/heartbeat")
    assert response.status_code == 401


def test_a_heartbeat_without_a_csrf_token_is_400(world, role_client, frozen, platform_seconds):
    client = role_client("participant")
    frozen(T0)
    response = client.post("/time/heartbeat")
    assert response.status_code == 400
    wrong = client.post("/time/heartbeat", headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert platform_seconds(world["participant"]) == 0


def test_the_heartbeat_answers_the_weeks_figures(world, tab):
    me = tab()
    me.open(T0)
    response = me.beat(T0 + timedelta(seconds=30))
    assert response.get_json() == {
        "platform_minutes": 0, "allowance_minutes": 15, "web_minutes": 0, "capped": False,
        "warning": False, "explore_url": "/time/explore"}


def test_a_removed_participant_is_no_longer_measured(app, world, tab, platform_seconds):
    from dap.accounts.models import User
    from dap.cohorts import people
    from dap.cohorts.models import Membership

    me = tab()
    me.open(T0)
    with app.app_context():
        people.remove_member(db.session.get(Membership, world["participant_membership"]),
                             actor=db.session.get(User, world["facilitator"]))
        db.session.commit()
    assert me.beat(T0 + timedelta(seconds=30)).status_code == 204
    assert platform_seconds(world["participant"]) == 0


# --- several processes at once --------------------------------------------------------------


def _beat_in_rounds(database_url: str, user_id: int, cohort_id: int, rounds: int,
                    barrier, start: float, identity: str | None) -> None:
    """A worker process: each round, wait for the others, then beat at the round's time
    (a page's beat, or with ``identity`` a heartbeat of that session)."""
    from dap import clock
    from dap.accounts.services import parse_identity
    from dap.app import create_app
    from dap.cohorts.models import Cohort
    from dap.timecap import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                      "TESTING": True, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        db.session.expunge(cohort)
        db.session.commit()
        for n in range(rounds):
            clock.freeze(datetime.fromtimestamp(start + 30 * n, UTC))
            barrier.wait()
            if identity is not None:
                assert services.heartbeat(parse_identity(identity)) is not None
            else:
                services.beat(user_id, cohort)
            db.session.commit()
        db.engine.dispose()


@pytest.mark.parametrize("kind", ["page", "heartbeat"])
def test_three_processes_beating_at_once_count_each_moment_once(app, world, database_url,
                                                                 platform_seconds, frozen, kind):
    """Each round the three processes beat the same person at the same moment: one of them
    earns the 30 s since the last round, the others nothing. A read-modify-write would
    count some rounds two or three times. Pages beat with one statement; the heartbeat
    checks the session, beats and reads the week back: the same must hold."""
    identity = None
    if kind == "heartbeat":
        from dap.accounts.models import User
        from dap.accounts.services import start_session

        frozen(T0)
        with app.app_context():
            person = db.session.get(User, world["participant"])
            start_session(person)
            identity = person.get_id()
            db.session.commit()
    rounds = 200
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3, timeout=60)
    workers = [context.Process(target=_beat_in_rounds, args=(
        database_url, world["participant"], world["cohort"], rounds, barrier, T0.timestamp(),
        identity))
        for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert platform_seconds(world["participant"]) == 30 * (rounds - 1)


def test_the_heartbeats_figures_are_the_balance_computed_the_long_way(app, world, tab):
    """The heartbeat reads the week back with its beat: its answer is ``balance()``'s (web
    time, check-in minutes, earlier days of the week, today's row)."""
    from dap.accounts.models import User
    from dap.cohorts.models import Cohort
    from dap.plans import services as plans
    from dap.timecap import services
    from dap.timecap.models import ActivityKind, WebActivity

    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date = date(2026, 11, 2)
        person = db.session.get(User, world["participant"])
        db.session.add(PlatformDay(user_id=person.id, day=date(2026, 11, 16), seconds=300,
                                   last_beat=0))
        db.session.add(PlatformDay(user_id=person.id, day=date(2026, 11, 15), seconds=999,
                                   last_beat=0))  # the Sunday before: another week
        db.session.add(WebActivity(user_id=person.id, cohort_id=cohort.id,
                                   kind=ActivityKind.READ, title="A guide", minutes=12,
                                   local_date=date(2026, 11, 17)))
        goal = plans.write_goal(plans.plan_for(cohort, person), actor=person, title="Poll")
        db.session.commit()
        goal_id = goal.id
    me = tab()
    me.open(T0)
    with app.app_context():
        from dap.plans.models import PlanGoal

        goal = db.session.get(PlanGoal, goal_id)
        plans.check_in(goal, actor=goal.plan.participant, progress=None, minutes=7, note="")
        db.session.commit()
    answer = me.beat(T0 + timedelta(seconds=45)).get_json()
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        expected = services.balance(world["participant"], cohort)
    assert expected.platform_seconds == 345
    assert (answer["platform_minutes"], answer["web_minutes"], answer["allowance_minutes"]) == (
        expected.platform_minutes, 19, expected.allowance_minutes)


def _new_session_of(user_id: int):
    """A new session of ``user_id`` as its heartbeats name it (inside an app context)."""
    from dap.accounts.models import User
    from dap.accounts.services import parse_identity, start_session

    person = db.session.get(User, user_id)
    start_session(person)
    identity = parse_identity(person.get_id())
    db.session.commit()
    db.session.remove()
    return identity


@contextmanager
def statements_sent(engine) -> Iterator[list[tuple[str, bool]]]:
    """What the driver itself is asked to run on ``engine``'s pooled connections while the
    block lasts, SQLAlchemy's own work or not: each statement's first word, and whether a
    transaction was open when it ran (SQLite: the driver's trace of every statement,
    BEGIN and COMMIT included; PostgreSQL: every cursor's ``execute``, in a transaction
    unless in autocommit)."""
    from sqlalchemy import event

    sent: list[tuple[str, bool]] = []
    restore: dict[int, object] = {}

    def watch(driver, record, proxy) -> None:
        if engine.dialect.name == "sqlite":
            driver.set_trace_callback(
                lambda sql: sent.append((sql.split()[0].upper(), driver.in_transaction)))
            return
        restore[id(driver)] = plain = driver.cursor_factory

        class Watching(plain):
            def execute(self, query, *args, **kwargs):
                sent.append((str(query).split()[0].upper(), not self.connection.autocommit))
                return super().execute(query, *args, **kwargs)

        driver.cursor_factory = Watching

    def unwatch(driver, record) -> None:
        if driver is None:
            return
        if engine.dialect.name == "sqlite":
            driver.set_trace_callback(None)
        elif id(driver) in restore:
            driver.cursor_factory = restore.pop(id(driver))

    event.listen(engine.pool, "checkout", watch)
    event.listen(engine.pool, "checkin", unwatch, insert=True)  # before anyone else's
    try:
        yield sent
    finally:
        event.remove(engine.pool, "checkout", watch)
        event.remove(engine.pool, "checkin", unwatch)


def test_a_heartbeat_runs_on_its_own_and_is_committed_when_it_returns(app, world, frozen):
    """The heartbeat is one statement sent on a pooled connection directly, outside any
    transaction (no BEGIN, no COMMIT: PostgreSQL in autocommit, SQLite's driver running it
    in a transaction of its own), and the beat is committed when ``heartbeat`` returns.
    Inside a transaction the session had already begun (a remember-me cookie loaded the
    user first) it joins that transaction and commits it."""
    from dap.accounts.models import User
    from dap.timecap import services

    def beats() -> int:
        with db.engine.connect() as other:  # what anyone else sees
            return other.scalar(select(func.count()).select_from(PlatformDay)
                                .where(PlatformDay.user_id == world["participant"]))

    frozen(T0)
    with app.app_context():
        identity = _new_session_of(world["participant"])
        with statements_sent(db.engine) as sent:
            assert services.heartbeat(identity) is not None
            assert sent == [("WITH", False)]
            assert not db.session.registry.has() or not db.session().in_transaction()
            assert beats() == 1
            sent.clear()
            frozen(T0 + timedelta(days=1))  # a new day: a new row
            db.session.get(User, world["participant"])  # the session's transaction begins
            assert services.heartbeat(identity) is not None
            assert ("WITH", True) in sent
            assert not db.session().in_transaction()
            assert beats() == 2
        db.session.remove()


def test_the_heartbeat_alone_skips_the_disk_flush(app, world, database_url):
    """PostgreSQL: the heartbeat does not wait for the WAL flush. The setting is local to
    its transaction: the pooled connections are transactional and durable again for
    whatever runs next, after a heartbeat on its own or inside an open transaction."""
    if not database_url.startswith("postgresql"):
        pytest.skip("synchronous_commit and autocommit: PostgreSQL's heartbeat")
    from sqlalchemy import text

    from dap.accounts.models import User
    from dap.timecap import services

    def durable_and_transactional() -> bool:
        with db.engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            return (raw.autocommit is False and connection.execute(
                text("SHOW synchronous_commit")).scalar() == "on")

    with app.app_context():
        identity = _new_session_of(world["participant"])
        # on its own (a connection of its own, in autocommit)
        assert services.heartbeat(identity) is not None
        assert durable_and_transactional()
        # inside an open transaction: local to it while it lasts
        db.session.get(User, world["participant"])
        connection = db.session.connection()
        seen: list[str] = []

        def after(conn, cursor, statement, parameters, context, executemany):
            if conn is connection and statement.lstrip().upper().startswith("WITH"):
                seen.append(conn.exec_driver_sql("SHOW synchronous_commit").scalar())

        from sqlalchemy import event

        event.listen(db.engine, "after_cursor_execute", after)
        try:
            assert services.heartbeat(identity) is not None
        finally:
            event.remove(db.engine, "after_cursor_execute", after)
        assert seen == ["off"]
        assert durable_and_transactional()
        db.session.remove()
