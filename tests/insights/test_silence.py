"""Noticing silence, time-travelled: one message to the participant and one alert to each
patron per episode of silence, nothing more until they come back and go quiet again; every
kind of activity ends an episode; paused, managed and removed people are left alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Membership
from dap.extensions import db
from dap.insights.silence import notice_silences
from dap.nudges.models import Notification, NotificationKind, OutboxMessage
from dap.plans import services
from dap.plans.models import Plan, PlanGoal
from tests import factories
from tests.conftest import counting_queries

JOINED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def cohort(app, world, frozen):
    """The world's cohort runs all year, is silent after 10 days, and the participant
    joined on ``JOINED``; they have one goal."""
    frozen(JOINED)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date, cohort.end_date = date(2026, 1, 1), date(2026, 12, 31)
        cohort.silent_after_days = 10
        for membership in db.session.scalars(select(Membership).where(
                Membership.cohort_id == cohort.id)):
            membership.joined_at = JOINED
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, person)
        goal = services.write_goal(plan, actor=person, title="Try a poll")
        db.session.commit()
        return {"id": cohort.id, "plan": plan.id, "goal": goal.id}


def scan(app, frozen, when: datetime) -> int:
    frozen(when)
    with app.app_context():
        found = notice_silences(now=when)
        db.session.commit()
        return found


def received(app, user_id: int, kind: NotificationKind) -> list[Notification]:
    with app.app_context():
        rows = list(db.session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind)
            .order_by(Notification.id)))
        db.session.expunge_all()
        return rows


def check_in(app, world, cohort, frozen, when: datetime) -> None:
    frozen(when)
    with app.app_context():
        services.check_in(db.session.get(PlanGoal, cohort["goal"]),
                          actor=db.session.get(User, world["participant"]), progress=None,
                          minutes=10, note="")
        db.session.commit()


def test_one_message_and_one_alert_per_silence_episode(app, world, cohort, frozen):
    day = timedelta(days=1)
    # Quiet since joining: nothing for 9 days, then the 10th day is an episode.
    assert scan(app, frozen, JOINED + 9 * day) == 0
    assert scan(app, frozen, JOINED + 10 * day) == 1
    mine = received(app, world["participant"], NotificationKind.SILENT)
    alerts = received(app, world["patron"], NotificationKind.PATRON_ALERT)
    assert len(mine) == 1
    assert len(alerts) == 1
    assert "10 days" in alerts[0].body
    assert "Alex" in alerts[0].body
    assert alerts[0].link.endswith("/nudge")
    # Every scan for the next weeks of the same silence: nothing more.
    for extra in range(1, 30):
        assert scan(app, frozen, JOINED + (10 + extra) * day) == 0
    assert len(received(app, world["participant"], NotificationKind.SILENT)) == 1
    assert len(received(app, world["patron"], NotificationKind.PATRON_ALERT)) == 1
    with app.app_context():  # the emails: one each, not one per scan
        kinds = sorted(db.session.scalars(select(OutboxMessage.kind)))
    assert kinds == ["patron_alert", "silent"]
    # They come back: a check-in on day 40. Quiet again for 10 days: a new episode.
    check_in(app, world, cohort, frozen, JOINED + 40 * day)
    assert scan(app, frozen, JOINED + 49 * day) == 0
    assert scan(app, frozen, JOINED + 50 * day) == 1
    assert scan(app, frozen, JOINED + 51 * day) == 0
    assert len(received(app, world["participant"], NotificationKind.SILENT)) == 2
    assert len(received(app, world["patron"], NotificationKind.PATRON_ALERT)) == 2


@pytest.mark.parametrize("activity", ["web", "rsvp", "booking"])
def test_each_kind_of_activity_ends_the_silence(app, world, cohort, frozen, activity):
    when = JOINED + timedelta(days=5)
    frozen(when)
    with app.app_context():
        person = db.session.get(User, world["participant"])
        if activity == "web":
            from dap.timecap.models import WebActivity

            db.session.add(WebActivity(user_id=person.id, cohort_id=cohort["id"],
                                       kind="read", title="An article", minutes=20,
                                       local_date=when.date(), created_at=when))
        elif activity == "rsvp":
            from dap.events.models import Event, Rsvp, RsvpStatus

            event = Event(cohort_id=cohort["id"], title="Workshop", kind="workshop",
                          mode="in_person", starts_at=when + timedelta(days=30),
                          ends_at=when + timedelta(days=30, hours=2), uid="e1@test")
            db.session.add(event)
            db.session.flush()
            db.session.add(Rsvp(event_id=event.id, user_id=person.id, status=RsvpStatus.GOING,
                                created_at=when, updated_at=when))
        else:
            from dap.support.models import BookingStatus, SupportBooking, SupportSlot

            slot = SupportSlot(cohort_id=cohort["id"], facilitator_id=world["facilitator"],
                               mode="phone", starts_at=when + timedelta(days=20),
                               ends_at=when + timedelta(days=20, minutes=30), uid="s1@test")
            db.session.add(slot)
            db.session.flush()
            db.session.add(SupportBooking(slot_id=slot.id, participant_id=person.id,
                                          status=BookingStatus.BOOKED, created_at=when))
        db.session.commit()
    assert scan(app, frozen, JOINED + timedelta(days=10)) == 0  # 5 days since the activity
    assert scan(app, frozen, JOINED + timedelta(days=15)) == 1


def test_paused_managed_and_removed_people_are_left_alone(app, world, cohort, frozen):
    with app.app_context():
        plan = db.session.get(Plan, cohort["plan"])
        plan.paused_from, plan.paused_until = date(2026, 3, 10), date(2026, 3, 25)
        db.session.commit()
    assert scan(app, frozen, JOINED + timedelta(days=12)) == 0  # 14 March: paused
    assert scan(app, frozen, JOINED + timedelta(days=23)) == 0  # 25 March: the last day
    # Back on 26 March: quiet counts from then, so ten days later, not at once.
    assert scan(app, frozen, JOINED + timedelta(days=24)) == 0
    assert scan(app, frozen, datetime(2026, 4, 4, 23, 0, tzinfo=UTC)) == 0
    assert scan(app, frozen, datetime(2026, 4, 5, 0, 0, tzinfo=UTC)) == 1  # 01:00 BST
    with app.app_context():
        managed = factories.make_user(email=None, name="Morgan Managed")
        managed.is_managed = True
        cohort_row = db.session.get(Cohort, cohort["id"])
        factories.add_member(cohort_row, managed, factories.CohortRole.PARTICIPANT)
        db.session.commit()
    assert scan(app, frozen, JOINED + timedelta(days=60)) == 0


def test_a_patron_whose_link_ended_is_not_alerted(app, world, cohort, frozen):
    from dap.cohorts.models import PatronLink

    with app.app_context():
        link = db.session.get(PatronLink, world["patron_link"])
        link.ended_at = JOINED
        db.session.commit()
    assert scan(app, frozen, JOINED + timedelta(days=10)) == 1
    assert received(app, world["patron"], NotificationKind.PATRON_ALERT) == []


def test_the_scan_costs_the_same_statements_for_3_or_30_silent_people(app, frozen):
    def arrange(n: int) -> None:
        frozen(JOINED)
        with app.app_context():
            cohort = factories.make_cohort(start_date=date(2026, 1, 1),
                                           end_date=date(2026, 12, 31))
            for _ in range(n):
                person = factories.make_user()
                patron = factories.make_user()
                factories.add_member(cohort, person, factories.CohortRole.PARTICIPANT)
                factories.add_member(cohort, patron, factories.CohortRole.PATRON)
                factories.link_patron(cohort, patron, person)
            db.session.commit()

    def statements(when: datetime) -> tuple[int, int]:
        with counting_queries(app) as seen:
            found = scan(app, frozen, when)
        return found, len(seen)

    arrange(3)
    few = statements(JOINED + timedelta(days=11))
    arrange(30)
    many = statements(JOINED + timedelta(days=11))
    assert few[0] == 3
    assert many[0] == 30
    assert few[1] == many[1]
    # And once everyone has been noticed, a scan sends nothing, in the same statements.
    assert statements(JOINED + timedelta(days=12)) == (0, statements(JOINED + timedelta(days=13))[1])
