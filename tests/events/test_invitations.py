"""Emails that carry a calendar entry (RFC 5546): the invitation when an event is
scheduled (METHOD:REQUEST), the change and the freed seat (REQUEST again, SEQUENCE up),
the cancellation (METHOD:CANCEL); delivered through a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.events import services
from dap.events.models import Event, EventInvitation
from dap.extensions import db
from dap.jobs.registry import deliver_outbox
from dap.nudges.models import OutboxMessage
from tests.conftest import post_form
from tests.events.conftest import FORM, answer
from tests.smtp import LocalSMTP


@pytest.fixture(autouse=True)
def _mail_settings(app):
    app.config["BASE_URL"] = "https://dap.example.org"
    app.config["MAIL_FROM"] = "DAP Programmes <dap@dap.example.org>"


def _events(app) -> list[Event]:
    with app.app_context():
        events = list(db.session.scalars(select(Event).order_by(Event.id)))
        db.session.expunge_all()
        return events


def _mail(app, kind: str) -> dict[str, OutboxMessage]:
    """Queued emails of ``kind`` by address."""
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))
        db.session.expunge_all()
    by_address = {row.to_addr: row for row in rows}
    assert len(by_address) == len(rows), "one email per person"
    return by_address


def _email(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


def _calendar(ics: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(ics)


def test_scheduling_with_invitations_emails_each_participant_a_calendar_request(
        app, world, schedule, participants):
    others = participants(2)
    response = schedule(invite="y")
    assert response.status_code == 303
    follow = response.headers["Location"]
    event = _events(app)[0]
    sent = _mail(app, "event_invitation")
    expected = {_email(app, world["participant"]), *(_email(app, c.user_id) for c in others)}
    assert set(sent) == expected  # not the patron, not the facilitator
    ics = sent[_email(app, others[0].user_id)].calendar_ics
    calendar = _calendar(ics)
    assert str(calendar["method"]) == "REQUEST"
    (item,) = calendar.walk("VEVENT")
    assert str(item["uid"]) == event.uid
    assert int(item["sequence"]) == 0
    assert str(item["organizer"]) == "mailto:dap@dap.example.org"
    attendee = item["attendee"]
    assert str(attendee) == f"mailto:{_email(app, others[0].user_id)}"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee.params["RSVP"] == "FALSE"
    assert item.decoded("dtstart").tzinfo.key == "Europe/London"
    assert follow.endswith(f"/events/{event.id}")
    with app.app_context():
        assert db.session.scalar(select(db.func.count(EventInvitation.id))) == 3


def test_the_flash_says_how_many_were_invited(world, participants, role_client):
    participants(1)
    facilitator = role_client("facilitator")
    response = post_form(facilitator, f"/cohorts/{world['cohort']}/events/new",
                         {**FORM, "invite": "y"})
    page = facilitator.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitations are on their way to 2 participants." in page


def test_without_the_box_ticked_nobody_is_invited(app, schedule, participants):
    participants(2)
    assert schedule().status_code == 303
    assert _mail(app, "event_invitation") == {}


def test_the_form_offers_invitations_ticked(world, role_client):
    page = role_client("facilitator").get(
        f"/cohorts/{world['cohort']}/events/new").get_data(as_text=True)
    (box,) = re.findall(r'<input[^>]*name="invite"[^>]*>', page)
    assert "checked" in box
    assert 'type="checkbox"' in box


def test_a_series_is_one_email_holding_every_date_at_the_same_local_time(app, world, schedule):
    # weekly from Saturday 20 March 2027: the UK clocks go forward on 28 March
    assert schedule(invite="y", repeat="7", count="3").status_code == 303
    events = _events(app)
    sent = _mail(app, "event_invitation")
    assert list(sent) == [_email(app, world["participant"])]
    row = sent[_email(app, world["participant"])]
    assert "(3 dates)" in row.subject
    items = _calendar(row.calendar_ics).walk("VEVENT")
    assert [str(i["uid"]) for i in items] == [e.uid for e in events]
    local = [i.decoded("dtstart") for i in items]
    assert {(t.hour, t.minute) for t in local} == {(10, 0)}
    utc_hours = [t.utcoffset() for t in local]
    assert utc_hours == [timedelta(0), timedelta(0), timedelta(hours=1)]  # 28 March
    assert "Saturday 20 March, 10:00" in row.body_text
    assert "Saturday 3 April, 10:00" in row.body_text


def test_inviting_twice_sends_nothing_new(app, world, schedule):
    assert schedule(invite="y").status_code == 303
    with app.app_context():
        event = db.session.scalars(select(Event)).one()
        assert services.invite([event], base_url="https://dap.example.org") == 0
        db.session.commit()
    assert len(_mail(app, "event_invitation")) == 1


def test_a_change_reaches_going_waiting_and_invited_but_not_who_declined(
        app, world, schedule, participants, role_client):
    going, waiting, declined = participants(3)  # invited: these three and the world's
    assert schedule(invite="y", capacity="1").status_code == 303
    event = _events(app)[0]
    cohort = world["cohort"]
    answer(going, cohort, event.id, True)
    answer(waiting, cohort, event.id, True)
    answer(declined, cohort, event.id, False)
    moved = post_form(role_client("facilitator"), f"/cohorts/{cohort}/events/{event.id}/edit",
                      {**FORM, "capacity": "1", "starts": "11:00", "ends": "13:00"})
    assert moved.status_code == 303
    sent = _mail(app, "event_changed")
    addresses = {name: _email(app, c.user_id)
                 for name, c in (("going", going), ("waiting", waiting), ("declined", declined))}
    world_participant = _email(app, world["participant"])
    assert set(sent) == {addresses["going"], addresses["waiting"], world_participant}
    going_item = _calendar(sent[addresses["going"]].calendar_ics).walk("VEVENT")[0]
    assert int(going_item["sequence"]) == 1
    assert going_item["attendee"].params["PARTSTAT"] == "ACCEPTED"
    assert going_item.decoded("dtstart").hour == 11
    # invited and waiting: the entry they hold is updated, not yet accepted
    waiting_item = _calendar(sent[addresses["waiting"]].calendar_ics).walk("VEVENT")[0]
    assert waiting_item["attendee"].params["PARTSTAT"] == "NEEDS-ACTION"
    assert "updates it in your calendar" in sent[addresses["going"]].body_text


def test_waiting_without_an_invitation_gets_the_news_but_no_calendar_entry(
        app, world, schedule, participants, role_client):
    assert schedule(capacity="1").status_code == 303  # nobody invited
    event = _events(app)[0]
    going, waiting = participants(2)
    answer(going, world["cohort"], event.id, True)
    answer(waiting, world["cohort"], event.id, True)
    post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/events/{event.id}/edit",
              {**FORM, "capacity": "1", "venue": "Room 9"})
    sent = _mail(app, "event_changed")
    assert sent[_email(app, waiting.user_id)].calendar_ics == ""
    assert "calendar" not in sent[_email(app, waiting.user_id)].body_text
    assert "METHOD:REQUEST" in sent[_email(app, going.user_id)].calendar_ics


def test_a_freed_seat_comes_with_an_accepted_calendar_entry(
        app, world, schedule, participants):
    assert schedule(capacity="1").status_code == 303
    event = _events(app)[0]
    first, second = participants(2)
    answer(first, world["cohort"], event.id, True)
    answer(second, world["cohort"], event.id, True)
    answer(first, world["cohort"], event.id, False)
    row = _mail(app, "event_promoted")[_email(app, second.user_id)]
    item = _calendar(row.calendar_ics).walk("VEVENT")[0]
    assert str(_calendar(row.calendar_ics)["method"]) == "REQUEST"
    assert item["attendee"].params["PARTSTAT"] == "ACCEPTED"
    assert str(item["uid"]) == event.uid


def test_cancelling_sends_a_calendar_cancel_with_the_same_uid_and_a_higher_sequence(
        app, world, schedule, participants, role_client):
    assert schedule(invite="y").status_code == 303
    event = _events(app)[0]
    (going,) = participants(1)
    answer(going, world["cohort"], event.id, True)
    post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/events/{event.id}/cancel",
              {"reason": "The room flooded"})
    sent = _mail(app, "event_cancelled")
    row = sent[_email(app, going.user_id)]
    calendar = _calendar(row.calendar_ics)
    assert str(calendar["method"]) == "CANCEL"
    item = calendar.walk("VEVENT")[0]
    assert str(item["uid"]) == event.uid
    assert int(item["sequence"]) == 1
    assert str(item["status"]) == "CANCELLED"
    # the world's participant was invited and never answered: their calendar is cleared too
    invited_row = sent[_email(app, world["participant"])]
    assert "METHOD:CANCEL" in invited_row.calendar_ics
    assert "takes it out of your calendar" in invited_row.body_text


def test_the_invitation_reaches_a_real_mail_server_as_calendar_and_attachment(
        app, world, schedule):
    assert schedule(invite="y").status_code == 303
    server = LocalSMTP().start()
    app.config["MAIL_URL"] = server.url
    try:
        with app.app_context():
            report = deliver_outbox(app)
    finally:
        server.stop()
    assert "sent 1" in report
    (received,) = server.inbox.received
    message = received.message
    parts = {part.get_content_type(): part for part in message.walk()}
    calendar_part = parts["text/calendar"]
    assert calendar_part.get_param("method") == "REQUEST"
    attachment = parts["application/ics"]
    assert attachment.get_filename() == "invite.ics"
    body = calendar_part.get_content()
    assert _calendar(body).walk("VEVENT")[0]["summary"] == FORM["title"]
    assert _calendar(attachment.get_content().decode()).walk("VEVENT")[0]["summary"] \
        == FORM["title"]
    assert "text/plain" in parts
    assert "text/html" in parts
