"""Helpers for the time-cap tests: a participant's heartbeats with the clock frozen."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.extensions import db
from dap.timecap.models import PlatformDay
from tests.conftest import csrf_token
from tests.plans.conftest import own_goal  # noqa: F401 - a fixture shared with the plan tests


class Tab:
    """A browser tab of a signed-in client: its beats go out at the frozen times given."""

    def __init__(self, client, frozen) -> None:
        self.client = client
        self.frozen = frozen
        self.token: str | None = None

    def open(self, at: datetime) -> None:
        """Load a page at ``at`` (a page request is a beat too) and keep its CSRF token."""
        self.frozen(at)
        self.token = csrf_token(self.client)

    def beat(self, at: datetime):
        self.frozen(at)
        return self.client.post("/time/heartbeat", headers={"X-CSRFToken": self.token})

    def beats(self, start: datetime, count: int, every: int = 30) -> None:
        for n in range(count):
            response = self.beat(start + timedelta(seconds=every * n))
            assert response.status_code == 200, response.status_code


@pytest.fixture
def tab(role_client, frozen):
    """``tab(role="participant")`` → a Tab of a new client signed in as that role."""
    return lambda role="participant": Tab(role_client(role), frozen)


@pytest.fixture
def platform_seconds(app):
    """``platform_seconds(user_id)`` → total seconds stored, and per day with ``by_day``."""

    def total(user_id: int, *, by_day: bool = False):
        with app.app_context():
            if by_day:
                return {row.day: row.seconds for row in db.session.scalars(
                    select(PlatformDay).where(PlatformDay.user_id == user_id))}
            return db.session.scalar(select(func.coalesce(func.sum(PlatformDay.seconds), 0))
                                     .where(PlatformDay.user_id == user_id))

    return total
