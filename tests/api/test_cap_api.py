"""The time cap through the API: the same rule as the web pages (reading the platform is
refused once the week's platform time is used up; logging web time is always open and
lifts the cap), and API calls are not platform time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Membership
from dap.extensions import db
from dap.timecap import services
from dap.timecap.models import PlatformDay

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def capped(app, world, frozen):
    """The participant has spent 2 minutes on DAP this week; the cohort allows 1 minute
    of grace and at most 5 (half of learning time on the web)."""
    frozen(NOW)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes, cohort.platform_minutes_per_week = 1, 5
        cohort.start_date = date(2026, 9, 1)
        db.session.add(PlatformDay(user_id=world["participant"], day=date(2026, 11, 17),
                                   seconds=120, last_beat=0))
        db.session.commit()


def _platform_seconds(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(PlatformDay.seconds), 0))
                                 .where(PlatformDay.user_id == user_id))


@pytest.mark.parametrize("path", ["/goals", "/check-ins"])
def test_reading_the_platform_is_refused_when_capped(api, capped, path):
    response = api("participant").get(path)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "platform_cap_reached"
    assert (body["platform_minutes"], body["allowance_minutes"], body["web_minutes"]) == (2, 1, 0)


@pytest.mark.parametrize("path", ["/me", "/time", "/web-activities"])
def test_what_stays_open_when_capped(api, capped, path):
    assert api("participant").get(path).status_code == 200


def test_the_time_summary_says_capped(api, capped):
    summary = api("participant").get("/time").get_json()
    assert summary["capped"] is True
    assert summary["week_starts"] == "2026-11-16"
    assert (summary["platform_minutes"], summary["allowance_minutes"]) == (2, 1)
    assert summary["web_minutes_to_full_allowance"] == 4


def test_logging_web_time_lifts_the_cap_at_once(api, capped):
    client = api("participant")
    logged = client.post("/web-activities", json={"kind": "tried", "title": "A video call app",
                                                   "minutes": 30})
    assert logged.status_code == 201
    summary = client.get("/time").get_json()
    assert summary["capped"] is False
    assert summary["web_minutes"] == 30
    assert client.get("/goals").status_code == 200


def test_writes_are_never_turned_away(api, capped):
    """As on the web: what was written is not lost because the cap was reached meanwhile."""
    assert api("participant").post("/goals", json={"title": "Order a repeat prescription"}
                                    ).status_code == 201


def test_an_exempt_participant_is_never_capped(app, api, world, capped):
    with app.app_context():
        membership = db.session.get(Membership, world["participant_membership"])
        services.set_exemption(membership, actor=db.session.get(User, world["facilitator"]),
                               exempt=True, reason="Uses a screen reader")
        db.session.commit()
    client = api("participant")
    assert client.get("/goals").status_code == 200
    assert client.get("/time").get_json()["exempt"] is True


def test_api_calls_are_not_platform_time(app, api, world, frozen):
    client = api("participant")
    for second in range(0, 300, 20):
        frozen(datetime(2026, 11, 18, 10, 0, second % 60, tzinfo=UTC).replace(
            minute=second // 60))
        assert client.get("/goals").status_code == 200
    assert _platform_seconds(app, world["participant"]) == 0


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin"])
def test_others_are_not_measured(api, role):
    summary = api(role).get("/time").get_json()
    assert summary["measured"] is False
    assert summary["capped"] is False
    assert summary["platform_minutes"] is None
