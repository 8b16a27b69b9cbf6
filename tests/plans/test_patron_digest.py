"""The patron's Monday summary: Monday from 08:00 in the cohort's time zone, once a week,
with last week's figures for each person they look out for (never "only me" goals)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, PatronLink
from dap.extensions import db
from dap.nudges.models import EmailState, MessagePreference, Notification, NotificationKind, OutboxMessage
from dap.plans import services
from dap.plans.models import Plan, PlanGoal, Visibility
from dap.plans.patron_digest import send_patron_summaries
from dap.timecap.models import PlatformDay
from tests import factories
from tests.conftest import counting_queries

LAST_MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONDAY_8 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # London is on GMT


@pytest.fixture
def last_week(app, world, frozen):
    """The world participant's last week: check-ins on two days (15 minutes each), a goal
    finished, an "only me" goal finished, 20 minutes on DAP."""
    frozen(LAST_MONDAY)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date, cohort.end_date = date(2026, 1, 1), date(2026, 12, 31)
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, person)
        plan.days_per_week = 2
        shown = services.write_goal(plan, actor=person, title="Run a poll")
        hidden = services.write_goal(plan, actor=person, title="Secret plan",
                                     visibility=Visibility.PRIVATE)
        db.session.commit()
        ids = (shown.id, hidden.id, plan.id)
    for offset in (0, 2):
        frozen(LAST_MONDAY + timedelta(days=offset))
        with app.app_context():
            services.check_in(db.session.get(PlanGoal, ids[0]),
                              actor=db.session.get(User, world["participant"]), progress=50,
                              minutes=15, note="")
            db.session.commit()
    frozen(LAST_MONDAY + timedelta(days=3))
    with app.app_context():
        person = db.session.get(User, world["participant"])
        for goal_id in ids[:2]:
            services.complete_goal(db.session.get(PlanGoal, goal_id), actor=person,
                                   reflection="Done it", evidence=[])
        db.session.add(PlatformDay(user_id=person.id, day=date(2026, 3, 4), seconds=1200,
                                   last_beat=0))
        db.session.commit()
    return {"plan": ids[2]}


def summaries(app, frozen, when: datetime) -> int:
    frozen(when)
    with app.app_context():
        count = send_patron_summaries(now=when)
        db.session.commit()
        return count


def the_summary(app, user_id: int) -> Notification:
    with app.app_context():
        rows = list(db.session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == NotificationKind.PATRON_DIGEST)))
        db.session.expunge_all()
    assert len(rows) == 1
    return rows[0]


def test_the_patron_gets_last_weeks_summary_on_monday_morning_once(app, world, last_week,
                                                                    frozen):
    assert summaries(app, frozen, MONDAY_8 - timedelta(minutes=1)) == 0
    assert summaries(app, frozen, MONDAY_8) == 1
    note = the_summary(app, world["patron"])
    assert "Alex Participant: checked in on 2 of 2 days" in note.body
    assert "“Run a poll”" in note.body
    assert "Secret plan" not in note.body
    assert "30 min on the wider web, 20 on DAP" in note.body
    assert note.link == "/patron"
    assert summaries(app, frozen, MONDAY_8 + timedelta(minutes=5)) == 0
    assert summaries(app, frozen, MONDAY_8 + timedelta(days=1)) == 0  # Tuesday: not stale
    with app.app_context():
        (mail,) = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "patron_digest")).all()
        assert mail.subject.startswith("Your Monday summary")
        assert "Run a poll" in mail.body_html
        assert "Secret plan" not in mail.body_text
        assert "Secret plan" not in mail.body_html


def test_nothing_on_other_days_or_before_eight_local(app, world, last_week, frozen):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).timezone = "Asia/Tokyo"
        db.session.commit()
    assert summaries(app, frozen, datetime(2026, 3, 8, 22, 59, tzinfo=UTC)) == 0  # 07:59 Tokyo
    assert summaries(app, frozen, datetime(2026, 3, 8, 23, 0, tzinfo=UTC)) == 1  # 08:00 Monday


def test_quiet_and_paused_people_are_flagged_without_reasons(app, world, last_week, frozen):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        patron = db.session.get(User, world["patron"])
        quiet = factories.make_user(name="Quinn Quiet")
        resting = factories.make_user(name="Robin Resting")
        for person in (quiet, resting):
            member = factories.add_member(cohort, person, factories.CohortRole.PARTICIPANT)
            member.joined_at = datetime(2026, 2, 1, tzinfo=UTC)
            factories.link_patron(cohort, patron, person)
        plan = services.plan_for(cohort, resting)
        plan.paused_from, plan.paused_until = date(2026, 3, 1), date(2026, 3, 31)
        plan.pause_reason = "Family matters"
        db.session.commit()
    summaries(app, frozen, MONDAY_8)
    body = the_summary(app, world["patron"]).body
    assert "Quinn Quiet: checked in on 0 days" in body
    assert "Quiet for 36 days" in body
    assert "Robin Resting: plan paused." in body
    assert "Family" not in body


def test_a_patron_who_wants_no_summary_email_still_has_it_in_the_inbox(app, world, last_week,
                                                                        frozen):
    with app.app_context():
        db.session.add(MessagePreference(user_id=world["patron"], category="patron_digest",
                                         delivery="off"))
        db.session.commit()
    assert summaries(app, frozen, MONDAY_8) == 1
    assert the_summary(app, world["patron"]).email_state is EmailState.NONE


def test_an_ended_link_gets_no_summary(app, world, last_week, frozen):
    with app.app_context():
        db.session.get(PatronLink, world["patron_link"]).ended_at = LAST_MONDAY
        db.session.commit()
    assert summaries(app, frozen, MONDAY_8) == 0


def test_the_scan_costs_the_same_statements_for_2_or_20_patrons(app, frozen):
    def arrange(n: int) -> None:
        frozen(LAST_MONDAY)
        with app.app_context():
            cohort = factories.make_cohort(start_date=date(2026, 1, 1),
                                           end_date=date(2026, 12, 31))
            for _ in range(n):
                person, patron = factories.make_user(), factories.make_user()
                factories.add_member(cohort, person, factories.CohortRole.PARTICIPANT)
                factories.add_member(cohort, patron, factories.CohortRole.PATRON)
                factories.link_patron(cohort, patron, person)
                plan = services.plan_for(cohort, person)
                goal = services.write_goal(plan, actor=person, title="A goal")
                services.check_in(goal, actor=person, progress=10, minutes=5, note="")
            db.session.commit()

    def statements(when: datetime) -> tuple[int, int]:
        with counting_queries(app) as seen:
            sent = summaries(app, frozen, when)
        return sent, len(seen)

    arrange(2)
    few = statements(MONDAY_8)
    arrange(20)
    many = statements(MONDAY_8 + timedelta(days=7))
    assert few[0] == 2
    assert many[0] == 22  # everyone, the first two again a week later
    assert few[1] == many[1]
    with app.app_context():
        assert db.session.scalar(select(Plan.id).limit(1)) is not None
