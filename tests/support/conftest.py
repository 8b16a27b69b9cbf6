"""Helpers for the 1:1 support tests: a frozen clock, participants, publishing through the
form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import post_form
from tests.events.conftest import participants  # noqa: F401 - the same fixture serves here

#: a Monday; the UK clocks go forward on Sunday 28 March 2027
T0 = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)

BLOCK = {"day": "2027-03-17", "starts": "10:00", "ends": "12:00", "slot_minutes": "30",
         "buffer_minutes": "0", "mode": "in_person", "place": "Room 4", "join_url": "",
         "book_until_minutes": "60", "cancel_until_minutes": "120"}


@pytest.fixture(autouse=True)
def at_t0(frozen):
    frozen(T0)


@pytest.fixture
def publish(role_client, world):
    """``publish(**changes)`` posts the availability form as the facilitator."""
    facilitator = role_client("facilitator")

    def post(**changes):
        return post_form(facilitator, f"/cohorts/{world['cohort']}/support/new",
                         {**BLOCK, **changes})

    return post
