"""Check-in reminders at the participant's rhythm and the week's one last-chance message:
when they go, when they do not, once each, across the clocks changing, set-based."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Membership, MembershipStatus
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from dap.plans import services
from dap.plans.models import Plan
from dap.plans.reminders import remind_check_ins
from tests import factories
from tests.conftest import counting_queries

#: Monday 2 March 2026 (London on GMT: local time is UTC)
MONDAY = date(2026, 3, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def plan(app, world):
    """The world participant's plan: target 2 days a week, rhythm Monday and Thursday at
    18:00 for 20 minutes, with one goal; the cohort runs all year."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date, cohort.end_date = date(2026, 1, 1), date(2026, 12, 31)
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, person)
        services.set_rhythm(plan, days_per_week=2, rhythm_days=[0, 3], rhythm_time="18:00",
                            rhythm_minutes=20)
        goal = services.write_goal(plan, actor=person, title="Try a poll")
        db.session.commit()
        return {"plan": plan.id, "goal": goal.id}


def run(app, frozen, when: datetime) -> list[str]:
    """One pass of the scan at ``when``; the dedup keys it stored."""
    frozen(when)
    with app.app_context():
        before = set(db.session.scalars(select(Notification.dedup_key)))
        remind_check_ins(now=when)
        db.session.commit()
        after = set(db.session.scalars(select(Notification.dedup_key)))
    return sorted(after - before)


def check_in(app, world, plan, when: datetime, frozen) -> None:
    frozen(when)
    with app.app_context():
        from dap.plans.models import PlanGoal

        goal = db.session.get(PlanGoal, plan["goal"])
        services.check_in(goal, actor=db.session.get(User, world["participant"]), progress=10,
                          minutes=15, note="")
        db.session.commit()


def edit_plan(app, plan, **values) -> None:
    with app.app_context():
        row = db.session.get(Plan, plan["plan"])
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def test_the_reminder_goes_at_the_chosen_time_once(app, world, plan, frozen):
    p = plan["plan"]
    assert run(app, frozen, at(MONDAY, 17, 59)) == []
    assert run(app, frozen, at(MONDAY, 18, 0)) == [f"reminder:checkin:{p}:2026-03-02"]
    assert run(app, frozen, at(MONDAY, 18, 5)) == []
    assert run(app, frozen, at(MONDAY + timedelta(days=1), 18, 0)) == []  # Tuesday: not chosen
    with app.app_context():
        note = db.session.scalar(select(Notification).where(
            Notification.kind == NotificationKind.CHECKIN_REMINDER))
        assert note.user_id == world["participant"]
        assert "20 minutes" in note.body
        assert note.link == f"/cohorts/{world['cohort']}/plan"


def test_a_late_scheduler_sends_no_stale_reminder(app, world, plan, frozen):
    assert run(app, frozen, at(MONDAY, 21, 0)) == []  # three hours after 18:00


def test_no_reminder_once_they_have_checked_in_today(app, world, plan, frozen):
    check_in(app, world, plan, at(MONDAY, 9, 0), frozen)
    assert run(app, frozen, at(MONDAY, 18, 0)) == []


def test_no_reminder_while_paused_or_away(app, world, plan, frozen):
    edit_plan(app, plan, paused_from=MONDAY, paused_until=MONDAY + timedelta(days=3))
    assert run(app, frozen, at(MONDAY, 18, 0)) == []
    edit_plan(app, plan, paused_from=None, paused_until=None)
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert run(app, frozen, at(MONDAY, 18, 0)) == []
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = False
        membership = db.session.get(Membership, world["participant_membership"])
        membership.status = MembershipStatus.REMOVED
        db.session.commit()
    assert run(app, frozen, at(MONDAY, 18, 0)) == []


def test_the_cohort_time_zone_sets_the_time(app, world, plan, frozen):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).timezone = "America/New_York"
        db.session.commit()
    assert run(app, frozen, at(MONDAY, 18, 0)) == []  # 13:00 in New York
    assert run(app, frozen, at(MONDAY, 23, 0)) == [f"reminder:checkin:{plan['plan']}:2026-03-02"]


