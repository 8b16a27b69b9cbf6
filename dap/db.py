"""Declarative base, the UTC datetime column type and SQLite connection settings."""

from __future__ import annotations

import enum
from collections import namedtuple
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Enum, Integer, MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
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


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Any) -> None:
    """Start every SQLite transaction with ``BEGIN IMMEDIATE`` so concurrent writers queue
    on the busy timeout instead of failing when a read lock cannot be upgraded; a read-only
    one (``begin_read_only``) with a plain ``BEGIN``, which takes no write lock."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY)
                             else "BEGIN IMMEDIATE")


#: who watches each engine's statements (``watch_statements``)
_WATCHERS: dict[Engine, list[Callable[[str], None]]] = {}


def watch_statements(engine: Engine, listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener(sql)`` for every statement sent on ``engine``: those SQLAlchemy runs
    (its ``before_cursor_execute`` event) and those ``Prepared`` runs past it. For counting
    the statements of a request (the tests, the bench). Returns what stops watching."""

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        listener(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    _WATCHERS.setdefault(engine, []).append(listener)

    def stop() -> None:
        event.remove(engine, "before_cursor_execute", on_execute)
        _WATCHERS[engine].remove(listener)
        if not _WATCHERS[engine]:
            del _WATCHERS[engine]

    return stop


class Prepared:
    """One statement for a request so hot that SQLAlchemy's own work around each execution
    shows in its time (the heartbeat's: checking out a ``Connection``, its transaction and
    events, the cache key of a large statement, the result's rows; about 0.1 ms, against
    0.02 ms for SQLite to run the statement itself).

    SQLAlchemy still writes the SQL: ``statements`` gives the statement for each database
    (by dialect name), compiled once per database on first use. Each ``first`` runs it
    directly on a pooled DBAPI connection as a statement atomic by itself: PostgreSQL in
    autocommit; SQLite's driver, which DAP lets start no transactions of its own (see
    ``_sqlite_on_connect``), runs it in a transaction of its own that takes the write lock
    as it starts when the statement writes (waiting, as ``BEGIN IMMEDIATE`` would, for
    the busy timeout). No BEGIN and no COMMIT: the change is committed when ``first``
    returns. Parameters go through their column types' bind processors as SQLAlchemy's
    would; the row's values come as the driver gives them (SQLite: 0 or 1 for a boolean).
    A driver error is raised as SQLAlchemy's (``DBAPIError.instance``), so a locked or
    unreachable database answers 503 as anywhere else, and a lost connection is dropped
    from the pool. ``watch_statements`` sees it, as it sees SQLAlchemy's."""

    def __init__(self, statements: Mapping[str, Any]) -> None:
        self._statements = statements
        self._compiled: dict[tuple[str, str, str], _Compiled] = {}

    def first(self, session: Any, engine: Engine, params: Mapping[str, Any]) -> Any:
        """The statement's first row (named by its columns), or None.

        If ``session`` has already begun a transaction, the statement joins it, and that
        transaction is committed: on SQLite another connection's write would wait for the
        session's lock."""
        dialect = engine.dialect
        compiled = (self._compiled.get((dialect.name, dialect.driver, dialect.paramstyle))
                    or self._compile(dialect))
        values = compiled.values(params)
        if session.registry.has() and session().in_transaction():  # a scoped session's own
            found = session.connection().exec_driver_sql(compiled.sql, values).first()
            session.commit()
        else:
            for listener in _WATCHERS.get(engine, ()):
                listener(compiled.sql)
            found = _run_on_its_own(engine, compiled.sql, values)
        return None if found is None else compiled.row._make(found)

    def _compile(self, dialect: Any) -> _Compiled:
        compiled = _Compiled(self._statements[dialect.name], dialect)
        self._compiled[(dialect.name, dialect.driver, dialect.paramstyle)] = compiled
        return compiled


class _Compiled:
    """A statement compiled for one database: its SQL, the order its parameters go in, the
    values it binds itself, and the bind processors of the parameters given."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql = str(compiled)
        self.order = compiled.positiontup if compiled.positional else None  # else by name
        self.constants: dict[str, Any] = {}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if not bind.required:
                value = bind.effective_value
                self.constants[name] = process(value) if process else value
            elif process:
                self.processors[name] = process
        self.given = {name for name, bind in compiled.binds.items() if bind.required}
        self.row = namedtuple("Row", [column.key for column in statement.exported_columns])

    def values(self, params: Mapping[str, Any]) -> Any:
        missing = self.given.difference(params)
        if missing:
            raise KeyError(f"no value for {', '.join(sorted(missing))}")
        merged = {**self.constants, **params}
        for name, process in self.processors.items():
            merged[name] = process(merged[name])
        if self.order is not None:
            return tuple(merged[name] for name in self.order)
        return merged


def _run_on_its_own(engine: Engine, sql: str, values: Any) -> tuple | None:
    """``sql`` on a pooled DBAPI connection of ``engine``, outside any transaction (see
    ``Prepared``): its first row."""
    dialect = engine.dialect
    pooled = engine.raw_connection()
    driver = pooled.dbapi_connection
    autocommit = dialect.name == "postgresql"  # SQLite's driver starts none of its own
    try:
        if autocommit:
            dialect.set_isolation_level(driver, "AUTOCOMMIT")
        try:
            cursor = driver.cursor()
            try:
                cursor.execute(sql, values)
                return cursor.fetchone()
            finally:
                cursor.close()
        finally:
            if autocommit:
                dialect.reset_isolation_level(driver)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver, None)
        if lost:
            pooled.invalidate(error)
        raise DBAPIError.instance(sql, values, error, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect) from error
    finally:
        pooled.close()


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
