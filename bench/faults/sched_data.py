"""Databases for the scheduler fault scenarios, and what a scenario reads back from them.

``programme_database`` is a throwaway PostgreSQL database brought to the current schema by
``flask --app dap db upgrade`` and filled with the jobs bench's programme (see
sched_driver); ``cloned_database`` copies one (``CREATE DATABASE … TEMPLATE``), so a
control run starts from exactly the same rows, ids included. The readers return plain
rows: the outbox, the notifications, the job runs and the scheduler lease.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import gunicorn_bench as gb
from sched_driver import BASE_URL, MAIL_DOMAIN, Stepper
from sqlalchemy import create_engine, make_url, text

from dap.nudges.mail import message_id

#: the longest one ``flask --app dap jobs run-due`` may take (delivery alone may run for
#: MAIL_RUN_SECONDS, 45 s, and then finish its batch)
RUN_DUE_TIMEOUT = 150


def migrate(database_url: str, workdir: Path) -> None:
    """``flask --app dap db upgrade`` on ``database_url``, as a deployment runs it."""
    gb.flask_cli(gb.app_environment(database_url, workdir, gb.free_port()), "db", "upgrade")


@contextlib.contextmanager
def programme_database(pg_server: str, workdir: Path, participants: int) -> Iterator[str]:
    """A throwaway database with the schema and the programme for ``participants``; yields
    its URL and drops it on the way out."""
    with gb.throwaway_database("postgresql", workdir, pg_server) as url:
        migrate(url, workdir)
        with Stepper(url, workdir, runner="seed") as seeder:
            seeder.seed(participants)
        yield url


def cli_environment(database_url: str, workdir: Path, mail_url: str = "") -> dict[str, str]:
    """The environment of a ``flask --app dap …`` process on ``database_url``: production
    settings (gunicorn_bench.app_environment), the drivers' public address (so Message-IDs
    match sched_driver's) and ``mail_url`` as the SMTP server."""
    env = gb.app_environment(database_url, workdir, gb.free_port())
    env.update({"DAP_BASE_URL": BASE_URL, "DAP_MAIL_URL": mail_url})
    return env


def start_run_due(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``flask --app dap jobs run-due`` in the background, its output going to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "flask", "--app", "dap", "jobs", "run-due"], cwd=gb.ROOT,
            env=env, stdout=out, stderr=subprocess.STDOUT)


def run_due(env: dict[str, str], log: Path) -> tuple[int, str]:
    """``flask --app dap jobs run-due`` to its end: its exit code and the line of its
    delivery run (``deliver_outbox: ok in … — sent …``)."""
    process = start_run_due(env, log)
    try:
        code = process.wait(timeout=RUN_DUE_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    lines = log.read_text(errors="replace").splitlines()
    delivery = [line for line in lines if line.startswith("deliver_outbox:")]
    return code, delivery[-1] if delivery else "(no delivery line)"


@contextlib.contextmanager
def cloned_database(pg_server: str, source_url: str) -> Iterator[str]:
    """A copy of ``source_url``'s database (nobody may be connected to it meanwhile);
    yields its URL and drops it on the way out."""
    with gb.postgres_database(pg_server, "dap_fault", make_url(source_url).database) as url:
        yield url


def query(database_url: str, sql: str, **params: Any) -> list[Any]:
    """Rows of one statement, committed (so it may also change something)."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Email:
    """One outbox row."""

    id: int
    dedup_key: str
    kind: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    claimed_at: datetime | None
    sent_at: datetime | None

    @property
    def message_id(self) -> str:
        """The Message-ID its email carries on every attempt (dap.nudges.mail)."""
        return message_id(outbox_id=self.id, dedup_key=self.dedup_key, domain=MAIL_DOMAIN)


def emails(database_url: str) -> list[Email]:
    return [Email(*row) for row in query(
        database_url,
        "SELECT id, dedup_key, kind, status, attempts, created_at, next_attempt_at, "
        "claimed_at, sent_at FROM outbox_messages ORDER BY id")]


def notifications(database_url: str) -> dict[str, tuple[str, str]]:
    """dedup key -> (kind, email state) of every notification."""
    return {key: (kind, state) for key, kind, state in query(
        database_url, "SELECT dedup_key, kind, email_state FROM notifications")}


def job_runs(database_url: str) -> list[tuple[str, str, str]]:
    """(job id, runner, status) of every recorded run, oldest first."""
    return [tuple(row) for row in query(
        database_url, "SELECT job_id, runner, status FROM job_runs ORDER BY id")]


def lease_holder(database_url: str) -> tuple[str, datetime] | None:
    rows = query(database_url, "SELECT holder, expires_at FROM scheduler_leases "
                               "WHERE name = 'scheduler'")
    return (rows[0][0], rows[0][1]) if rows else None


def by_kind(rows: list[Email]) -> Counter[str]:
    return Counter(row.kind for row in rows)


def repeated(counts: Counter[str]) -> dict[str, int]:
    """The Message-IDs that arrived more than once, with how often."""
    return {key: n for key, n in counts.items() if n > 1}
