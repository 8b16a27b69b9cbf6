"""Events in people's own calendars: an .ics per event and a personal feed behind a secret
address, read back with the icalendar library."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from dap.events.models import CalendarFeed, Event
from dap.extensions import db
from tests.conftest import post_form
from tests.events.conftest import answer

LONDON = ZoneInfo("Europe/London")


def _ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Event.id).order_by(Event.starts_at)))


def _vevents(body: bytes) -> list:
    return icalendar.Calendar.from_ical(body).walk("VEVENT")


def _feed_address(client) -> str:
    page = post_form(client, "/calendar").get_data(as_text=True)
    return re.search(r"(http://[^<\s]+/calendar/[^<\s]+\.ics)", page).group(1)


def test_an_events_ics_has_its_uid_time_zone_and_place(app, world, schedule, role_client):
    assert schedule(capacity="5").status_code == 303
    [event_id] = _ids(app)
    response = role_client("patron").get(
        f"/cohorts/{world['cohort']}/events/{event_id}/event.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    [item] = calendar.walk("VEVENT")
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert str(item["UID"]) == event.uid
    assert item["SEQUENCE"] == 0
    assert str(item["STATUS"]) == "CONFIRMED"
    assert item["DTSTART"].params["TZID"] == "Europe/London"
    assert item.decoded("DTSTART") == datetime(2027, 3, 20, 10, 0, tzinfo=LONDON)
    assert item.decoded("DTEND") == datetime(2027, 3, 20, 12, 0, tzinfo=LONDON)
    assert str(item["LOCATION"]) == "Room 4, 1 High Street"
    assert str(item["SUMMARY"]) == "Writing for screens"


def test_the_feed_holds_what_i_go_to_keeps_local_time_across_dst_and_follows_cancelling(
        app, world, schedule, participants, role_client):
    assert schedule(repeat="7", count="3").status_code == 303
    assert schedule(title="Not for me", day="2027-03-22").status_code == 303
    first, not_for_me, second, third = _ids(app)  # by start: 20, 22, 27 March, 3 April
    series = [first, second, third]
    [me] = participants(1)
    for event_id in series:
        answer(me, world["cohort"], event_id, True)
    answer(me, world["cohort"], not_for_me, False)
    address = _feed_address(me)
    feed = app.test_client().get(address.replace("http://localhost", ""))  # no cookies needed
    assert feed.status_code == 200
    items = _vevents(feed.data)
    assert [item.decoded("DTSTART") for item in items] == [
        datetime(2027, 3, 20, 10, 0, tzinfo=LONDON), datetime(2027, 3, 27, 10, 0, tzinfo=LONDON),
        datetime(2027, 4, 3, 10, 0, tzinfo=LONDON)]  # the clocks changed on 28 March
    assert {item.decoded("DTSTART").utcoffset().total_seconds() for item in items} == {0, 3600}

    post_form(role_client("facilitator"),
              f"/cohorts/{world['cohort']}/events/{second}/cancel", {"reason": "Snow."})
    items = _vevents(app.test_client().get(address.replace("http://localhost", "")).data)
    cancelled = next(i for i in items if i.decoded("DTSTART").day == 27)
    assert (str(cancelled["STATUS"]), cancelled["SEQUENCE"]) == ("CANCELLED", 1)
    assert "Snow." in str(cancelled["DESCRIPTION"])
    assert len({str(i["UID"]) for i in items}) == 3


def test_a_new_address_retires_the_old_one(app, world, participants):
    [me] = participants(1)
    old = _feed_address(me).replace("http://localhost", "")
    new = _feed_address(me).replace("http://localhost", "")
    assert old != new
    anonymous = app.test_client()
    assert anonymous.get(old).status_code == 404
    assert anonymous.get(new).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(CalendarFeed.last_used_at)) is not None


@pytest.mark.parametrize("token", ["nope", "x" * 101, "%00", "..%2F..%2Fetc", "é"])
def test_unknown_feed_addresses_are_a_plain_404(app, token):
    response = app.test_client().get(f"/calendar/{token}.ics")
    assert response.status_code == 404
    assert "calendar" not in response.get_data(as_text=True).lower().split("<main")[-1][:200]


def test_a_deactivated_accounts_feed_stops(app, world, participants):
    from dap.accounts.models import User

    [me] = participants(1)
    address = _feed_address(me).replace("http://localhost", "")
    with app.app_context():
        db.session.get(User, me.user_id).is_active = False
        db.session.commit()
    assert app.test_client().get(address).status_code == 404


def test_the_feed_page_needs_its_token_to_make_an_address(participants):
    [me] = participants(1)
    assert me.post("/calendar").status_code == 400
    assert me.get("/calendar").status_code == 200
