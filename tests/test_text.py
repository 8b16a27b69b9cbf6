"""The one rule for short texts people type (dap.text.clean_text), and through HTTP: a NUL
or other control character never reaches the database (PostgreSQL refuses a NUL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dap.errors import DomainError
from dap.extensions import db
from dap.plans.models import PlanGoal
from dap.text import clean_text
from tests.conftest import post_form


def test_clean_text_trims_normalises_line_ends_and_drops_control_characters():
    assert clean_text("  a\r\nb\rc\x00\x07\x1b\tend  ", field="f", max_len=50,
                      label="x") == "a\nb\nc\tend"
    assert clean_text(None, field="f", max_len=5, label="x") == ""


def test_clean_text_refuses_empty_when_required_and_too_long():
    with pytest.raises(DomainError) as error:
        clean_text(" \x00 ", field="title", max_len=5, label="a title", required=True)
    assert (error.value.message, error.value.field) == ("Enter a title.", "title")
    with pytest.raises(DomainError) as error:
        clean_text("ü" * 6, field="title", max_len=5, label="a title")
    assert error.value.message == "Use at most 5 characters (this has 6)."


def test_a_goal_title_with_a_nul_is_stored_without_it(app, world, role_client):
    me = role_client("participant")
    response = post_form(me, f"/cohorts/{world['cohort']}/plan/goals/new",
                         {"title": "Run a\x00 poll", "why": "Because\x1b"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(select(PlanGoal.title, PlanGoal.why)).one() == (
            "Run a poll", "Because")
