"""Each event type is emitted by the real door that causes it — finishing a goal on the plan
page, a check-in through the API, an answer on the event page, the daily silence scan —
and its payload says no more than it should."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Membership
from dap.content.library import current_library
from dap.extensions import db
from dap.plans import services as plans
from dap.plans.models import PlanGoal, Visibility
from tests.conftest import post_form, run_due_at
from tests.events.conftest import FORM
from tests.webhooks.conftest import T0, deliver


@pytest.fixture
def goal(app, world):
    """``goal(visibility=…, library=…)`` → the id of a goal in the participant's plan."""

    def make(visibility: Visibility = Visibility.PATRONS, library: bool = False) -> int:
        with app.app_context():
            cohort = db.session.get(Cohort, world["cohort"])
            person = db.session.get(User, world["participant"])
            plan = plans.plan_for(cohort, person)
            if library:
                found = plans.adopt_goal(plan, sorted(current_library().goals.values(),
                                                      key=lambda g: g.slug)[0],
                                         actor=person, visibility=visibility)
            else:
                found = plans.write_goal(plan, actor=person, title="Run a poll on our intranet",
                                         visibility=visibility)
            db.session.commit()
            return found.id

    return make


def _finish(client, world, goal_id: int):
    return post_form(client, f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/done",
                     {"done-reflection": "Ran it; 40 replies.", "done-evidence-0": ""})


def test_finishing_a_goal_on_the_plan_page_sends_goal_completed(app, world, role_client,
                                                                receiver, subscribe, goal):
    subscribe(receiver.url)
    library_goal = goal(library=True)
    with app.app_context():
        slug = db.session.get(PlanGoal, library_goal).library_slug
        title = db.session.get(PlanGoal, library_goal).title

    assert _finish(role_client("participant"), world, library_goal).status_code == 302
    deliver(app)

    [payload] = receiver.payloads("goal.completed")
    assert payload["cohort_id"] == world["cohort"]
    assert payload["data"] == {
        "participant": {"id": world["participant"], "name": "Alex Participant"},
        "goal": {"id": library_goal, "title": title, "library_slug": slug}}


def test_a_private_goal_is_sent_without_its_title_or_library_goal(app, world, role_client,
                                                                 receiver, subscribe, goal):
    subscribe(receiver.url)
    own = goal(visibility=Visibility.PRIVATE)
    adopted = goal(visibility=Visibility.PRIVATE, library=True)
    me = role_client("participant")
    assert _finish(me, world, own).status_code == 302
    assert _finish(me, world, adopted).status_code == 302
    deliver(app)

    sent = {p["data"]["goal"]["id"]: p["data"]["goal"] for p in receiver.payloads("goal.completed")}
    assert sent == {own: {"id": own, "title": None, "library_slug": None},
                    adopted: {"id": adopted, "title": None, "library_slug": None}}
    assert b"Run a poll" not in b"".join(r.body for r in receiver.requests)


def test_a_refused_finish_sends_nothing(app, world, role_client, receiver, subscribe, goal):
    subscribe(receiver.url)
    goal_id = goal()
    response = post_form(role_client("participant"),
                         f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/done",
                         {"done-reflection": " "})
    assert response.status_code == 400
    deliver(app)
    assert receiver.requests == []


def test_a_check_in_through_the_api_sends_check_in_created_without_the_note(
        app, world, api, receiver, subscribe, goal):
    subscribe(receiver.url, events=["check_in.created"])
    goal_id = goal()
    response = api("participant").post("/check-ins", json={
        "goal_id": goal_id, "progress": 40, "minutes": 25, "note": "Asked Priya about polls"})
    assert response.status_code == 201, response.get_json()
    deliver(app)

    [request] = receiver.requests
    payload = request.payload
    assert payload["type"] == "check_in.created"
    assert payload["data"] == {
        "participant": {"id": world["participant"], "name": "Alex Participant"},
        "check_in": {"id": response.get_json()["id"], "goal_id": goal_id, "progress": 40,
                     "minutes": 25}}
    assert b"Priya" not in request.body


def test_a_subscription_gets_only_the_events_it_chose_and_only_its_cohort(
        app, world, api, receiver, subscribe, goal, role_client):
    from tests import factories

    with app.app_context():
        other = factories.make_cohort()
        db.session.commit()
        other_id = other.id
    subscribe(f"{receiver.url}/goals", events=["goal.completed"])
    subscribe(f"{receiver.url}/other", cohort=other_id)
    goal_id = goal()
    assert api("participant").post("/check-ins", json={"goal_id": goal_id, "minutes": 5}
                                   ).status_code == 201
    assert _finish(role_client("participant"), world, goal_id).status_code == 302
    deliver(app)

    assert [(r.path, r.payload["type"]) for r in receiver.requests] == [
        ("/hook/goals", "goal.completed")]


@pytest.fixture
def at_t0(frozen):
    frozen(T0)


def test_answering_an_event_sends_event_rsvp_once_per_change(at_t0, app, world, role_client,
                                                             receiver, subscribe):
    subscribe(receiver.url, events=["event.rsvp"])
    facilitator = role_client("facilitator")
    assert post_form(facilitator, f"/cohorts/{world['cohort']}/events/new",
                     FORM).status_code == 303
    from dap.events.models import Event

    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    me = role_client("participant")
    path = f"/cohorts/{world['cohort']}/events/{event_id}/answer"
    for answer in ("yes", "yes", "no"):  # the second "yes" changes nothing
        assert post_form(me, path, {"answer": answer}).status_code == 303
    deliver(app, T0)

    sent = receiver.payloads("event.rsvp")
    assert [p["data"] for p in sent] == [
        {"participant": {"id": world["participant"], "name": "Alex Participant"},
         "event": {"id": event_id, "title": "Writing for screens"}, "answer": answer}
        for answer in ("going", "declined")]
    assert len({p["id"] for p in sent}) == 2


JOINED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_daily_silence_scan_sends_participant_silent_once_per_episode(
        app, world, receiver, subscribe):
    subscribe(receiver.url, events=["participant.silent"])
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date, cohort.end_date = date(2026, 1, 1), date(2026, 12, 31)
        cohort.silent_after_days = 10
        for membership in db.session.scalars(select(Membership).where(
                Membership.cohort_id == cohort.id)):
            membership.joined_at = JOINED
        db.session.commit()

    run_due_at(app, JOINED + timedelta(days=9), "silent_participants")
    assert receiver.requests == []
    assert run_due_at(app, JOINED + timedelta(days=10), "silent_participants") == (
        "noticed 1 participants gone quiet")
    # the same pass delivered it: delivery runs after the scans
    [payload] = receiver.payloads()
    assert payload["type"] == "participant.silent"
    assert payload["data"] == {
        "participant": {"id": world["participant"], "name": "Alex Participant"},
        "days_silent": 10, "since": "2026-03-02T09:00:00Z"}
    run_due_at(app, JOINED + timedelta(days=11), "silent_participants")
    assert len(receiver.requests) == 1
