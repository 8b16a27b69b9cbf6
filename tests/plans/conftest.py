"""Helpers for the plan tests: the world's participant's plan, arranged through services."""

from __future__ import annotations

import pytest

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans import services


@pytest.fixture
def own_goal(app, world):
    """``own_goal(title=…, user=…)`` → the id of a goal written into that participant's plan
    (the world's participant by default) in the world's cohort."""

    def make(title: str = "Run a poll on our intranet", user: int | None = None) -> int:
        with app.app_context():
            cohort = db.session.get(Cohort, world["cohort"])
            person = db.session.get(User, user or world["participant"])
            plan = services.plan_for(cohort, person)
            goal = services.write_goal(plan, actor=person, title=title)
            db.session.commit()
            return goal.id

    return make
