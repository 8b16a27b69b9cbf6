"""Fixtures: a throwaway database per run (SQLite, or PostgreSQL when
DAP_TEST_DATABASE_URL is set), an app per test, clients signed in per role."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from dap import clock, create_app
from dap.accounts.services import HashParams
from dap.db import watch_statements
from dap.extensions import db as _db
from tests import factories

#: cheap argon2id parameters so that hashing in tests takes microseconds; the production
#: profile is checked on its own in tests/accounts/test_passwords.py
FAST_HASH = HashParams(time_cost=1, memory_cost=1024, parallelism=1)

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'type="hidden" name="csrf_token" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


def create_throwaway_database(server_url: str) -> str:
    """Create an empty PostgreSQL database on ``server_url``'s server; return its URL."""
    url = make_url(server_url)
    name = f"dap_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def new_database_url(tmp_dir) -> str:
    """A fresh, empty database of the kind this run tests against."""
    server = os.environ.get("DAP_TEST_DATABASE_URL")
    if server:
        return create_throwaway_database(server)
    return f"sqlite:///{tmp_dir / f'{uuid.uuid4().hex[:8]}.sqlite3'}"


def test_overrides(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "PASSWORD_HASH_PARAMS": FAST_HASH,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_URL": "",
        "SCHEDULER": "off",
    }


test_overrides.__test__ = False  # a helper, not a test, when imported into test modules


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    url = new_database_url(tmp_path_factory.mktemp("db"))
    app = create_app(test_overrides(url, tmp_path_factory.mktemp("boot")))
    with app.app_context():
        _db.create_all()
        _db.engine.dispose()
    yield url
    if url.startswith("postgresql"):
        drop_database(url)


#: pooled connections a test gave back changed (see ``_watch_the_pool``)
_CHANGED_CONNECTIONS: list[str] = []
#: what ``dap.db`` sets on every SQLite connection, and the busy timeout it is given
_SQLITE_STATE = ("PRAGMA busy_timeout", "PRAGMA foreign_keys", "PRAGMA journal_mode",
                 "PRAGMA synchronous")


def _sqlite_state(dbapi_connection) -> tuple:
    return (dbapi_connection.isolation_level,
            *(dbapi_connection.execute(pragma).fetchall()[0][0] for pragma in _SQLITE_STATE))


def _watch_the_pool(engine) -> None:
    """The app's pooled connections outlive each test. One a test changed (a busy timeout
    of zero, say) would carry the change into whichever later test got it, and fail there
    by chance: on SQLite, a connection that comes back changed fails the test that changed
    it instead (``app``), and is closed. (On PostgreSQL the tests change nothing but
    ``SET LOCAL``, which the rollback on return undoes.)"""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        expected = _sqlite_state(connection.connection.dbapi_connection)

    @event.listens_for(engine.pool, "checkin")
    def check(dbapi_connection, record) -> None:
        if dbapi_connection is None:  # already closed
            return
        found = _sqlite_state(dbapi_connection)
        if found != expected:
            _CHANGED_CONNECTIONS.append(f"{found} instead of {expected}")
            record.invalidate()


@pytest.fixture(scope="session")
def shared_app(database_url, tmp_path_factory) -> Iterator[Flask]:
    """One app per test process, lent to each test by ``app``. Building an app compiles
    every URL rule's builder (about a quarter of a second here, most of a small test's time),
    and nothing a test changes survives it: see ``app``."""
    app = create_app(test_overrides(database_url, tmp_path_factory.mktemp("app")))
    with app.app_context():
        _watch_the_pool(_db.engine)
    yield app
    with app.app_context():
        _db.engine.dispose()  # closed, not left for the process's exit to drop


@pytest.fixture
def app(shared_app, database_url, tmp_path) -> Iterator[Flask]:
    """The app, as if new: this test's own outbox and upload folders; afterwards its
    settings are put back, the rate-limit counters, the clock and every table emptied. The
    pooled connections stay open for the next test (a new PostgreSQL connection is a new
    server process with cold caches: its cost showed on every test), so a test that changed
    one fails (``_watch_the_pool``)."""
    from dap.extensions import limiter

    settings = dict(shared_app.config)
    shared_app.config.update({key: value for key, value in test_overrides(
        database_url, tmp_path).items() if key in ("OUTBOX_DIR", "UPLOAD_DIR")})
    limiter.reset()
    yield shared_app
    clock.freeze(None)
    shared_app.config.clear()
    shared_app.config.update(settings)
    limiter.reset()
    with shared_app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())
    changed, _CHANGED_CONNECTIONS[:] = list(_CHANGED_CONNECTIONS), []
    assert not changed, f"the test changed pooled connections: {changed}"


@pytest.fixture
def make_app(database_url, tmp_path):
    """``make_app(**overrides)`` → another app on the test database (a second worker, a
    different setting); its connections are closed after the test."""
    made: list[Flask] = []

    def make(**overrides) -> Flask:
        extra = create_app({**test_overrides(database_url, tmp_path), **overrides})
        made.append(extra)
        return extra

    yield make
    for extra in made:
        with extra.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app) -> Iterator[None]:
    """An app context for arranging data through services and factories."""
    with app.app_context():
        yield


@pytest.fixture
def frozen(app):
    """Freeze the clock: ``frozen(datetime)`` sets it; released after the test."""

    def set_time(at: datetime) -> datetime:
        clock.freeze(at)
        return at

    return set_time


def csrf_token(client: FlaskClient) -> str:
    """A CSRF token for this client's session, read from a page as a browser would."""
    for path in ("/login", "/", "/account"):
        response = client.get(path)
        match = CSRF_RE.search(response.get_data(as_text=True))
        if match:
            return next(g for g in match.groups() if g)
    raise AssertionError("no page offered a CSRF token")


def post_form(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST a form with this session's CSRF token, as the browser would send it."""
    payload = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(path, data=payload, **kwargs)


def sign_in(client: FlaskClient, email: str, password: str = factories.PASSWORD, **extra):
    return post_form(client, "/login", {"email": email, "password": password, **extra})


@pytest.fixture
def login_as(app):
    """``login_as(user)`` → a new client signed in through the real sign-in form."""

    def make(user) -> FlaskClient:
        c = app.test_client()
        response = sign_in(c, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return make


@pytest.fixture
def world(app):
    """A small programme: an organisation, a cohort, and one user of each role."""
    with app.app_context():
        w = factories.make_world()
        _db.session.commit()
        ids = {k: v.id for k, v in w.items()}
    return ids


@pytest.fixture
def role_client(app, world, login_as):
    """``role_client("participant")`` → a client signed in as that role's user (or
    ``"anonymous"`` for a signed-out client)."""
    from dap.accounts.models import User

    def make(role: str) -> FlaskClient:
        if role == "anonymous":
            return app.test_client()
        with app.app_context():
            user = _db.session.get(User, world[role])
            return login_as(user)

    return make


@contextmanager
def counting_queries(app) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs."""
    with app.app_context():
        engine = _db.engine
    statements: list[str] = []
    stop = watch_statements(engine, statements.append)
    try:
        yield statements
    finally:
        stop()


def run_due_at(app, at, job_id: str) -> str:
    """One pass of every scheduled job at ``at`` (the scheduler's door, clock frozen there);
    the result of ``job_id``, which must have run without error."""
    from dap.jobs.runner import run_due

    clock.freeze(at)
    runs = {run.job_id: run for run in run_due(app, runner="test")}
    assert runs[job_id].status == "ok", runs[job_id].error
    return runs[job_id].result
