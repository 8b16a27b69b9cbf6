"""1:1 sessions in people's calendars: the personal feed holds a participant's bookings and
a facilitator's booked slots (cancelled ones with STATUS:CANCELLED), an .ics per booking,
and the emails that carry a calendar entry when a slot is booked or cancelled; read back
with the icalendar library."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.events.models import Event
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from dap.support.models import BookingStatus, SlotMode, SupportBooking, SupportSlot
from tests.conftest import counting_queries, post_form
from tests.events.conftest import FORM, answer
from tests.support.conftest import T0

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def _mail_settings(app):
    app.config["BASE_URL"] = "https://dap.example.org"
    app.config["MAIL_FROM"] = "DAP Programmes <dap@dap.example.org>"


@pytest.fixture
def slots(app, publish):
    assert publish().status_code == 303  # Wednesday 17 March, 10:00 to 12:00 in 30 minutes
    return _slot_ids(app)


def _slot_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(SupportSlot.id).order_by(SupportSlot.starts_at)))


def _slot(app, slot_id: int) -> SupportSlot:
    with app.app_context():
        slot = db.session.get(SupportSlot, slot_id)
        db.session.expunge(slot)
        return slot


def _path(world, slot_id: int, action: str = "") -> str:
    return f"/cohorts/{world['cohort']}/support/slots/{slot_id}" + (f"/{action}" if action else "")


def _book(client, world, slot_id, note="Help with spreadsheets"):
    return post_form(client, _path(world, slot_id, "book"), {"note": note})


def _cancel(client, world, slot_id, message=""):
    return post_form(client, _path(world, slot_id, "cancel"), {"message": message})


def _feed(app, client) -> str:
    """The client's feed address, made through the /calendar page, as a path."""
    page = post_form(client, "/calendar").get_data(as_text=True)
    address = re.search(r"(https?://[^<\s]+/calendar/[^<\s]+\.ics)", page).group(1)
    return re.sub(r"^https?://[^/]+", "", address)


def _items(app, feed_path: str) -> list:
    response = app.test_client().get(feed_path)  # calendar apps sign in to nothing
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.data).walk("VEVENT")


def _one(items, uid: str):
    (item,) = [item for item in items if str(item["UID"]) == uid]
    return item


def _mail(app, kind: str) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                       .order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def _facilitator_feed(app, role_client):
    return _feed(app, role_client("facilitator"))


# --- the feed ----------------------------------------------------------------------------------


def test_a_booking_is_in_both_feeds_and_cancelling_takes_it_off(app, world, slots, participants,
                                                                 role_client):
    (me,) = participants(1)
    mine, theirs = _feed(app, me), _facilitator_feed(app, role_client)
    assert _items(app, mine) == []
    assert _items(app, theirs) == []
    assert _book(me, world, slots[0], note="Making a budget sheet ✨").status_code == 303
    slot = _slot(app, slots[0])
    item = _one(_items(app, mine), slot.uid)
    assert (str(item["STATUS"]), item["SEQUENCE"]) == ("CONFIRMED", slot.sequence)
    assert slot.sequence == 1  # booking is a change the calendars see
    assert str(item["SUMMARY"]) == "1:1 with Sam Facilitator"
    assert item["DTSTART"].params["TZID"] == "Europe/London"
    assert item.decoded("DTSTART") == datetime(2027, 3, 17, 10, 0, tzinfo=LONDON)
    assert item.decoded("DTEND") == datetime(2027, 3, 17, 10, 30, tzinfo=LONDON)
    assert str(item["LOCATION"]) == "Room 4"
    assert "Making a budget sheet ✨" in str(item["DESCRIPTION"])
    assert str(item["URL"]) == f"https://dap.example.org{_path(world, slots[0])}"
    facilitators = _one(_items(app, theirs), slot.uid)  # the same entry: one UID
    with app.app_context():
        name = db.session.get(User, me.user_id).name
    assert str(facilitators["SUMMARY"]) == f"1:1 with {name}"
    assert "Making a budget sheet ✨" in str(facilitators["DESCRIPTION"])
    assert (str(facilitators["STATUS"]), facilitators["SEQUENCE"]) == ("CONFIRMED", 1)

    assert _cancel(me, world, slots[0]).status_code == 303
    item = _one(_items(app, mine), slot.uid)
    assert (str(item["STATUS"]), item["SEQUENCE"]) == ("CANCELLED", 2)
    facilitators = _one(_items(app, theirs), slot.uid)
    assert (str(facilitators["STATUS"]), facilitators["SEQUENCE"]) == ("CANCELLED", 2)


