"""The weekly target, the rhythm, and pausing without penalty."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from dap.extensions import db
from dap.plans.models import Plan
from tests.conftest import post_form


def plan_of(app, world) -> Plan | None:
    """The participant's plan as saved (None until something was saved)."""
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.participant_id == world["participant"]))
        if plan is not None:
            db.session.expunge(plan)
        return plan


def test_participant_sets_target_and_rhythm(app, world, role_client):
    client = role_client("participant")
    page = client.get(f"/cohorts/{world['cohort']}/plan/rhythm")
    assert page.status_code == 200
    response = post_form(client, f"/cohorts/{world['cohort']}/plan/rhythm", {
        "days_per_week": "3", "rhythm_days": ["1", "3", "1"], "rhythm_time": "12:30",
        "rhythm_minutes": "20"})
    assert response.status_code == 302
    plan = plan_of(app, world)
    assert plan.days_per_week == 3
    assert plan.rhythm_days == [1, 3]
    assert plan.rhythm_time == "12:30"
    assert plan.rhythm_minutes == 20
    body = client.get(f"/cohorts/{world['cohort']}/plan").get_data(as_text=True)
    assert "at least 3 days a week" in body
    assert "Tuesday and Thursday at 12:30" in body


@pytest.mark.parametrize(("data", "message"), [
    ({"days_per_week": "0"}, "1 to 7 days"),
    ({"days_per_week": "8"}, "1 to 7 days"),
    ({"days_per_week": "many"}, "whole number"),
    ({"days_per_week": "2", "rhythm_time": "25:00"}, "a time like 09:30"),
    ({"days_per_week": "2", "rhythm_time": "noon"}, "a time like 09:30"),
    ({"days_per_week": "2", "rhythm_days": ["9"]}, "is not a valid choice"),
    ({"days_per_week": "2", "rhythm_minutes": "500"}, "5 to 120 minutes"),
])
def test_rhythm_bad_input(app, world, role_client, data, message):
    response = post_form(role_client("participant"), f"/cohorts/{world['cohort']}/plan/rhythm",
                         data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_pause_then_resume(app, world, role_client, frozen):
    frozen(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday
    client = role_client("participant")
    response = post_form(client, f"/cohorts/{world['cohort']}/plan/pause",
                         {"until": "2026-12-01", "reason": "Annual leave"})
    assert response.status_code == 302
    plan = plan_of(app, world)
    assert plan.paused_from == date(2026, 11, 18)
    assert plan.paused_until == date(2026, 12, 1)
    body = client.get(f"/cohorts/{world['cohort']}/plan").get_data(as_text=True)
    assert "Paused until Tuesday 1 December" in body
    assert post_form(client, f"/cohorts/{world['cohort']}/plan/resume").status_code == 302
    plan = plan_of(app, world)
    assert plan.paused_from is None or plan.paused_until < date(2026, 11, 18)


@pytest.mark.parametrize(("data", "message"), [
    ({"until": "", "reason": "Leave"}, "Choose the day your pause ends"),
    ({"until": "2026-11-01", "reason": "Leave"}, "today or a later day"),
    ({"until": "2027-06-01", "reason": "Leave"}, "up to three months"),
    ({"until": "2026-12-01", "reason": ""}, "Enter a reason"),
    ({"until": "not a date", "reason": "Leave"}, "Not a valid date"),
])
def test_pause_bad_input(app, world, role_client, frozen, data, message):
    frozen(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))
    response = post_form(role_client("participant"), f"/cohorts/{world['cohort']}/plan/pause",
                         data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    saved = plan_of(app, world)
    assert saved is None or saved.paused_until is None


def test_a_paused_week_keeps_the_streak(app, world, frozen):
    from dap.accounts.models import User
    from dap.cohorts.models import Cohort
    from dap.plans import services

    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date = date(2026, 10, 1)
        user = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, user)
        goal = services.write_goal(plan, actor=user, title="Listen online")
        for day in (date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 16), date(2026, 11, 18)):
            frozen(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
            services.check_in(goal, actor=user, progress=None, minutes=15, note="")
        services.pause_plan(plan, actor=user, until=date(2026, 11, 15), reason="Ill",
                            today=date(2026, 11, 9))
        assert services.streak(plan, today=date(2026, 11, 18)) == 2
        assert services.is_paused(plan, today=date(2026, 11, 10))
        assert not services.is_paused(plan, today=date(2026, 11, 16))
        plan.paused_from = plan.paused_until = None
        assert services.streak(plan, today=date(2026, 11, 18)) == 1  # the gap breaks it
        db.session.rollback()


def test_rhythm_and_pause_are_for_the_participant_only(world, role_client):
    for role in ("patron", "facilitator"):
        client = role_client(role)
        assert client.get(f"/cohorts/{world['cohort']}/plan/rhythm").status_code == 404
        assert post_form(client, f"/cohorts/{world['cohort']}/plan/pause",
                         {"until": "2030-01-01", "reason": "x"}).status_code == 404
