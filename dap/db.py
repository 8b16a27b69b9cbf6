"""Declarative base, the UTC datetime column type and SQLite connection settings."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Enum, Integer, MetaData, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeDecorator

from dap.clock import local_date

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every database.

    PostgreSQL stores ``timestamptz``; SQLite drops the zone, so values are normalised to
    UTC on the way in and given ``tzinfo=UTC`` on the way out. Naive values are refused:
    a naive datetime in DAP is a bug.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A column type for a ``StrEnum``: its values stored as strings of up to 20 characters
    (not a native database enum, so adding a value needs no migration of the type)."""
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e])


def insert_for(session: Any) -> Callable[..., Any]:
    """The dialect's own ``insert`` (with ``on_conflict_do_nothing`` / ``do_update``) for
    the database ``session`` is bound to: PostgreSQL's, else SQLite's."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


class unix_seconds(FunctionElement):  # noqa: N801 - reads as the SQL function it compiles to
    """Whole seconds since 1970 of a UTC datetime column, as ``int(value.timestamp())`` gives
    in Python: the start time in a reminder's dedup key, built in SQL."""

    type = Integer()
    inherit_cache = True
    name = "unix_seconds"


@compiles(unix_seconds)
def _unix_seconds(element, compiler, **kw) -> str:  # PostgreSQL: timestamptz
    column = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"


@compiles(unix_seconds, "sqlite")
def _unix_seconds_sqlite(element, compiler, **kw) -> str:
    # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC; strftime would round the fraction up.
    column = compiler.process(element.clauses, **kw)
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


def _date_function(name: str, doc: str, *, postgresql: str, sqlite: str) -> Any:
    """A SQL function of dates, written for each database: ``postgresql`` and ``sqlite``
    are templates of its arguments (``{0}``, ``{1}``, …, each compiled SQL)."""
    function = type(name, (FunctionElement,), {
        "__doc__": doc, "type": Date(), "inherit_cache": True, "name": name})

    def writer(template: str) -> Callable[..., str]:
        def write(element: Any, compiler: Any, **kw: Any) -> str:
            return template.format(*(compiler.process(c, **kw) for c in element.clauses))
        return write

    compiles(function)(writer(postgresql))
    compiles(function, "sqlite")(writer(sqlite))
    return function


#: the SQL name of ``_sqlite_local_date`` on SQLite connections (see ``local_day``)
SQLITE_LOCAL_DATE = "dap_local_date"

local_day = _date_function(
    "local_day", "The calendar date, in the time zone named by the second argument, of the "
    "moment given in whole seconds since 1970 by the first: ``dap.clock.local_date`` in "
    "SQL. PostgreSQL has its own time zone database; SQLite, which has none, calls a "
    "function of DAP's (``_sqlite_local_date``).",
    postgresql="CAST(timezone({1}, to_timestamp({0})) AS DATE)",
    sqlite=SQLITE_LOCAL_DATE + "({0}, {1})")
monday_of_week = _date_function(
    "monday_of_week", "The Monday of a date's week (weeks run Monday to Sunday).",
    postgresql="({0} - (CAST(EXTRACT(isodow FROM {0}) AS INTEGER) - 1))",
    sqlite="date({0}, '-6 days', 'weekday 1')")  # six days back, then on to a Monday
sunday_after = _date_function(
    "sunday_after", "The Sunday that ends the week of a Monday.",
    postgresql="({0} + 6)", sqlite="date({0}, '+6 days')")