def test_a_facilitators_cancelling_and_withdrawing_reach_the_feed_with_the_message(
        app, world, slots, participants, role_client):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).support_bookings_max = 2
        db.session.commit()
    (me,) = participants(1)
    mine = _feed(app, me)
    assert _book(me, world, slots[0]).status_code == 303
    assert _book(me, world, slots[1]).status_code == 303
    facilitator = role_client("facilitator")
    assert _cancel(facilitator, world, slots[0], message="I am unwell").status_code == 303
    assert post_form(facilitator, _path(world, slots[1], "withdraw"),
                     {"message": "Room closed"}).status_code == 303
    items = _items(app, mine)
    first, second = (_one(items, _slot(app, s).uid) for s in slots[:2])
    assert str(first["STATUS"]) == str(second["STATUS"]) == "CANCELLED"
    assert "Cancelled: I am unwell" in str(first["DESCRIPTION"])
    assert "Cancelled: Room closed" in str(second["DESCRIPTION"])
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (2, 2)


def test_the_sequence_goes_up_with_every_change_a_calendar_sees(app, world, slots, participants,
                                                                role_client):
    alice, bob = participants(2)
    facilitator = role_client("facilitator")
    theirs = _facilitator_feed(app, role_client)

    def seen() -> tuple[int, str, str]:
        slot = _slot(app, slots[0])
        item = _one(_items(app, theirs), slot.uid)
        assert item["SEQUENCE"] == slot.sequence
        return slot.sequence, str(item["STATUS"]), str(item["SUMMARY"])

    assert _book(alice, world, slots[0]).status_code == 303
    assert _book(alice, world, slots[0]).status_code == 303  # the same again: no change
    one = seen()
    assert _cancel(alice, world, slots[0]).status_code == 303
    two = seen()
    assert _book(bob, world, slots[0]).status_code == 303  # someone else takes it
    three = seen()
    assert _cancel(facilitator, world, slots[0]).status_code == 303
    four = seen()
    assert [s for s, *_ in (one, two, three, four)] == [1, 2, 3, 4]
    assert [st for _, st, _ in (one, two, three, four)] == ["CONFIRMED", "CANCELLED",
                                                            "CONFIRMED", "CANCELLED"]
    assert one[2] != three[2]  # who with changed
    assert post_form(facilitator, _path(world, slots[0], "withdraw"), {}).status_code == 303
    assert seen()[:2] == (5, "CANCELLED")
    # a free slot withdrawn is a change too, though nobody's calendar holds it
    assert post_form(facilitator, _path(world, slots[1], "withdraw"), {}).status_code == 303
    assert _slot(app, slots[1]).sequence == 1


def test_a_slot_across_the_clock_change_keeps_its_local_times(app, world, publish, participants):
    # Sunday 28 March 2027: the UK clocks go from 01:00 GMT to 02:00 BST
    assert publish(day="2027-03-28", starts="00:30", ends="03:00", slot_minutes="").status_code \
        == 303
    assert publish(day="2027-03-29", starts="10:00", ends="10:30", slot_minutes="").status_code \
        == 303
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).support_bookings_max = 2
        db.session.commit()
    across, after = _slot_ids(app)
    (me,) = participants(1)
    for slot_id in (across, after):
        assert _book(me, world, slot_id).status_code == 303
    items = _items(app, _feed(app, me))
    assert [i.decoded("DTSTART") for i in items] == [
        datetime(2027, 3, 28, 0, 30, tzinfo=LONDON), datetime(2027, 3, 29, 10, 0, tzinfo=LONDON)]
    start, end = items[0].decoded("DTSTART"), items[0].decoded("DTEND")
    assert (start.utcoffset(), end.utcoffset()) == (timedelta(0), timedelta(hours=1))
    assert (end.hour, end.minute) == (3, 0)
    # 2.5 hours on the clock, 90 minutes long (same-zone subtraction would read the clock)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=90)
    assert items[1].decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 29, 9, 0, tzinfo=UTC)
    calendar = icalendar.Calendar.from_ical(app.test_client().get(_feed(app, me)).data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_events_and_sessions_share_one_feed_in_order(app, world, slots, participants,
                                                    role_client):
    (me,) = participants(1)
    assert post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/events/new",
                     FORM).status_code == 303  # Saturday 20 March
    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    answer(me, world["cohort"], event_id, True)
    assert _book(me, world, slots[0]).status_code == 303  # Wednesday 17 March
    items = _items(app, _feed(app, me))
    assert [str(i["SUMMARY"]) for i in items] == ["1:1 with Sam Facilitator",
                                                  "Writing for screens"]


