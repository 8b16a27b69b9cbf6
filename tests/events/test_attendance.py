"""The register at the door: marks for people going, walk-ins, everyone going at once; only
the cohort's facilitators, only around the event, only its participants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.events.models import Attendance, AttendanceMark, Event
from dap.extensions import db
from tests.conftest import post_form
from tests.events.conftest import T0, answer

#: 20 March 2027, 10:00 London (GMT): the default event's start
STARTS = T0 + timedelta(days=5, hours=1)


def _event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Event.id).order_by(Event.id.desc()))


def _marks(app, event_id: int) -> dict[int, AttendanceMark]:
    with app.app_context():
        return {a.user_id: a.mark for a in db.session.scalars(
            select(Attendance).where(Attendance.event_id == event_id))}


@pytest.fixture
def at_the_door(app, world, schedule, participants, frozen, role_client):
    """An event with two people going and one who did not answer, at its start."""
    assert schedule().status_code == 303
    event_id = _event_id(app)
    first, second, walk_in = participants(3)
    answer(first, world["cohort"], event_id, True)
    answer(second, world["cohort"], event_id, True)
    frozen(STARTS)
    path = f"/cohorts/{world['cohort']}/events/{event_id}/attendance"
    return event_id, path, role_client("facilitator"), (first, second, walk_in)


def test_the_facilitator_marks_the_register(app, at_the_door):
    event_id, path, facilitator, (first, second, walk_in) = at_the_door
    page = facilitator.get(path).get_data(as_text=True)
    assert f'name="mark-{first.user_id}"' in page
    response = post_form(facilitator, path, {
        f"mark-{first.user_id}": "attended", f"mark-{second.user_id}": "no_show",
        f"mark-{walk_in.user_id}": "walk_in"})
    assert response.status_code == 303
    assert _marks(app, event_id) == {first.user_id: AttendanceMark.ATTENDED,
                                     second.user_id: AttendanceMark.NO_SHOW,
                                     walk_in.user_id: AttendanceMark.WALK_IN}
    # changing and clearing
    post_form(facilitator, path, {f"mark-{second.user_id}": "partly",
                                  f"mark-{walk_in.user_id}": ""})
    assert _marks(app, event_id) == {first.user_id: AttendanceMark.ATTENDED,
                                     second.user_id: AttendanceMark.PARTLY}


def test_everyone_going_attended_in_one_press_keeps_marks_already_made(app, at_the_door):
    event_id, path, facilitator, (first, second, walk_in) = at_the_door
    post_form(facilitator, path, {f"mark-{second.user_id}": "partly"})
    assert post_form(facilitator, path, {"all_going": "1"}).status_code == 303
    assert _marks(app, event_id) == {first.user_id: AttendanceMark.ATTENDED,
                                     second.user_id: AttendanceMark.PARTLY}


@pytest.mark.parametrize(("who", "mark", "message"), [
    ("walk_in", "no_show", "A no-show is for someone who said they were going."),
    ("first", "walk_in", "A walk-in is for someone who had not said"),
])
def test_marks_that_do_not_fit_are_refused(app, at_the_door, who, mark, message):
    event_id, path, facilitator, (first, second, walk_in) = at_the_door
    person = {"first": first, "walk_in": walk_in}[who]
    response = post_form(facilitator, path, {f"mark-{person.user_id}": mark,
                                             f"mark-{second.user_id}": "attended"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _marks(app, event_id) == {}  # nothing of the form is kept


@pytest.mark.parametrize("data", [
    {"mark-abc": "attended"}, {"mark-": "attended"}, {"mark-99999999999": "attended"},
    {"mark-1": "asleep"},
])
def test_malformed_marks_are_400(app, at_the_door, data):
    event_id, path, facilitator, _ = at_the_door
    assert post_form(facilitator, path, data).status_code == 400
    assert _marks(app, event_id) == {}


def test_only_the_cohorts_participants_can_be_marked(app, world, at_the_door):
    event_id, path, facilitator, _ = at_the_door
    for user_id in (world["patron"], world["outsider"], 999999):
        response = post_form(facilitator, path, {f"mark-{user_id}": "walk_in"})
        assert response.status_code == 400
        assert "Mark only this cohort&#39;s participants." in response.get_data(as_text=True)
    assert _marks(app, event_id) == {}


def test_the_register_opens_an_hour_before_and_closes_two_weeks_after(app, at_the_door,
                                                                      frozen):
    event_id, path, facilitator, (first, _, _) = at_the_door
    frozen(STARTS - timedelta(hours=1, minutes=1))
    post_form(facilitator, path, {f"mark-{first.user_id}": "attended"})
    assert _marks(app, event_id) == {}
    frozen(STARTS + timedelta(hours=2, days=14, minutes=1))
    post_form(facilitator, path, {f"mark-{first.user_id}": "attended"})
    assert _marks(app, event_id) == {}
    frozen(STARTS + timedelta(days=3))
    post_form(facilitator, path, {f"mark-{first.user_id}": "attended"})
    assert _marks(app, event_id) == {first.user_id: AttendanceMark.ATTENDED}


@pytest.mark.parametrize("role", ["participant", "patron"])
def test_only_facilitators_keep_the_register(app, at_the_door, role, role_client):
    event_id, path, _, (first, _, _) = at_the_door
    client = role_client(role)
    assert client.get(path).status_code == 404
    assert post_form(client, path, {f"mark-{first.user_id}": "attended"}).status_code == 404
    assert _marks(app, event_id) == {}


def test_the_pages_own_everyone_going_button_works(app, at_the_door):
    """Submit the register page's button as a browser would: every input it holds, as is."""
    import re

    from werkzeug.datastructures import MultiDict

    event_id, path, facilitator, (first, second, _) = at_the_door
    page = facilitator.get(path).get_data(as_text=True)
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S)
                if "Everyone going attended" in f)
    fields = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
    assert facilitator.post(path, data=MultiDict(fields)).status_code == 303
    assert _marks(app, event_id) == {first.user_id: AttendanceMark.ATTENDED,
                                     second.user_id: AttendanceMark.ATTENDED}