class Base(DeclarativeBase):
    """Base of every model; constraint names follow ``NAMING_CONVENTION`` so migrations
    can refer to them on every database."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def engine_options(config: Mapping[str, Any], *, serving: bool) -> dict[str, Any]:
    """The engine options for ``config``'s database: ``SQLALCHEMY_ENGINE_OPTIONS`` (whose own
    keys win) plus the timeouts of ``dap.config.database_timeouts``, as the driver takes them.

    - PostgreSQL (psycopg): ``connect_timeout``, and the statement timeout as a connection
      option (``-c statement_timeout=…``, sent when the connection opens: no ``SET`` and no
      round trip per request). A statement that runs longer, waiting for a lock included,
      is cancelled and its transaction rolled back. Only when ``serving`` requests: a
      ``flask`` command (the scheduler's scans over every participant, migrations, bulk
      inserts) may legitimately run one long statement, and nobody waits on a page for it.
    - SQLite: the busy timeout, the driver's ``timeout`` (how long a write waits for
      another connection's write lock; see ``_sqlite_on_begin``).
    - Values the URL gives itself (``?connect_timeout=``, ``?options=``, ``?timeout=``)
      are kept.
    - Any pooled database: ``pool_timeout``, the wait for a free connection in the pool.
    """
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    backend = url.get_backend_name()
    in_memory = backend == "sqlite" and url.database in (None, "", ":memory:")
    if backend == "sqlite" and "timeout" not in url.query:
        connect_args.setdefault("timeout", config["DB_BUSY_TIMEOUT"])
    elif backend == "postgresql":
        if "connect_timeout" not in url.query:
            connect_args.setdefault("connect_timeout", config["DB_CONNECT_TIMEOUT"])
        if serving and config["DB_STATEMENT_TIMEOUT"]:
            given = connect_args.get("options", url.query.get("options", ""))
            if isinstance(given, tuple):  # the option given more than once in the URL
                given = " ".join(given)
            milliseconds = config["DB_STATEMENT_TIMEOUT"] * 1000
            connect_args["options"] = f"{given} -c statement_timeout={milliseconds}".strip()
    if connect_args:
        options["connect_args"] = connect_args
    if not in_memory:  # one shared connection in memory: no pool to wait in
        options.setdefault("pool_timeout", config["DB_POOL_TIMEOUT"])
    return options


def _sqlite_local_date(seconds: int | None, zone: str | None) -> str | None:
    """``local_day`` on SQLite, which knows no time zones: a date as SQLite stores them."""
    if seconds is None or zone is None:
        return None
    return local_date(datetime.fromtimestamp(seconds, UTC), zone).isoformat()


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL, foreign keys and NORMAL sync on every SQLite connection (its busy timeout is
    the driver's ``timeout``: see ``engine_options``).

    The driver's own transaction handling is switched off so that ``_sqlite_on_begin`` can
    start write-safe ``BEGIN IMMEDIATE`` transactions (see docs/ARCHITECTURE.md). And the
    connection learns ``local_day``'s time zones (``_sqlite_local_date``).
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    dbapi_connection.create_function(SQLITE_LOCAL_DATE, 2, _sqlite_local_date,
                                     deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: a connection execution option: this transaction only reads (see ``begin_read_only``)
READ_ONLY = "dap_read_only"
#: a connection execution option: one statement, atomic by itself (see ``on_its_own``)
ON_ITS_OWN = "dap_on_its_own"


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Any) -> None:
    """Start every SQLite transaction with ``BEGIN IMMEDIATE`` so concurrent writers queue
    on the busy timeout instead of failing when a read lock cannot be upgraded; a read-only
    one (``begin_read_only``) with a plain ``BEGIN``, which takes no write lock; a single
    statement ``on_its_own`` with none."""
    if conn.dialect.name == "sqlite":
        options = conn.get_execution_options()
        if options.get(ON_ITS_OWN):
            return
        conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE")


@contextmanager
def on_its_own(session: Any, engine: Engine) -> Iterator[Connection]:
    """A connection for a single statement that is atomic by itself, committed when the
    block ends. It runs without BEGIN and COMMIT (a round trip each on PostgreSQL, and
    SQLAlchemy's work on either) on a connection of ``engine`` of its own, not the ORM
    session's: PostgreSQL runs it in autocommit; SQLite's driver, which DAP lets start no
    transactions of its own (see ``_sqlite_on_connect``), runs it in a transaction of its
    own, which takes the write lock as it starts when the statement writes (waiting as
    ``BEGIN IMMEDIATE`` would).

    If ``session`` has already begun a transaction, the statement joins it, and that
    transaction is committed when the block ends: on SQLite another connection's write
    would wait for the session's lock. Meant for one statement: a second runs in a
    transaction of its own too (a read after the write sees it committed)."""
    if session.registry.has() and session().in_transaction():  # a scoped session's own
        yield session.connection()
        session.commit()
        return
    options = ({"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql"
               else {ON_ITS_OWN: True})
    with engine.connect() as connection:
        yield connection.execution_options(**options)


def begin_read_only(session: Any) -> None:
    """Go on in a transaction that only reads: commit ``session``'s transaction if it has
    one, and begin the next with ``READ_ONLY``.

    For a response that reads while it streams (a large CSV): on SQLite ``BEGIN IMMEDIATE``
    would hold the database's write lock until the last line reached the client, and every
    writer meanwhile would wait, then fail. A plain ``BEGIN`` reads a consistent snapshot
    (WAL) and lets writers on. Nothing may be written in that transaction."""
    if session().in_transaction():  # a scoped session: the current one
        session.commit()
    session.connection(execution_options={READ_ONLY: True})
