"""Database timeouts: a locked or slow database answers 503 (with Retry-After) within the
configured time instead of holding a worker for as long as the lock lasts, and works again
once the lock is gone. On PostgreSQL the statement timeout (``DAP_DB_STATEMENT_TIMEOUT``)
bounds the wait, on SQLite the busy timeout (``DAP_DB_BUSY_TIMEOUT``); the tests that
touch the database run on whichever one the suite runs on, each with its own lock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
import pytest
from sqlalchemy import create_engine, func, select, text

from dap import create_app
from dap.accounts.models import User
from dap.clock import now_utc
from dap.db import engine_options
from dap.extensions import db
from dap.plans.models import CheckIn
from dap.timecap.models import PlatformDay
from tests.conftest import csrf_token, sign_in, test_overrides
from tests.plans.conftest import own_goal  # noqa: F401 - a fixture shared with the plan tests

DEFAULTS = {"DB_STATEMENT_TIMEOUT": 30, "DB_CONNECT_TIMEOUT": 10, "DB_POOL_TIMEOUT": 10,
            "DB_BUSY_TIMEOUT": 10}
PG = "postgresql+psycopg://dap@db.internal/dap"


def options(url: str, *, serving: bool = True, **settings) -> dict:
    config = {"SQLALCHEMY_DATABASE_URI": url,
              "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}, **DEFAULTS, **settings}
    return engine_options(config, serving=serving)


# --- what the engine is given ---------------------------------------------------------------


def test_postgresql_gets_the_timeouts_as_connection_options():
    """In the startup packet, not a SET per request: no extra round trip on the heartbeat."""
    assert options(PG) == {
        "pool_pre_ping": True, "pool_timeout": 10,
        "connect_args": {"connect_timeout": 10, "options": "-c statement_timeout=30000"}}


def test_a_statement_timeout_of_zero_sends_none():
    assert options(PG, DB_STATEMENT_TIMEOUT=0)["connect_args"] == {"connect_timeout": 10}


def test_the_urls_own_connection_options_are_kept():
    url = PG + "?options=-c%20search_path%3Ddap&connect_timeout=3"
    assert options(url)["connect_args"] == {
        "options": "-c search_path=dap -c statement_timeout=30000"}


def test_sqlite_waits_for_a_lock_as_long_as_the_busy_timeout():
    assert options("sqlite:////srv/dap/dap.sqlite3", DB_BUSY_TIMEOUT=3) == {
        "pool_pre_ping": True, "pool_timeout": 10, "connect_args": {"timeout": 3}}
    assert "connect_args" not in options("sqlite:////srv/dap/dap.sqlite3?timeout=20")
    # in memory: one shared connection, no queue to wait in
    assert "pool_timeout" not in options("sqlite://")


@pytest.mark.parametrize(("command", "serving"), [
    (None, True),  # gunicorn importing wsgi.py
    ("run", True),  # the development server
    ("flask", False),  # any app command, loaded by the group (scheduler, jobs, demo…)
    ("scheduler", False),
])
def test_flask_commands_run_without_a_statement_timeout(database_url, tmp_path, command,
                                                        serving):
    """Migrations, scans over every participant and bulk inserts may run one long statement
    and nobody waits on a page for them; requests are what the timeout protects."""
    if command is None:
        app = create_app(test_overrides(database_url, tmp_path))
    else:
        with click.Context(click.Command(command), info_name=command):
            app = create_app(test_overrides(database_url, tmp_path))
    sent = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"].get("options", "")
    expected = serving and database_url.startswith("postgresql")
    assert ("statement_timeout" in sent) is expected


def test_the_database_is_told(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT=7, DB_BUSY_TIMEOUT=3)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert db.session.scalar(text("SHOW statement_timeout")) == "7s"
        else:
            assert db.session.scalar(text("PRAGMA busy_timeout")) == 3000


# --- a lock held by someone else ------------------------------------------------------------


@contextmanager
def holding_the_heartbeats_lock(database_url: str) -> Iterator[None]:
    """Another connection holds what a heartbeat needs: on PostgreSQL the heartbeats' table
    in ACCESS EXCLUSIVE mode (not even a read gets through), on SQLite the database's write
    lock (``BEGIN IMMEDIATE``, see dap.db)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.begin()
            if conn.dialect.name == "postgresql":
                # should the request wait regardless, the server ends this session (and
                # its lock) after 10 s, so the test fails instead of hanging
                conn.execute(text("SET LOCAL idle_in_transaction_session_timeout = '10s'"))
                conn.execute(text(f"LOCK TABLE {PlatformDay.__tablename__} "
                                  "IN ACCESS EXCLUSIVE MODE"))
            yield
            conn.rollback()
    finally:
        engine.dispose()


def test_a_request_behind_a_lock_answers_503_near_the_timeout_then_works(
        make_app, database_url, world, own_goal):  # noqa: F811 - the fixture imported above
    goal = own_goal()
    app = make_app(DB_STATEMENT_TIMEOUT=1, DB_BUSY_TIMEOUT=1)
    with app.app_context():
        email = db.session.get(User, world["participant"]).email
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    token = csrf_token(client)
    key, made = str(uuid.uuid4()), (now_utc() - timedelta(minutes=5)).isoformat()

    def beat():
        return client.post("/time/heartbeat", headers={"X-CSRFToken": token})

    def send_check_in():
        return client.post("/sync/check-ins", json={"goal_id": goal, "minutes": 10,
                                                    "note": "Shared a draft", "made_at": made},
                           headers={"X-CSRFToken": token, "Idempotency-Key": key,
                                    "Accept": "application/json"})

    with holding_the_heartbeats_lock(database_url):
        started = time.monotonic()
        page = beat()
        waited = time.monotonic() - started
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "30"
        assert "DAP is unavailable for a moment" in page.get_data(as_text=True)
        assert 0.9 <= waited < 5, waited

        started = time.monotonic()
        problem = send_check_in()
        waited = time.monotonic() - started
        assert problem.status_code == 503
        assert problem.mimetype == "application/problem+json"
        assert problem.headers["Retry-After"] == "30"
        assert 0.9 <= waited < 5, waited

    assert beat().status_code == 200
    assert send_check_in().status_code == 201  # the same key: the device's retry
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckIn)) == 1
        days = db.session.scalars(select(PlatformDay.day).where(
            PlatformDay.user_id == world["participant"])).all()
        assert len(days) == len(set(days)) == 1
