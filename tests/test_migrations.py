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
