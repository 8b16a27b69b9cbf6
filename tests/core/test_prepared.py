"""``dap.db.Prepared``: a statement compiled once per database and run on a pooled driver
connection directly (the heartbeat's). What it answers, and what happens when the driver
fails, must be what SQLAlchemy's own execution would give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, func, literal, select
from sqlalchemy.exc import DBAPIError

from dap.accounts.models import User
from dap.db import Prepared, watch_statements
from dap.extensions import db
from tests import factories

#: people created after ``since`` whose name is not ``name``, and a constant it binds itself
_COUNT = select(func.count(User.id).label("people"), literal(7).label("seven")).where(
    User.created_at > bindparam("since"), User.name != bindparam("name"))
COUNT = Prepared({"sqlite": _COUNT, "postgresql": _COUNT})


def _people(app, n: int) -> None:
    with app.app_context():
        for i in range(n):
            factories.make_user(email=f"p{i}@example.org", name=f"Person {i}")
        db.session.commit()


def test_the_answer_is_sqlalchemys(app):
    _people(app, 3)
    params = {"since": datetime.now(UTC) - timedelta(days=1), "name": "Person 0"}
    with app.app_context():
        expected = db.session.execute(_COUNT, params).one()
        db.session.rollback()
        found = COUNT.first(db.session, db.engine, params)
    assert (found.people, found.seven) == tuple(expected) == (2, 7)


def test_parameters_go_through_their_types(app):
    """An aware datetime is stored as each database stores it; a naive one is refused by
    the column type, as anywhere in DAP, before anything is sent."""
    _people(app, 1)
    with app.app_context():
        future = COUNT.first(db.session, db.engine, {
            "since": datetime.now(UTC) + timedelta(days=1), "name": ""})
        assert future.people == 0
        with pytest.raises(ValueError, match="naive datetime"):
            COUNT.first(db.session, db.engine, {"since": datetime(2026, 1, 1),  # noqa: DTZ001
                                                       "name": ""})


def test_a_missing_parameter_is_named(app):
    with app.app_context(), pytest.raises(KeyError, match="name"):
        COUNT.first(db.session, db.engine, {"since": datetime.now(UTC)})


def test_watch_statements_sees_it(app):
    with app.app_context():
        seen: list[str] = []
        stop = watch_statements(db.engine, seen.append)
        try:
            COUNT.first(db.session, db.engine, {"since": datetime.now(UTC), "name": ""})
        finally:
            stop()
        COUNT.first(db.session, db.engine, {"since": datetime.now(UTC), "name": ""})
    assert len(seen) == 1
    assert "count(users.id)" in seen[0]


def test_a_connection_lost_mid_way_is_dropped_from_the_pool(app):
    """The driver's error comes as SQLAlchemy's (a 503 in a request), the connection is
    invalidated, and the next call gets a good one."""
    params = {"since": datetime.now(UTC), "name": ""}
    with app.app_context():
        engine = db.engine

        def lose(driver, record, proxy) -> None:  # after the pool's own check of it
            driver.close()

        event.listen(engine.pool, "checkout", lose, once=True)
        with pytest.raises(DBAPIError) as raised:
            COUNT.first(db.session, engine, params)
        assert raised.value.connection_invalidated
        assert COUNT.first(db.session, engine, params).people == 0