def test_a_video_link_is_only_in_the_calendar_of_people_in_the_call(app, world, publish,
                                                                    participants):
    assert publish(mode="video", place="", join_url="https://meet.example.org/abc",
                   slot_minutes="").status_code == 303
    (slot_id,) = _slot_ids(app)
    (me,) = participants(1)
    assert _book(me, world, slot_id).status_code == 303
    mine = _feed(app, me)
    item = _items(app, mine)[0]
    assert str(item["LOCATION"]) == "https://meet.example.org/abc"
    assert "Join: https://meet.example.org/abc" in str(item["DESCRIPTION"])
    assert _cancel(me, world, slot_id).status_code == 303
    item = _items(app, mine)[0]
    assert "meet.example.org" not in item.to_ical().decode()


def test_the_facilitators_calendar_shows_a_long_note_short(app, world, slots, participants,
                                                           role_client):
    (me,) = participants(1)
    assert _book(me, world, slots[0], note="word " * 199).status_code == 303
    item = _items(app, _facilitator_feed(app, role_client))[0]
    help_line = next(line for line in str(item["DESCRIPTION"]).splitlines()
                     if line.startswith("Help with"))
    assert len(help_line) <= len("Help with: ") + 200
    assert help_line.endswith("…")


# --- the feed's queries stay flat --------------------------------------------------------------


def _seed(app, world, participant_id: int, count: int) -> None:
    """``count`` more slots of the world's facilitator booked by the participant (one in
    three cancelled), written straight to the database (the limit is for the booking
    form)."""
    with app.app_context():
        have = db.session.scalar(select(db.func.count(SupportSlot.id))) or 0
        for n in range(have, have + count):
            start = T0 + timedelta(days=1, hours=n)
            slot = SupportSlot(cohort_id=world["cohort"], facilitator_id=world["facilitator"],
                               starts_at=start, ends_at=start + timedelta(minutes=30),
                               mode=SlotMode.PHONE, place="I will call you",
                               uid=f"{uuid.uuid4().hex}@dap-support", sequence=1)
            db.session.add(slot)
            db.session.flush()
            db.session.add(SupportBooking(
                slot_id=slot.id, participant_id=participant_id, note=f"Note {n}",
                booked_by_id=participant_id,
                status=BookingStatus.CANCELLED if n % 3 == 0 else BookingStatus.BOOKED))
        db.session.commit()


def test_the_feeds_query_count_does_not_grow_with_the_bookings(app, world, participants,
                                                                role_client):
    (me,) = participants(1)
    feeds = {"participant": _feed(app, me), "facilitator": _facilitator_feed(app, role_client)}
    _seed(app, world, me.user_id, 3)
    small = {}
    for who, path in feeds.items():
        assert len(_items(app, path)) == 3
        with counting_queries(app) as statements:
            app.test_client().get(path)
        small[who] = len(statements)
    _seed(app, world, me.user_id, 30)
    for who, path in feeds.items():
        assert len(_items(app, path)) == 33
        with counting_queries(app) as statements:
            app.test_client().get(path)
        assert len(statements) == small[who], (who, statements)


# --- a file per booking ------------------------------------------------------------------------


