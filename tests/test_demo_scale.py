"""Test data at scale (``flask --app dap demo --scale N``), through the CLI: the accounts,
cohorts and activity it makes, that it refuses to run twice or with a bad N, and that the
app's pages work on what it wrote."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dap import demo_scale
from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, PatronLink
from dap.demo import DEMO_PASSWORD
from dap.events.models import Attendance, Event, Rsvp
from dap.extensions import db
from dap.nudges.models import Notification
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.timecap.models import PlatformDay, WebActivity
from tests.conftest import sign_in

#: 30 participants in cohorts of 7: four of 7 and one of 2
N, SIZE, COHORTS = 30, 7, 5
PATRONS = 5  # one per cohort: none has more than ten participants
FACILITATORS = COHORTS + 3  # one each, a second in cohorts 1, 3 and 5


def scale(runner, *args: str):
    return runner.invoke(args=["demo", *args])


@pytest.fixture
def loaded(app, runner):
    result = scale(runner, "--scale", str(N), "--cohort-size", str(SIZE))
    assert result.exit_code == 0, result.output
    return result


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def cohort_of(email: str) -> int:
    return db.session.scalar(select(Membership.cohort_id).join(User).where(User.email == email))


def test_makes_the_predictable_accounts_in_running_cohorts(app, loaded):
    assert f"cohort {COHORTS}/{COHORTS}: 2 participants" in loaded.output
    assert f"Scale data loaded: {N} participants" in loaded.output
    with app.app_context():
        assert count(User) == N + PATRONS + FACILITATORS + demo_scale.ADMINS
        emails = set(db.session.scalars(select(User.email)))
        assert {demo_scale.participant_email(i) for i in range(N)} <= emails
        assert "participant00029@scale.example.org" in emails
        assert {f"patron{i:04d}@scale.example.org" for i in range(PATRONS)} <= emails
        assert {f"facilitator{i:03d}@scale.example.org" for i in range(FACILITATORS)} <= emails
        assert count(User, User.is_admin) == demo_scale.ADMINS
        assert count(User, User.is_facilitator) == FACILITATORS
        # one hash, shared
        assert db.session.scalar(select(func.count(func.distinct(User.password_hash)))) == 1

        cohorts = db.session.scalars(select(Cohort)).all()
        assert len(cohorts) == COHORTS
        today = now_utc().date()
        for cohort in cohorts:
            assert today - timedelta(days=366) <= cohort.start_date < today < cohort.end_date
        assert {c.timezone for c in cohorts} >= {"Europe/London", "Europe/Dublin"}
        assert len({c.organisation_id for c in cohorts}) == 3

        role = Membership.role
        assert count(Membership, role == CohortRole.PARTICIPANT) == N
        assert count(Membership, role == CohortRole.PATRON) == PATRONS
        assert count(Membership, role == CohortRole.FACILITATOR) == FACILITATORS
        assert count(PatronLink) == N
        assert count(Plan) == N
        assert count(PlanGoal) == 4 * N
        sizes = db.session.execute(
            select(Membership.cohort_id, func.count()).where(role == CohortRole.PARTICIPANT)
            .group_by(Membership.cohort_id).order_by(Membership.cohort_id)).all()
        assert [n for _, n in sizes] == [7, 7, 7, 7, 2]


def test_writes_a_history_of_activity_and_nothing_in_the_future(app, loaded):
    with app.app_context():
        now = now_utc()
        for model in (CheckIn, WebActivity, PlatformDay, Event, Rsvp, Attendance, Notification):
            assert count(model) > 0, model
        assert count(CheckIn, CheckIn.created_at > now) == 0
        assert count(WebActivity, WebActivity.created_at > now) == 0
        assert count(PlatformDay, PlatformDay.day > now.date() + timedelta(days=1)) == 0
        assert count(Attendance, Attendance.recorded_at > now) == 0
        # every check-in's goal is in its own plan
        assert count(CheckIn, CheckIn.plan_id != select(PlanGoal.plan_id).where(
            PlanGoal.id == CheckIn.goal_id).scalar_subquery()) == 0
        # nudges come from the participant's own patron
        linked = select(PatronLink.id).where(PatronLink.patron_id == Notification.sender_id,
                                            PatronLink.participant_id == Notification.user_id)
        assert count(Notification, ~linked.exists()) == 0


def test_running_twice_refuses(app, runner, loaded):
    with app.app_context():
        before = count(User)
    again = scale(runner, "--scale", "3")
    assert again.exit_code == 1
    assert "Scale data is already here" in again.output
    with app.app_context():
        assert count(User) == before


@pytest.mark.parametrize("value", ["0", "-1", "200001", "ten", "", "1e3"])
def test_a_bad_n_is_refused(app, runner, value):
    result = scale(runner, "--scale", value)
    assert result.exit_code == 2
    assert "Invalid value for '--scale'" in result.output
    with app.app_context():
        assert count(User) == 0


def test_a_bad_cohort_size_is_refused(app, runner):
    for args in (["--scale", "5", "--cohort-size", "0"], ["--cohort-size", "5"]):
        result = scale(runner, *args)
        assert result.exit_code == 2, args
        assert "--cohort-size" in result.output
    with app.app_context():
        assert count(User) == 0


def test_adds_to_a_database_with_the_demo_data(app, runner):
    plain = scale(runner)  # without --scale: the small demo, as before
    assert plain.exit_code == 0
    assert "Demo data loaded" in plain.output
    with app.app_context():
        before = count(User)
    result = scale(runner, "--scale", "3")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count(User) == before + 3 + 1 + 2 + demo_scale.ADMINS


def test_a_participant_signs_in_and_sees_their_plan(app, loaded):
    email = demo_scale.participant_email(9)
    with app.app_context():
        cohort_id = cohort_of(email)
    client = app.test_client()
    assert sign_in(client, email, DEMO_PASSWORD).status_code == 302
    for path in ("/", f"/cohorts/{cohort_id}/plan", "/time/explore", "/notifications"):
        assert client.get(path).status_code == 200, path


def test_a_patron_sees_their_participants(app, loaded):
    client = app.test_client()
    assert sign_in(client, "patron0001@scale.example.org", DEMO_PASSWORD).status_code == 302
    page = client.get("/patron")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    mine = [demo_scale.person_name(i) for i in range(SIZE, 2 * SIZE)]
    assert all(name in text for name in mine)
    assert demo_scale.person_name(0) not in text  # in the first cohort, with patron0000
    with app.app_context():
        cohort_id, membership_id = db.session.execute(
            select(Membership.cohort_id, Membership.id).join(User)
            .where(User.email == demo_scale.participant_email(SIZE))).one()
    assert client.get(f"/cohorts/{cohort_id}/people/{membership_id}/plan").status_code == 200


def test_a_facilitator_sees_their_cohorts_insights(app, loaded):
    with app.app_context():
        cohort_id = cohort_of(demo_scale.participant_email(0))
    client = app.test_client()
    assert sign_in(client, "facilitator000@scale.example.org", DEMO_PASSWORD).status_code == 302
    for path in ("/", f"/cohorts/{cohort_id}/insights", f"/cohorts/{cohort_id}/insights/people",
                 f"/cohorts/{cohort_id}/people"):
        assert client.get(path).status_code == 200, path
