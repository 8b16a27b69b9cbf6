"""Fixtures of the cohort feed's tests."""

from __future__ import annotations

import pytest

from dap.cohorts.models import Cohort, CohortRole
from dap.extensions import db
from tests import factories


@pytest.fixture
def other_participant(app, world, login_as):
    """A second participant of the world's cohort: (user id, signed-in client)."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        person = factories.make_user(name="Jordan Lee")
        factories.add_member(cohort, person, CohortRole.PARTICIPANT)
        db.session.commit()
        return person.id, login_as(person)