def test_the_participant_adds_their_booking_from_its_page(app, world, slots, participants,
                                                          role_client):
    me, other = participants(2)
    assert _book(me, world, slots[0]).status_code == 303
    page = me.get(_path(world, slots[0])).get_data(as_text=True)
    link = _path(world, slots[0], "session.ics")
    assert f'href="{link}"' in page
    assert "Add to my calendar" in page
    response = me.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    (item,) = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    fed = _one(_items(app, _feed(app, me)), str(item["UID"]))
    assert (str(item["UID"]), item["SEQUENCE"]) == (str(fed["UID"]), fed["SEQUENCE"])
    assert str(item["UID"]) == _slot(app, slots[0]).uid
    # nobody else's: another participant, the patron, the facilitator, an unknown slot
    assert other.get(link).status_code == 404
    assert role_client("patron").get(link).status_code == 404
    assert role_client("facilitator").get(link).status_code == 404
    assert other.get(_path(world, slots[1], "session.ics")).status_code == 404
    assert me.get(_path(world, 999999, "session.ics")).status_code == 404
    # once cancelled, the file says so, so that a calendar importing it takes it off
    assert _cancel(me, world, slots[0]).status_code == 303
    (item,) = icalendar.Calendar.from_ical(me.get(link).data).walk("VEVENT")
    assert str(item["STATUS"]) == "CANCELLED"
    assert "Add to my calendar" not in me.get(_path(world, slots[0])).get_data(as_text=True)


# --- emails with calendar entries --------------------------------------------------------------


def test_booking_emails_a_confirmation_with_a_calendar_request_once(app, world, slots,
                                                                   participants):
    (me,) = participants(1)
    assert _book(me, world, slots[0], note="Spreadsheets").status_code == 303
    assert _book(me, world, slots[0]).status_code == 303  # the same again: no second email
    (sent,) = _mail(app, "support_booked")
    with app.app_context():
        address = db.session.get(User, me.user_id).email
    assert sent.to_addr == address
    assert "Sam Facilitator" in sent.body_text
    assert "Wednesday 17 March at 10:00" in sent.body_text
    calendar = icalendar.Calendar.from_ical(sent.calendar_ics)
    assert str(calendar["METHOD"]) == "REQUEST"
    (item,) = calendar.walk("VEVENT")
    slot = _slot(app, slots[0])
    assert (str(item["UID"]), item["SEQUENCE"], str(item["STATUS"])) == (slot.uid, 1, "CONFIRMED")
    assert str(item["ORGANIZER"]) == "mailto:dap@dap.example.org"
    assert str(item["ATTENDEE"]) == f"mailto:{address}"
    assert item["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"


@pytest.mark.parametrize("how", ["cancel", "withdraw"])
def test_a_facilitator_cancelling_emails_a_calendar_cancel(app, world, slots, participants,
                                                            role_client, how):
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    path = _path(world, slots[0], how)
    assert post_form(role_client("facilitator"), path, {"message": "Sorry"}).status_code == 303
    (sent,) = _mail(app, "support_cancelled")
    assert "Sorry" in sent.body_text
    assert "takes it out of your calendar" in sent.body_text
    calendar = icalendar.Calendar.from_ical(sent.calendar_ics)
    assert str(calendar["METHOD"]) == "CANCEL"
    (item,) = calendar.walk("VEVENT")
    slot = _slot(app, slots[0])
    assert (str(item["UID"]), str(item["STATUS"])) == (slot.uid, "CANCELLED")
    booked = icalendar.Calendar.from_ical(_mail(app, "support_booked")[0].calendar_ics)
    assert item["SEQUENCE"] == slot.sequence > booked.walk("VEVENT")[0]["SEQUENCE"]


def test_cancelling_your_own_booking_takes_it_out_of_your_calendar_too(app, world, slots,
                                                                      participants):
    # the confirmation put it in their calendar: without a CANCEL it would stay there
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    assert _cancel(me, world, slots[0]).status_code == 303
    (sent,) = _mail(app, "support_cancelled")
    assert "You cancelled your 1:1 session" in sent.body_text
    assert str(icalendar.Calendar.from_ical(sent.calendar_ics)["METHOD"]) == "CANCEL"
    # booking it again is a new booking: a new confirmation, with a higher SEQUENCE
    assert _book(me, world, slots[0]).status_code == 303
    first, again = _mail(app, "support_booked")
    sequences = [icalendar.Calendar.from_ical(m.calendar_ics).walk("VEVENT")[0]["SEQUENCE"]
                 for m in (first, again)]
    assert sequences == [1, 3]
