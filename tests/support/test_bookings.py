"""Booking 1:1 slots: one booking per slot (also when two people book at once), a limit per
participant, cut-offs for booking and cancelling, facilitators cancelling and withdrawing
with a message, the waitlist, and the agenda."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from dap.support.models import BookingStatus, SupportBooking, SupportSlot, SupportWaiter
from tests import factories
from tests.concurrency import at_once, worker_app
from tests.conftest import post_form
from tests.support.conftest import T0


def _slot_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(SupportSlot.id).order_by(SupportSlot.starts_at)))


def _bookings(app) -> list[tuple[int, int, str]]:
    with app.app_context():
        return [(b.slot_id, b.participant_id, b.status.value) for b in db.session.scalars(
            select(SupportBooking).order_by(SupportBooking.id))]


def _mail(app, kind: str) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))
        db.session.expunge_all()
        return rows


def _book(client, world, slot_id, note="Help with spreadsheets"):
    return post_form(client, f"/cohorts/{world['cohort']}/support/slots/{slot_id}/book",
                     {"note": note})


def _cancel(client, world, slot_id, message=""):
    return post_form(client, f"/cohorts/{world['cohort']}/support/slots/{slot_id}/cancel",
                     {"message": message})


@pytest.fixture
def slots(app, publish):
    assert publish().status_code == 303
    return _slot_ids(app)


def test_booking_a_slot_shows_the_facilitator_who_and_why(app, world, slots, participants,
                                                          role_client):
    first = slots[0]
    alice, bob = participants(2)
    response = _book(alice, world, first, note="Making a budget sheet ✨")
    assert response.status_code == 303
    page = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert "You’re booked" in page
    assert "Making a budget sheet ✨" in page
    facilitator = role_client("facilitator")
    slot_page = facilitator.get(f"/cohorts/{world['cohort']}/support/slots/{first}")
    assert "Making a budget sheet ✨" in slot_page.get_data(as_text=True)
    # Bob sees the slot taken, without Alice's name or note, and cannot book it.
    taken = bob.get(f"/cohorts/{world['cohort']}/support/slots/{first}").get_data(as_text=True)
    assert "Someone has booked this slot" in taken
    assert "Making a budget sheet" not in taken
    refused = _book(bob, world, first)
    assert refused.status_code == 400
    assert "Someone has just booked this slot" in refused.get_data(as_text=True)
    assert _bookings(app) == [(first, alice.user_id, "booked")]
    free = bob.get(f"/cohorts/{world['cohort']}/support").get_data(as_text=True)
    assert f"/support/slots/{first}\"" not in free  # not offered any more
    assert f"/support/slots/{slots[1]}\"" in free


def test_booking_twice_is_one_booking_and_the_limit_holds(app, world, slots, participants):
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    assert _book(me, world, slots[0]).status_code == 303  # the same again: nothing new
    second = _book(me, world, slots[1])
    assert second.status_code == 400
    assert "1 1:1 session booked at a time" in second.get_data(as_text=True)
    assert _cancel(me, world, slots[0]).status_code == 303
    assert _book(me, world, slots[1]).status_code == 303
    assert [(s, st) for s, _, st in _bookings(app)] == [(slots[0], "cancelled"),
                                                         (slots[1], "booked")]


def test_the_cohort_setting_allows_more_bookings(app, world, slots, participants):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).support_bookings_max = 2
        db.session.commit()
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    assert _book(me, world, slots[1]).status_code == 303
    assert _book(me, world, slots[2]).status_code == 400


def test_cut_offs_for_booking_and_cancelling(app, world, slots, participants, frozen):
    # the first slot: Wednesday 17 March, 10:00 UTC; booking closes an hour before,
    # cancelling two hours before
    first = slots[0]
    alice, bob = participants(2)
    assert _book(alice, world, first).status_code == 303
    frozen(T0 + timedelta(days=2, minutes=-1))  # 08:59: past the cancel cut-off (08:00)
    late = _cancel(alice, world, first)
    assert late.status_code == 400
    assert "too late to cancel" in late.get_data(as_text=True)
    assert [st for *_, st in _bookings(app)] == ["booked"]
    frozen(T0 + timedelta(days=2, minutes=2))  # 09:02: the 10:30 slot closes at 09:30
    assert _book(bob, world, slots[1]).status_code == 303
    frozen(T0 + timedelta(days=2, hours=1, minutes=45))  # 10:45
    past = _book(bob, world, first)
    assert past.status_code == 400
    assert "This slot has passed." in past.get_data(as_text=True)


def test_booking_closes_before_the_start(app, world, slots, participants, frozen):
    (me,) = participants(1)
    frozen(T0 + timedelta(days=2, minutes=30))  # 09:30, the first slot at 10:00
    response = _book(me, world, slots[0])
    assert response.status_code == 400
    assert "Booking for this slot has closed" in response.get_data(as_text=True)


def test_a_facilitator_cancels_with_a_message_and_the_first_waiting_is_told(
        app, world, slots, participants, role_client):
    booked, waiting_first, waiting_second = participants(3)
    for slot_id, client in zip(slots, (booked,), strict=False):
        assert _book(client, world, slot_id).status_code == 303
    for client in (waiting_first, waiting_second):
        assert post_form(client, f"/cohorts/{world['cohort']}/support/waitlist",
                         {"join": "1"}).status_code == 303
    facilitator = role_client("facilitator")
    response = _cancel(facilitator, world, slots[0], message="I am unwell, sorry <b>!</b>")
    assert response.status_code == 303
    (cancelled,) = _mail(app, "support_cancelled")
    assert "I am unwell, sorry <b>!</b>" in cancelled.body_text
    assert "&lt;b&gt;" in cancelled.body_html
    (told,) = _mail(app, "support_slot_free")  # the first waiting, not the second
    with app.app_context():
        from dap.accounts.models import User

        assert told.to_addr == db.session.get(User, waiting_first.user_id).email
        still = db.session.scalars(select(SupportWaiter.participant_id).where(
            SupportWaiter.notified_at.is_(None))).all()
    assert still == [waiting_second.user_id]


def test_new_slots_tell_as_many_people_waiting(app, world, publish, participants):
    waiters = participants(3)
    for client in waiters:
        post_form(client, f"/cohorts/{world['cohort']}/support/waitlist", {"join": "1"})
    post_form(waiters[0], f"/cohorts/{world['cohort']}/support/waitlist", {"join": "1"})  # twice
    assert publish(slot_minutes="60").status_code == 303  # two slots
    assert len(_mail(app, "support_slot_free")) == 2
    assert publish(day="2027-03-18").status_code == 303  # four more, one person left
    assert len(_mail(app, "support_slot_free")) == 3


def test_booking_takes_you_off_the_waitlist_and_leaving_works(app, world, slots, participants):
    (me,) = participants(1)
    path = f"/cohorts/{world['cohort']}/support/waitlist"
    assert post_form(me, path, {"join": "1"}).status_code == 303
    assert "You are on the waitlist" in me.get(f"/cohorts/{world['cohort']}/support") \
        .get_data(as_text=True)
    assert post_form(me, path, {"join": "0"}).status_code == 303
    assert post_form(me, path, {"join": "1"}).status_code == 303
    assert _book(me, world, slots[0]).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(SupportWaiter)).all() == []
    assert post_form(me, path, {"join": "maybe"}).status_code == 400


def test_withdrawing_a_booked_slot_tells_the_participant(app, world, slots, participants,
                                                         role_client):
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    facilitator = role_client("facilitator")
    response = post_form(facilitator,
                         f"/cohorts/{world['cohort']}/support/slots/{slots[0]}/withdraw",
                         {"message": "Room closed"})
    assert response.status_code == 303
    assert [st for *_, st in _bookings(app)] == ["cancelled"]
    assert len(_mail(app, "support_cancelled")) == 1
    again = _book(me, world, slots[0])
    assert again.status_code == 400
    assert "withdrawn" in again.get_data(as_text=True)


def test_who_may_do_what(app, world, slots, participants, role_client, login_as):
    base = f"/cohorts/{world['cohort']}/support"
    patron = role_client("patron")
    assert patron.get(base).status_code == 404
    assert patron.get(f"{base}/slots/{slots[0]}").status_code == 404
    assert _book(patron, world, slots[0]).status_code == 403
    outsider = role_client("outsider")
    assert outsider.get(base).status_code == 404
    assert _book(outsider, world, slots[0]).status_code == 404
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    other = participants(1)[0]
    assert _cancel(other, world, slots[0]).status_code == 404  # not theirs
    with app.app_context():
        cohort = factories.make_cohort(name="Elsewhere")
        db.session.commit()
        elsewhere = cohort.id
    assert me.get(f"/cohorts/{elsewhere}/support/slots/{slots[1]}").status_code == 404
    assert me.get(f"{base}/slots/999999").status_code == 404


def test_a_note_too_long_is_refused_and_keeps_the_slot_free(app, world, slots, participants):
    (me,) = participants(1)
    response = _book(me, world, slots[0], note="x" * 1001)
    assert response.status_code == 400
    assert _bookings(app) == []


def test_the_agenda_shows_the_week_across_cohorts(app, world, slots, participants,
                                                  role_client):
    (me,) = participants(1)
    assert _book(me, world, slots[1], note="Video calls").status_code == 303
    facilitator = role_client("facilitator")
    week = facilitator.get("/support/agenda").get_data(as_text=True)
    assert "Wednesday 17 March" in week
    assert "1 of 4 slots booked" in week
    assert "Video calls" in week
    day = facilitator.get("/support/agenda?view=day&day=2027-03-17").get_data(as_text=True)
    assert day.count("Free</span>") == 3
    empty = facilitator.get("/support/agenda?view=day&day=2027-03-18").get_data(as_text=True)
    assert "0 of 0 slots booked" in empty
    for bad in ("view=month", "day=2027-13-01", "day=yesterday", "day=9999-01-01",
                "day=" + "1" * 500):
        assert facilitator.get(f"/support/agenda?{bad}").status_code == 404, bad
    assert role_client("participant").get("/support/agenda").status_code == 403


# --- two people, one slot ---------------------------------------------------------------------


def _book_at_once(database_url: str, slot_id: int, user_id: int, at: float, barrier,
                  results) -> None:
    from dap.accounts.models import User
    from dap.errors import DomainError
    from dap.support import services

    with worker_app(database_url, at):
        slot = db.session.get(SupportSlot, slot_id)
        person = db.session.get(User, user_id)
        db.session.commit()
        barrier.wait()
        try:
            services.book(slot, person, note="", actor=person, base_url="http://localhost")
            db.session.commit()
            results.put("booked")
        except DomainError as error:
            db.session.rollback()
            results.put(error.message)


def test_two_people_booking_one_slot_at_once_get_one_booking(app, world, slots, participants,
                                                             database_url):
    first, second = participants(2)
    outcomes = at_once(_book_at_once, [(database_url, slots[0], client.user_id, T0.timestamp())
                                       for client in (first, second)])
    assert outcomes == ["Someone has just booked this slot: choose another one.", "booked"]
    with app.app_context():
        assert db.session.scalars(select(SupportBooking.status).where(
            SupportBooking.slot_id == slots[0])).all() == [BookingStatus.BOOKED]


def test_past_sessions_are_listed_for_notes_and_action_points(app, world, slots, participants,
                                                              role_client, frozen):
    me, other = participants(2)
    assert _book(me, world, slots[0]).status_code == 303
    assert _book(other, world, slots[1]).status_code == 303
    frozen(T0 + timedelta(days=3))  # the day after
    base = f"/cohorts/{world['cohort']}/support"
    facilitator_page = role_client("facilitator").get(base).get_data(as_text=True)
    assert "Sessions in the last 60 days" in facilitator_page
    assert f"/support/slots/{slots[0]}\"" in facilitator_page
    assert f"/support/slots/{slots[1]}\"" in facilitator_page
    mine = me.get(base).get_data(as_text=True)
    assert "Your past sessions" in mine
    assert f"/support/slots/{slots[0]}\"" in mine
    assert f"/support/slots/{slots[1]}\"" not in mine  # someone else's
    frozen(T0 + timedelta(days=70))
    assert "Sessions in the last 60 days" not in role_client("facilitator").get(base) \
        .get_data(as_text=True)


def test_an_archived_cohort_takes_no_bookings(app, world, slots, participants):
    (me,) = participants(1)
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    response = _book(me, world, slots[0])
    assert response.status_code == 400
    assert "This cohort is archived" in response.get_data(as_text=True)
    assert _bookings(app) == []


def test_the_1to1_page_looks_four_weeks_ahead_and_keeps_my_later_booking(
        app, world, publish, participants, role_client):
    assert publish().status_code == 303  # Wednesday 17 March
    assert publish(day="2027-04-20").status_code == 303  # five weeks on
    later = _slot_ids(app)[-1]
    (me,) = participants(1)
    assert _book(me, world, later).status_code == 303
    base = f"/cohorts/{world['cohort']}/support"
    facilitator = role_client("facilitator").get(base).get_data(as_text=True)
    assert "Wednesday 17 March" in facilitator
    assert "Tuesday 20 April" not in facilitator
    mine = me.get(base).get_data(as_text=True)
    assert f"/support/slots/{later}\"" in mine  # under "Your sessions"


def test_emailed_links_use_the_base_url_not_the_requests_host(app, world, slots, participants):
    app.config["BASE_URL"] = "https://dap.example.org/"
    (me,) = participants(1)
    assert _book(me, world, slots[0]).status_code == 303
    (booked,) = _mail(app, "support_booked")
    assert f"https://dap.example.org/cohorts/{world['cohort']}/support" in booked.body_text
    assert "localhost" not in booked.body_text
