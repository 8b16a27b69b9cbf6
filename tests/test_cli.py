"""The command line: create-user, demo and backup, run as `flask --app dap …` would."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dap import create_app
from dap.accounts.models import User
from dap.extensions import db
from tests import factories
from tests.conftest import sign_in, test_overrides

DEMO_PASSWORD = "dap-demo-2026"
DEMO_ACCOUNTS = ["admin@example.org", "facilitator@example.org", "patron@example.org",
                 "participant@example.org"]


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User)) or 0


def get_user(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def is_sqlite(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def make_users(app, *emails: str) -> None:
    with app.app_context():
        for email in emails:
            factories.make_user(email=email)
        db.session.commit()


# --- create-user -----------------------------------------------------------------------------


def create_user(runner, *args: str, **kwargs):
    return runner.invoke(args=["create-user", *args], **kwargs)


def test_create_user_creates_an_account_that_can_sign_in(app, runner):
    result = create_user(runner, "--email", " Ada.Lovelace@Example.ORG ", "--name", "Ada Lovelace",
                         "--password", "analytical engine", "--admin")
    assert result.exit_code == 0, result.output
    user = get_user(app, "ada.lovelace@example.org")
    assert user is not None
    assert result.output.strip() == f"Created user {user.id} <ada.lovelace@example.org>"
    assert user.name == "Ada Lovelace"
    assert user.is_admin is True
    assert user.is_facilitator is False
    assert user.timezone == app.config["DEFAULT_TIMEZONE"]
    assert "analytical engine" not in user.password_hash
    response = sign_in(app.test_client(), "ada.lovelace@example.org", "analytical engine")
    assert response.status_code == 302


def test_create_user_through_the_real_flask_command(app, database_url, tmp_path):
    """`flask --app dap create-user` in its own process, as an operator runs it."""
    env = {**os.environ, "DAP_DATABASE_URL": database_url, "DAP_INSTANCE_PATH": str(tmp_path),
           "DAP_SCHEDULER": "off", "DAP_ENV": "development"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "dap", "create-user", "--email",
         "operator@example.org", "--name", "Olu Operator", "--password", "from the shell"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "<operator@example.org>" in result.stdout
    assert sign_in(app.test_client(), "operator@example.org", "from the shell").status_code == 302


def test_create_user_prompts_for_the_password_twice(app, runner):
    result = create_user(runner, "--email", "sam@example.org", "--name", "Sam", "--facilitator",
                         input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output  # hidden input
    user = get_user(app, "sam@example.org")
    assert user is not None
    assert user.is_facilitator is True
    assert sign_in(app.test_client(), "sam@example.org", "a long password").status_code == 302


def test_create_user_with_a_used_email_fails_clearly(app, runner):
    make_users(app, "taken@example.org")
    result = create_user(runner, "--email", "TAKEN@example.org", "--name", "Someone Else",
                         "--password", "another password")
    assert result.exit_code != 0
    assert ("Invalid value for '--email': An account with this email address already exists."
            in result.output)
    assert "Traceback" not in result.output
    assert user_count(app) == 1


def test_create_user_with_a_bad_email_fails_clearly(app, runner):
    result = create_user(runner, "--email", "not-an-address", "--name", "Nobody",
                         "--password", "a long password")
    assert result.exit_code != 0
    assert "Invalid value for '--email': Enter an email address like name@example.org." in result.output
    assert user_count(app) == 0


def test_create_user_with_a_short_password_fails_clearly(app, runner):
    result = create_user(runner, "--email", "short@example.org", "--name", "Shorty",
                         "--password", "tiny")
    assert result.exit_code != 0
    assert "Invalid value for '--password': Use at least 10 characters." in result.output
    assert get_user(app, "short@example.org") is None


def test_create_user_needs_email_and_name(app, runner):
    result = create_user(runner, "--name", "No Email", "--password", "a long password")
    assert result.exit_code == 2
    assert "Missing option '--email'" in result.output
    assert user_count(app) == 0


# --- demo ------------------------------------------------------------------------------------


def test_demo_loads_the_documented_accounts_into_an_empty_database(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded" in result.output
    assert "participant@example.org" in result.output

    assert get_user(app, "admin@example.org").is_admin is True
    assert get_user(app, "facilitator@example.org").is_facilitator is True
    for email in DEMO_ACCOUNTS:
        response = sign_in(app.test_client(), email, DEMO_PASSWORD)
        assert response.status_code == 302, (email, response.get_data(as_text=True)[:300])


def test_demo_twice_loads_nothing_the_second_time(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    before = user_count(app)
    assert before >= len(DEMO_ACCOUNTS)

    again = runner.invoke(args=["demo"])

    assert again.exit_code == 0
    assert f"The database already has {before} user(s); demo data not loaded." in again.output
    assert user_count(app) == before


def test_demo_does_not_touch_a_database_that_has_users(app, runner):
    make_users(app, "real.person@example.org")
    result = runner.invoke(args=["demo"])
    assert "demo data not loaded" in result.output
    assert user_count(app) == 1
    assert get_user(app, "participant@example.org") is None


# --- backup ----------------------------------------------------------------------------------


def test_backup_of_the_test_database(app, runner, tmp_path):
    """Whichever database this run uses: SQLite is copied; PostgreSQL is pointed at pg_dump."""
    make_users(app, "kept@example.org")
    target = tmp_path / "backups" / "dap.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    if is_sqlite(app):
        assert result.exit_code == 0, result.output
        assert target.is_file()
        assert "1 users, integrity ok" in result.output
    else:
        assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        assert result.exit_code != 0
        assert "pg_dump" in result.output
        assert not target.exists()


@pytest.fixture
def sqlite_only(app):
    if not is_sqlite(app):
        pytest.skip("`backup` copies SQLite files; this run uses PostgreSQL (see the pg_dump tests)")


def test_sqlite_backup_passes_integrity_check_and_restores(app, runner, tmp_path, sqlite_only):
    make_users(app, "ada@example.org", "grace@example.org")
    backup = tmp_path / "backups" / "nested" / "dap-backup.sqlite3"

    result = runner.invoke(args=["backup", str(backup)])

    assert result.exit_code == 0, result.output
    assert f"Backed up to {backup}" in result.output
    assert "2 users, integrity ok" in result.output
    with closing(sqlite3.connect(backup)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        emails = sorted(row[0] for row in conn.execute("SELECT email FROM users"))
    assert emails == ["ada@example.org", "grace@example.org"]

    # The restore check: an app pointed at the backup file reads the same accounts.
    restored = create_app(test_overrides(f"sqlite:///{backup}", tmp_path / "restored"))
    with restored.app_context():
        try:
            users = db.session.scalars(select(User).order_by(User.email)).all()
            assert [u.email for u in users] == ["ada@example.org", "grace@example.org"]
            assert all(u.password_hash.startswith("$argon2id$") for u in users)
        finally:
            db.session.remove()
            db.engine.dispose()


def test_sqlite_backup_refuses_to_overwrite_an_existing_file(app, runner, tmp_path, sqlite_only):
    existing = tmp_path / "precious.sqlite3"
    existing.write_bytes(b"yesterday's backup")
    result = runner.invoke(args=["backup", str(existing)])
    assert result.exit_code != 0
    assert "already exists; choose a new file name" in result.output
    assert existing.read_bytes() == b"yesterday's backup"


def test_backup_of_a_missing_sqlite_file_creates_nothing(tmp_path):
    missing = tmp_path / "no-such-dir" / "missing.sqlite3"
    app = create_app(test_overrides(f"sqlite:///{missing}", tmp_path))
    target = tmp_path / "backup.sqlite3"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code != 0
    assert "does not exist" in result.output
    assert not target.exists()
    assert not missing.exists()  # and no empty database was created in its place


def test_backup_of_postgresql_points_to_pg_dump_without_the_password(tmp_path):
    url = "postgresql+psycopg://dap:s3cret@db.example.org:5432/dap_prod"
    app = create_app(test_overrides(url, tmp_path))
    target = tmp_path / "backup.sqlite3"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code != 0
    assert "pg_dump --format=custom --file=dap.dump 'postgresql://dap@db.example.org:5432/dap_prod'" \
        in result.output
    assert "pg_restore" in result.output
    assert "s3cret" not in result.output
    assert "+psycopg" not in result.output  # pg_dump does not understand SQLAlchemy driver names
    assert not Path(target).exists()
