"""Command-line commands (``flask --app dap …``); each calls services and commits once."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url

from dap.accounts import services as accounts
from dap.accounts.models import User
from dap.demo_scale import COHORT_SIZE, MAX_PARTICIPANTS
from dap.errors import DomainError
from dap.extensions import db

jobs_cli = AppGroup("jobs", help="Run the periodic scans by hand (for cron and tests).")


def _hash_params() -> accounts.HashParams:
    return current_app.config["PASSWORD_HASH_PARAMS"] or accounts.HashParams()


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
@click.option("--admin", "is_admin", is_flag=True, help="Make the user an administrator.")
@click.option("--facilitator", "is_facilitator", is_flag=True,
              help="Make the user a site facilitator.")
def create_user_command(email: str, name: str, password: str, is_admin: bool,
                        is_facilitator: bool) -> None:
    """Create an account."""
    try:
        user = accounts.create_user(
            email=email, name=name, password=password, params=_hash_params(),
            timezone=current_app.config["DEFAULT_TIMEZONE"], is_admin=is_admin,
            is_facilitator=is_facilitator,
        )
    except DomainError as error:
        db.session.rollback()
        where = f"Invalid value for '--{error.field}': " if error.field else ""
        raise click.ClickException(f"{where}{error.message}") from None
    db.session.commit()
    click.echo(f"Created user {user.id} <{user.email}>")


@click.command("demo")
@with_appcontext
@click.option("--scale", type=click.IntRange(1, MAX_PARTICIPANTS), default=None, metavar="N",
              help="Instead: add N generated participants with a year of activity, for "
                   "load tests (test machines only: every account has the demo password).")
@click.option("--cohort-size", type=click.IntRange(1, 10_000), default=None,
              help=f"Participants per cohort with --scale (default {COHORT_SIZE}).")
def demo_command(scale: int | None, cohort_size: int | None) -> None:
    """Load the demo data into an empty database (does nothing if any user exists), or with
    --scale N add N generated participants for load tests (see docs/OPERATIONS.md)."""
    from dap.demo import load_demo

    if scale is None:
        if cohort_size is not None:
            raise click.UsageError("--cohort-size needs --scale.")
    else:
        _demo_at_scale(scale, cohort_size)
        return
    existing = db.session.scalar(select(func.count()).select_from(User)) or 0
    if existing:
        click.echo(f"The database already has {existing} user(s); demo data not loaded.")
        return
    summary = load_demo(params=_hash_params(), timezone=current_app.config["DEFAULT_TIMEZONE"])
    db.session.commit()
    click.echo(f"Demo data loaded: {summary}. Sign in as participant@example.org "
               "(password dap-demo-2026).")


def _demo_at_scale(participants: int, cohort_size: int | None) -> None:
    from dap import demo_scale
    from dap.demo import DEMO_PASSWORD

    if demo_scale.scale_data_present():
        raise click.ClickException(
            f"Scale data is already here ({demo_scale.participant_email(0)} exists); "
            "nothing added. Start from a fresh database to generate it again.")
    size = cohort_size or COHORT_SIZE
    started = time.perf_counter()

    def progress(done: demo_scale.CohortDone) -> None:
        click.echo(f"cohort {done.number}/{done.of}: {done.participants} participants, "
                   f"{done.rows:,} rows in {done.seconds:.1f} s")

    rows = demo_scale.load_scale(participants, params=_hash_params(), cohort_size=size,
                                 progress=progress)
    click.echo(f"Scale data loaded: {participants} participants, {sum(rows.values()):,} rows "
               f"in {time.perf_counter() - started:.1f} s:")
    for line in demo_scale.describe(rows):
        click.echo(line)
    click.echo(f"Sign in as {demo_scale.participant_email(0)}, {demo_scale.patron_email(0)} "
               f"or {demo_scale.facilitator_email(0)} (password {DEMO_PASSWORD}; every "
               "generated account shares it, so use this data on test machines only).")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the app keeps running (online backup)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    backend = url.get_backend_name()
    if backend == "postgresql":
        # pg_dump wants a libpq address: no "+psycopg" driver, and no password on the
        # command line (it reads PGPASSWORD or ~/.pgpass).
        # (URL.set(password=None) would keep the password, so build the address anew.)
        dsn = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                         database=url.database, query=url.query).render_as_string()
        raise click.ClickException(
            "This database is PostgreSQL, which `backup` does not copy. Use pg_dump:\n"
            f"  pg_dump --format=custom --file=dap.dump '{dsn}'\n"
            "(the password comes from PGPASSWORD or ~/.pgpass) and restore with pg_restore "
            "(see README, Backup and restore)."
        )
    if backend != "sqlite":
        raise click.ClickException(
            f"`backup` copies SQLite databases only; back up {backend} with its own tools."
        )
    source_path = db.engine.url.database
    if not source_path or source_path == ":memory:":
        raise click.ClickException("An in-memory database cannot be backed up.")
    if not Path(source_path).is_file():
        # sqlite3.connect would quietly create an empty database and "back up" that.
        raise click.ClickException(f"The database file {source_path} does not exist.")
    if path.exists():
        raise click.ClickException(f"{path} already exists; choose a new file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(str(path))
    try:
        with target:
            source.backup(target)
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
        users = target.execute("SELECT count(*) FROM users").fetchone()[0]
    except sqlite3.Error as error:
        target.close()
        path.unlink(missing_ok=True)  # never leave a half-written backup behind
        raise click.ClickException(f"The backup failed: {error}") from None
    finally:
        target.close()
        source.close()
    if check != "ok":
        raise click.ClickException(f"The backup failed its integrity check: {check}")
    click.echo(f"Backed up to {path} ({path.stat().st_size} bytes, {users} users, integrity ok)")


@jobs_cli.command("run-due")
def run_due_command() -> None:
    """Run one pass of every scan and print what each did."""
    from dap.jobs.runner import process_name, run_due

    runs = run_due(current_app._get_current_object(), runner=process_name("cli"))
    failed = False
    for run in runs:
        click.echo(f"{run.job_id}: {run.status} in {run.duration_ms} ms — {run.result or run.error}")
        failed = failed or run.status != "ok"
    if failed:
        sys.exit(1)


@jobs_cli.command("list")
def list_jobs_command() -> None:
    """List the registered scans."""
    from dap.jobs import registry

    for job in registry.JOBS:
        click.echo(f"{job.id}\tevery {job.seconds}s\t{job.description}")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in the foreground (its own process in production)."""
    from dap.jobs.scheduler import run_blocking

    run_blocking(current_app._get_current_object())


def register_commands(app: Flask) -> None:
    from dap.accounts.cli import token_cli
    from dap.content.cli import content_cli

    for command in (create_user_command, demo_command, backup_command, scheduler_command,
                    jobs_cli, content_cli, token_cli):
        app.cli.add_command(command)
