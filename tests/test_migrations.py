"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from dap import create_app
from dap.extensions import db
from tests.conftest import drop_database, new_database_url, test_overrides


def _fresh_app(tmp_path):
    url = new_database_url(tmp_path)
    return url, create_app(test_overrides(url, tmp_path))


def test_upgrade_to_head_matches_the_models(tmp_path):
    url, app = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(
                    conn, opts={"compare_type": True, "render_as_batch": True}
                )
                diff = compare_metadata(context, db.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            tables = set(inspect(db.engine).get_table_names())
            assert {"users", "outbox_messages", "job_runs", "cohorts"} <= tables
            db.engine.dispose()
    finally:
        if url.startswith("postgresql"):
            drop_database(url)


def test_downgrade_to_base_and_back(tmp_path):
    url, app = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade()
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            assert "users" in inspect(db.engine).get_table_names()
            db.engine.dispose()
    finally:
        if url.startswith("postgresql"):
            drop_database(url)


def test_upgrade_keeps_existing_memberships_active(tmp_path):
    """Rows made before membership status existed stay usable after the upgrade."""
    from sqlalchemy import text

    url, app = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade(revision="92a438b0740f")
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO users (id, email, name, password_hash, timezone, is_admin, "
                    "is_facilitator, is_active, session_epoch, failed_logins, created_at) "
                    "VALUES (1, 'a@example.org', 'A', '', 'UTC', false, false, true, 0, 0, "
                    "CURRENT_TIMESTAMP)"))
                conn.execute(text(
                    "INSERT INTO organisations (id, name, is_archived, created_at) "
                    "VALUES (1, 'Org', false, CURRENT_TIMESTAMP)"))
                conn.execute(text(
                    "INSERT INTO cohorts (id, organisation_id, name, description, start_date, "
                    "end_date, timezone, is_volunteer, platform_minutes_per_week, web_share, "
                    "grace_minutes, silent_after_days, is_archived, created_at) VALUES (1, 1, "
                    "'C', '', '2026-01-01', '2026-03-01', 'UTC', false, 60, 0.5, 15, 10, false, "
                    "CURRENT_TIMESTAMP)"))
                conn.execute(text(
                    "INSERT INTO memberships (cohort_id, user_id, role, joined_at) "
                    "VALUES (1, 1, 'participant', CURRENT_TIMESTAMP)"))
            upgrade()
            with db.engine.connect() as conn:
                status = conn.execute(text("SELECT status FROM memberships")).scalar_one()
                managed = conn.execute(text("SELECT is_managed FROM users")).scalar_one()
            assert status == "active"
            assert not managed
            db.engine.dispose()
    finally:
        if url.startswith("postgresql"):
            drop_database(url)
