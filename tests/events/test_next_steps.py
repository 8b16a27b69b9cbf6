"""The kick-off leads somewhere: after coming to it, a participant sees their next steps on
the dashboard and on the kick-off's page, each ticked off as they do it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dap.events.models import Event
from dap.extensions import db
from tests.conftest import post_form
from tests.events.conftest import T0

DURING = T0 + timedelta(days=5, hours=1, minutes=30)  # Saturday 20 March, 10:30 in London


def _schedule_kick_off(schedule, **changes) -> None:
    assert schedule(kind="kick_off", title="Our kick-off", **changes).status_code == 303


def _latest_event(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Event.id).order_by(Event.id.desc()))


def _mark(facilitator, world, event_id, user_id, mark="attended"):
    response = post_form(facilitator, f"/cohorts/{world['cohort']}/events/{event_id}/attendance",
                         {f"mark-{user_id}": mark})
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]


def _send_baseline(app, client, world) -> None:
    """Rate every statement and send the baseline, through the pages."""
    from dap.content.baseline import current_baseline

    with app.app_context():
        baseline = current_baseline()
    checkpoint = world["checkpoint"]
    for slug, area in baseline.areas.items():
        assert post_form(client, f"/cohorts/{world['cohort']}/baseline/{checkpoint}/areas/{slug}",
                         {f"rating-{s.id}": "3" for s in area.statements}).status_code == 302
    assert post_form(client, f"/cohorts/{world['cohort']}/baseline/{checkpoint}/submit"
                     ).status_code == 302


def _dashboard(client) -> str:
    return client.get("/").get_data(as_text=True)


def test_coming_to_the_kick_off_brings_next_steps_that_tick_off(
        app, world, schedule, participants, role_client, frozen):
    _schedule_kick_off(schedule)
    event_id = _latest_event(app)
    (person,) = participants(1)
    assert "your next steps" not in _dashboard(person)
    frozen(DURING)
    _mark(role_client("facilitator"), world, event_id, person.user_id)

    page = _dashboard(person)
    assert "After the kick-off: your next steps" in page
    assert "3 of 3 still to do" in page
    assert f'href="/cohorts/{world["cohort"]}/baseline">Take your skills baseline' in page
    assert f'href="/cohorts/{world["cohort"]}/plan">Adopt your first goal' in page
    assert f'href="/cohorts/{world["cohort"]}/my-patrons">Invite a patron' in page

    assert post_form(person, f"/cohorts/{world['cohort']}/plan/goals/new",
                     {"title": "Make a video call to my team"}).status_code in (302, 303)
    page = _dashboard(person)
    assert "2 of 3 still to do" in page
    assert "<s>Adopt your first goal</s>" in page

    assert post_form(person, f"/cohorts/{world['cohort']}/my-patrons",
                     {"name": "Olive Outside", "email": "olive@elsewhere.example"}
                     ).status_code == 302
    assert "1 of 3 still to do" in _dashboard(person)
    _send_baseline(app, person, world)
    assert "your next steps" not in _dashboard(person)  # all done: the dashboard moves on
    kick_off_page = person.get(f"/cohorts/{world['cohort']}/events/{event_id}")
    assert "After the kick-off: all done" in kick_off_page.get_data(as_text=True)


def test_a_walk_in_counts_and_a_no_show_does_not(
        app, world, schedule, participants, role_client, frozen):
    _schedule_kick_off(schedule)
    event_id = _latest_event(app)
    going, walk_in = participants(2)
    post_form(going, f"/cohorts/{world['cohort']}/events/{event_id}/answer", {"answer": "yes"})
    frozen(DURING)
    facilitator = role_client("facilitator")
    _mark(facilitator, world, event_id, going.user_id, "no_show")
    _mark(facilitator, world, event_id, walk_in.user_id, "walk_in")
    assert "your next steps" not in _dashboard(going)
    assert "your next steps" in _dashboard(walk_in)
    page = going.get(f"/cohorts/{world['cohort']}/events/{event_id}").get_data(as_text=True)
    assert "After the kick-off" not in page


def test_other_kinds_of_event_bring_no_steps(app, world, schedule, participants, role_client,
                                             frozen):
    assert schedule(kind="workshop").status_code == 303
    event_id = _latest_event(app)
    (person,) = participants(1)
    frozen(DURING)
    _mark(role_client("facilitator"), world, event_id, person.user_id)
    assert "your next steps" not in _dashboard(person)


def test_a_cancelled_kick_off_or_an_archived_cohort_brings_no_steps(
        app, world, schedule, participants, role_client, frozen):
    from dap.cohorts.models import Cohort

    _schedule_kick_off(schedule)
    event_id = _latest_event(app)
    (person,) = participants(1)
    frozen(DURING)
    _mark(role_client("facilitator"), world, event_id, person.user_id)
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert "your next steps" not in _dashboard(person)


def test_people_who_are_not_participants_see_no_steps(world, role_client):
    for role in ("patron", "facilitator", "admin"):
        assert "your next steps" not in _dashboard(role_client(role))
