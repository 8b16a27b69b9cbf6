"""Helpers for the event tests: a frozen clock, participants, scheduling through the form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dap.cohorts.models import CohortRole
from dap.extensions import db
from tests import factories
from tests.conftest import post_form

#: a Monday; the UK clocks go forward on Sunday 28 March 2027
T0 = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)

FORM = {"kind": "workshop", "title": "Writing for screens", "description": "Bring a laptop.",
        "day": "2027-03-20", "starts": "10:00", "ends": "12:00", "mode": "in_person",
        "venue": "Room 4", "address": "1 High Street", "join_url": "", "capacity": "",
        "rsvp_deadline": "", "repeat": "0", "count": ""}


@pytest.fixture(autouse=True)
def at_t0(frozen):
    frozen(T0)


@pytest.fixture
def schedule(role_client, world):
    """``schedule(**changes)`` posts the event form as the facilitator; the response."""
    facilitator = role_client("facilitator")

    def post(**changes):
        return post_form(facilitator, f"/cohorts/{world['cohort']}/events/new",
                         {**FORM, **changes})

    return post


@pytest.fixture
def participants(app, world, login_as):
    """``participants(n)`` → n new participants of the world's cohort, each a signed-in
    client, with their user ids as ``client.user_id``."""
    from dap.accounts.models import User
    from dap.cohorts.models import Cohort

    def make(n: int):
        clients = []
        with app.app_context():
            cohort = db.session.get(Cohort, world["cohort"])
            users = [factories.make_user() for _ in range(n)]
            for user in users:
                factories.add_member(cohort, user, CohortRole.PARTICIPANT)
            db.session.commit()
            users = [db.session.get(User, user.id) for user in users]
            db.session.expunge_all()
        # each sign-in outside the app context: a shared one would share ``g`` (and the
        # CSRF token cached there) between the clients
        for user in users:
            client = login_as(user)
            client.user_id = user.id
            clients.append(client)
        return clients

    return make


def answer(client, cohort_id: int, event_id: int, yes: bool):
    return post_form(client, f"/cohorts/{cohort_id}/events/{event_id}/answer",
                     {"answer": "yes" if yes else "no"})
