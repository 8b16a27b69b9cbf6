"""Plan rules without HTTP: the streak and the validators' edges."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dap.cohorts.models import CohortRole
from dap.errors import DomainError
from dap.extensions import db
from dap.plans import services
from dap.plans.models import CheckIn
from tests import factories

#: a Wednesday; its week starts on Monday 8 June 2026
TODAY = date(2026, 6, 10)
MONDAY = date(2026, 6, 8)


@pytest.fixture
def plan(ctx):
    cohort = factories.make_cohort(start_date=date(2026, 1, 5), end_date=date(2026, 12, 18))
    user = factories.make_user()
    factories.add_member(cohort, user, CohortRole.PARTICIPANT)
    plan = services.plan_for(cohort, user)
    plan.days_per_week = 2
    services.write_goal(plan, actor=user, title="Try things")
    return plan


def _days(plan, *days: date) -> None:
    goal = plan.goals[0]
    for day in days:
        db.session.add(CheckIn(goal=goal, plan_id=plan.id, local_date=day, minutes=10))
    db.session.flush()


def _week(weeks_ago: int, *weekdays: int) -> list[date]:
    monday = MONDAY - timedelta(weeks=weeks_ago)
    return [monday + timedelta(days=d) for d in weekdays]


def test_streak_counts_weeks_in_a_row_that_met_the_target(plan):
    _days(plan, *_week(3, 0, 2), *_week(2, 1, 4), *_week(1, 5, 6))
    assert services.streak(plan, today=TODAY) == 3


def test_this_week_counts_once_met(plan):
    _days(plan, *_week(1, 0, 1), *_week(0, 0, 1))
    assert services.streak(plan, today=TODAY) == 2


def test_the_current_week_not_yet_met_does_not_break_the_streak(plan):
    _days(plan, *_week(2, 0, 1), *_week(1, 0, 1), *_week(0, 1))
    assert services.streak(plan, today=TODAY) == 2


def test_a_week_below_target_breaks_the_streak(plan):
    _days(plan, *_week(4, 0, 1), *_week(3, 0, 1), *_week(2, 3), *_week(1, 0, 1))
    assert services.streak(plan, today=TODAY) == 1


def test_two_check_ins_on_one_day_count_as_one_day(plan):
    _days(plan, *_week(1, 2, 2))
    assert services.streak(plan, today=TODAY) == 0


def test_a_paused_week_does_not_break_the_streak(plan):
    _days(plan, *_week(4, 0, 1), *_week(3, 0, 1), *_week(1, 0, 1))
    plan.paused_from, plan.paused_until = _week(2, 0)[0], _week(2, 6)[0]
    assert services.streak(plan, today=TODAY) == 3


def test_no_check_ins_no_streak(plan):
    assert services.streak(plan, today=TODAY) == 0


def test_this_week_sums_minutes_and_days(plan):
    _days(plan, *_week(1, 0), *_week(0, 0, 0, 1))
    week = services.this_week(plan, today=TODAY)
    assert (week.days_active, week.check_ins, week.minutes) == (2, 3, 30)


def test_validate_target_date_edges(plan):
    cohort = plan.cohort
    assert services.validate_target_date(cohort, None) is None
    assert services.validate_target_date(cohort, cohort.start_date) == cohort.start_date
    last = cohort.end_date + services.TARGET_SLACK
    assert services.validate_target_date(cohort, last) == last
    with pytest.raises(DomainError) as error:
        services.validate_target_date(cohort, cohort.start_date - timedelta(days=1))
    assert error.value.field == "target_date"
    with pytest.raises(DomainError):
        services.validate_target_date(cohort, last + timedelta(days=1))


@pytest.mark.parametrize("value", [None, 1, 600])
def test_validate_minutes_accepts(value):
    assert services.validate_minutes(value) == value


@pytest.mark.parametrize("value", [0, -5, 601, True, "30", 1.5])
def test_validate_minutes_refuses(value):
    with pytest.raises(DomainError) as error:
        services.validate_minutes(value)
    assert error.value.field == "minutes"


@pytest.mark.parametrize("value", [None, 0, 100, 55])
def test_validate_progress_accepts(value):
    assert services.validate_progress(value) == value


@pytest.mark.parametrize("value", [-1, 101, False, "50", 50.0])
def test_validate_progress_refuses(value):
    with pytest.raises(DomainError) as error:
        services.validate_progress(value)
    assert error.value.field == "progress"


def test_a_refused_edit_keeps_the_check_in(plan):
    entry = services.check_in(plan.goals[0], actor=plan.participant, progress=20, minutes=5,
                              note="first")
    with pytest.raises(DomainError):
        services.edit_check_in(entry, progress=None, minutes=None, note="")
    assert (entry.progress, entry.minutes, entry.note) == (20, 5, "first")
