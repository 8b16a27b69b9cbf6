"""Changing an event: calendars see it, the people affected are told, seats follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from dap.events.models import Event, Rsvp, RsvpStatus
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from tests.conftest import post_form
from tests.events.conftest import FORM, T0, answer


def _event(app) -> Event:
    with app.app_context():
        event = db.session.scalar(select(Event).order_by(Event.id.desc()))
        db.session.expunge(event)
        return event


def _mail(app, kind: str) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(OutboxMessage.to_addr)
                                         .where(OutboxMessage.kind == kind)))


@pytest.fixture
def change(role_client, world):
    facilitator = role_client("facilitator")

    def post(event_id: int, **changes):
        return post_form(facilitator, f"/cohorts/{world['cohort']}/events/{event_id}/edit",
                         {**FORM, **changes})

    return post


def test_the_form_opens_with_the_event_in_local_time(app, world, schedule, role_client):
    assert schedule(day="2027-04-03", starts="10:00", ends="11:30").status_code == 303
    event = _event(app)
    page = role_client("facilitator").get(
        f"/cohorts/{world['cohort']}/events/{event.id}/edit").get_data(as_text=True)
    assert 'value="2027-04-03"' in page
    assert 'value="10:00"' in page  # BST: 09:00 UTC
    assert 'value="11:30"' in page
    assert 'name="repeat"' not in page


def test_moving_an_event_tells_the_people_going_or_waiting_and_calendars(
        app, world, schedule, change, participants):
    assert schedule(capacity="1").status_code == 303
    event = _event(app)
    going, waiting, declined = participants(3)
    answer(going, world["cohort"], event.id, True)
    answer(waiting, world["cohort"], event.id, True)
    answer(declined, world["cohort"], event.id, False)
    assert change(event.id, capacity="1", starts="14:00", ends="15:00").status_code == 303
    moved = _event(app)
    assert moved.starts_at == datetime(2027, 3, 20, 14, 0, tzinfo=UTC)
    assert moved.sequence == 1
    assert len(_mail(app, "event_changed")) == 2
    ics = going.get(f"/cohorts/{world['cohort']}/events/{event.id}/event.ics").data
    [item] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert item["SEQUENCE"] == 1
    assert item.decoded("DTSTART").hour == 14
    # the same again changes nothing and tells no one
    assert change(event.id, capacity="1", starts="14:00", ends="15:00").status_code == 303
    assert (_event(app).sequence, len(_mail(app, "event_changed"))) == (1, 2)


def test_a_new_description_reaches_calendars_but_sends_no_email(app, world, schedule, change,
                                                                participants):
    assert schedule().status_code == 303
    event = _event(app)
    [me] = participants(1)
    answer(me, world["cohort"], event.id, True)
    assert change(event.id, description="Now with biscuits.").status_code == 303
    assert _event(app).sequence == 1
    assert _mail(app, "event_changed") == []


def test_more_seats_go_to_the_people_waiting(app, world, schedule, change, participants):
    assert schedule(capacity="1").status_code == 303
    event = _event(app)
    first, second, third = participants(3)
    for client in (first, second, third):
        answer(client, world["cohort"], event.id, True)
    assert change(event.id, capacity="2").status_code == 303
    with app.app_context():
        statuses = {r.user_id: r.status for r in db.session.scalars(
            select(Rsvp).where(Rsvp.event_id == event.id))}
    assert statuses == {first.user_id: RsvpStatus.GOING, second.user_id: RsvpStatus.GOING,
                        third.user_id: RsvpStatus.WAITLISTED}
    assert len(_mail(app, "event_promoted")) == 1


def test_fewer_seats_than_people_going_is_refused(app, world, schedule, change, participants):
    assert schedule(capacity="3").status_code == 303
    event = _event(app)
    for client in participants(2):
        answer(client, world["cohort"], event.id, True)
    response = change(event.id, capacity="1", title="Renamed")
    assert response.status_code == 400
    assert "2 people are going" in response.get_data(as_text=True)
    assert (_event(app).capacity, _event(app).title) == (3, "Writing for screens")


@pytest.mark.parametrize(("changes", "message"), [
    ({"ends": "09:00"}, "The end must come after the start."),
    ({"day": "2027-03-10"}, "That time has passed"),
    ({"title": ""}, "Enter a title."),
    ({"join_url": "data:text/html,hi"}, "https://"),
])
def test_bad_changes_are_refused_and_nothing_is_lost(app, schedule, change, changes, message):
    assert schedule().status_code == 303
    event = _event(app)
    response = change(event.id, **changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    kept = _event(app)
    assert (kept.title, kept.starts_at, kept.sequence) == (event.title, event.starts_at, 0)


def test_started_or_cancelled_events_no_longer_change(app, world, schedule, change, frozen,
                                                      role_client):
    assert schedule().status_code == 303
    event = _event(app)
    frozen(T0 + timedelta(days=5, hours=1, minutes=1))  # 20 March, 10:01
    response = change(event.id, title="Too late")
    assert response.status_code == 400
    assert "has started" in response.get_data(as_text=True)
    frozen(T0)
    post_form(role_client("facilitator"),
              f"/cohorts/{world['cohort']}/events/{event.id}/cancel", {"reason": ""})
    assert "is cancelled" in change(event.id, title="Too late").get_data(as_text=True)
    assert _event(app).title == "Writing for screens"


@pytest.mark.parametrize("role", ["participant", "patron"])
def test_only_the_cohorts_facilitators_change_events(app, world, schedule, role, role_client):
    assert schedule().status_code == 303
    event = _event(app)
    client = role_client(role)
    path = f"/cohorts/{world['cohort']}/events/{event.id}/edit"
    assert client.get(path).status_code == 404
    assert post_form(client, path, {**FORM, "title": "Mine now"}).status_code == 404
    assert _event(app).title == "Writing for screens"


def test_the_edit_form_saves_as_a_browser_sends_it(app, world, schedule, role_client):
    """The edit page has no series fields, so the browser sends none: saving must work
    without them (it answered 400 "Repeats: Not a valid choice" before)."""
    assert schedule().status_code == 303
    event = _event(app)
    sent = {name: value for name, value in FORM.items() if name not in ("repeat", "count")}
    response = post_form(role_client("facilitator"),
                         f"/cohorts/{world['cohort']}/events/{event.id}/edit",
                         {**sent, "title": "Renamed in the browser"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert _event(app).title == "Renamed in the browser"