def test_last_chance_once_a_week_in_the_morning(app, world, plan, frozen):
    p = plan["plan"]
    edit_plan(app, plan, days_per_week=3, rhythm_days=[4])  # Friday at 18:00
    friday = MONDAY + timedelta(days=4)
    assert run(app, frozen, at(friday - timedelta(days=1), 9, 0)) == []  # Thursday: 4 days left
    assert run(app, frozen, at(friday, 7, 59)) == []
    assert run(app, frozen, at(friday, 8, 0)) == [f"reminder:lastchance:{p}:2026-03-02"]
    assert run(app, frozen, at(friday, 8, 5)) == []
    assert run(app, frozen, at(friday, 18, 0)) == []  # no rhythm reminder the same day
    check_in(app, world, plan, at(friday, 19, 0), frozen)
    # Saturday: 2 needed, 2 left: it can still only just be met, but one message a week.
    assert run(app, frozen, at(friday + timedelta(days=1), 9, 0)) == []
    with app.app_context():
        note = db.session.scalar(select(Notification).where(
            Notification.kind == NotificationKind.LAST_CHANCE))
        assert "0 of your 3 days" in note.body


def test_no_last_chance_when_the_target_is_met_or_easy(app, world, plan, frozen):
    friday = MONDAY + timedelta(days=4)
    check_in(app, world, plan, at(MONDAY, 9, 0), frozen)
    check_in(app, world, plan, at(MONDAY + timedelta(days=1), 9, 0), frozen)
    assert run(app, frozen, at(friday + timedelta(days=2), 9, 0)) == []  # target met
    edit_plan(app, plan, days_per_week=1)
    assert run(app, frozen, at(MONDAY + timedelta(days=7), 9, 0)) == []  # 7 days for 1


@pytest.mark.parametrize(("sunday", "rhythm", "expected_utc"), [
    # 29 March: at 01:00 UTC London jumps from 01:00 GMT to 02:00 BST; 01:30 never happens
    # on the wall clock, so the reminder goes as the clock jumps past it.
    (date(2026, 3, 29), "01:30", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    # 25 October: 01:00–02:00 happens twice (BST, then GMT): the first 01:30 only.
    (date(2026, 10, 25), "01:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    (date(2026, 10, 25), "09:00", datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
])
def test_the_clocks_changing_neither_loses_nor_doubles_a_reminder(
        app, world, plan, frozen, sunday, rhythm, expected_utc):
    edit_plan(app, plan, rhythm_days=[6], rhythm_time=rhythm, days_per_week=1)
    check_in(app, world, plan, at(sunday - timedelta(days=2), 12, 0), frozen)  # target met
    sent = []
    moment = at(sunday - timedelta(days=1), 22, 0)
    while moment < at(sunday, 12, 0):
        if run(app, frozen, moment):
            sent.append(moment)
        moment += timedelta(minutes=5)
    assert sent == [expected_utc]


def test_running_the_jobs_twice_sends_once(app, world, plan, frozen, runner):
    frozen(at(MONDAY, 18, 10))
    for _ in range(2):
        result = runner.invoke(args=["jobs", "run-due"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        keys = db.session.scalars(select(Notification.dedup_key).where(
            Notification.kind == NotificationKind.CHECKIN_REMINDER)).all()
    assert keys == [f"reminder:checkin:{plan['plan']}:2026-03-02"]


def test_the_scan_costs_the_same_statements_for_3_or_30_plans(app, frozen):
    def arrange(n: int) -> None:
        with app.app_context():
            cohort = factories.make_cohort(start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
            for _ in range(n):
                person = factories.make_user()
                factories.add_member(cohort, person, factories.CohortRole.PARTICIPANT)
                plan = services.plan_for(cohort, person)
                services.set_rhythm(plan, days_per_week=2, rhythm_days=[0], rhythm_time="18:00",
                                    rhythm_minutes=15)
            db.session.commit()

    def statements(when: datetime) -> int:
        with counting_queries(app) as seen:
            run(app, frozen, when)
        return len(seen)

    arrange(3)
    few = statements(at(MONDAY, 18, 0))
    arrange(30)
    many = statements(at(MONDAY + timedelta(days=7), 18, 0))
    assert few == many
