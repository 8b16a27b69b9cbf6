"""Booking 1:1 sessions for managed participants (people without an account, whose plan a
facilitator keeps): a facilitator of the cohort books a free slot for them from the slot's
page, until the start; the limit holds; who booked for whom is audited; cancelling for them;
bad choices refused."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from dap.support.models import SupportBooking, SupportSlot
from tests import factories
from tests.conftest import post_form
from tests.support.conftest import T0

OFFER = "Book for someone without an account"


@pytest.fixture
def slots(app, publish):
    assert publish().status_code == 303  # Wednesday 17 March, 10:00 to 12:00 in 30 minutes
    with app.app_context():
        return list(db.session.scalars(select(SupportSlot.id).order_by(SupportSlot.starts_at)))


@pytest.fixture
def facilitator(role_client):
    return role_client("facilitator")


def _add_managed(app, client, world, name: str) -> int:
    """A managed participant, added through the people page's form; their user id."""
    response = post_form(client, f"/cohorts/{world['cohort']}/people/managed/new",
                         {"name": name, "team": ""})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.name == name))


@pytest.fixture
def doris(app, facilitator, world) -> int:
    return _add_managed(app, facilitator, world, "Doris Kaye")


def _page(world, slot_id: int, action: str = "") -> str:
    return f"/cohorts/{world['cohort']}/support/slots/{slot_id}" + (f"/{action}" if action else "")


def _offered(client, world, slot_id: int) -> dict[str, str]:
    """The people the slot page's booking-for form offers: ``{value: name}``."""
    page = client.get(_page(world, slot_id)).get_data(as_text=True)
    if OFFER not in page:
        return {}
    select_html = re.search(r'<select[^>]*name="participant"[^>]*>(.*?)</select>', page, re.S)
    return {value: html.unescape(name) for value, name in
            re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select_html.group(1))
            if value}


def _book_for(client, world, slot_id: int, participant, note: str = ""):
    return post_form(client, _page(world, slot_id, "book-for"),
                     {"participant": str(participant), "note": note})


def _bookings(app) -> list[tuple[int, int, int, str]]:
    with app.app_context():
        return [(b.slot_id, b.participant_id, b.booked_by_id, b.status.value)
                for b in db.session.scalars(select(SupportBooking).order_by(SupportBooking.id))]


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def test_a_facilitator_books_a_free_slot_for_someone_without_an_account(
        app, world, slots, facilitator, doris, participants):
    (alice,) = participants(1)  # has an account: books for herself, never offered
    assert _offered(facilitator, world, slots[0]) == {str(doris): "Doris Kaye"}
    response = _book_for(facilitator, world, slots[0], doris, note="Reading her email ✉️")
    assert response.status_code == 303
    page = facilitator.get(response.headers["Location"]).get_data(as_text=True)
    assert "Booked for them." in page
    assert "Doris Kaye (booked for them by Sam Facilitator)" in page
    assert "Reading her email ✉️" in page
    assert OFFER not in page  # taken now
    assert _bookings(app) == [(slots[0], doris, world["facilitator"], "booked")]
    (booked,) = _audit(app, "support.booked")
    assert (booked.actor_id, booked.subject_id) == (world["facilitator"], doris)
    assert booked.details["for_participant"] == doris
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage)).all() == []  # no address, no email
        assert db.session.get(SupportSlot, slots[0]).sequence == 1
    # the others see it taken
    free = alice.get(f"/cohorts/{world['cohort']}/support").get_data(as_text=True)
    assert f"/support/slots/{slots[0]}\"" not in free


def test_it_is_in_the_facilitators_calendar_feed(app, world, slots, facilitator, doris):
    import icalendar

    assert _book_for(facilitator, world, slots[0], doris).status_code == 303
    page = post_form(facilitator, "/calendar").get_data(as_text=True)
    address = re.search(r"https?://[^/]+(/calendar/[^<\s]+\.ics)", page).group(1)
    (item,) = icalendar.Calendar.from_ical(app.test_client().get(address).data).walk("VEVENT")
    assert (str(item["SUMMARY"]), str(item["STATUS"])) == ("1:1 with Doris Kaye", "CONFIRMED")


def test_a_facilitator_may_book_for_them_after_booking_closes_until_the_start(
        app, world, slots, facilitator, doris, frozen):
    frozen(T0 + timedelta(days=2, minutes=30))  # 09:30: booking the 10:00 slot closed at 09:00
    assert _offered(facilitator, world, slots[0]) == {str(doris): "Doris Kaye"}
    assert _book_for(facilitator, world, slots[0], doris).status_code == 303
    frozen(T0 + timedelta(days=2, hours=1, minutes=31))  # 10:31: the 10:30 slot has started
    assert _offered(facilitator, world, slots[1]) == {}
    late = _book_for(facilitator, world, slots[1], doris)
    assert late.status_code == 400
    assert "This slot has passed." in late.get_data(as_text=True)


def test_the_cohorts_limit_holds_for_them_too(app, world, slots, facilitator, doris):
    assert _book_for(facilitator, world, slots[0], doris).status_code == 303
    second = _book_for(facilitator, world, slots[1], doris)
    assert second.status_code == 400
    assert "Doris Kaye can have 1 1:1 session booked at a time" in second.get_data(as_text=True)
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).support_bookings_max = 2
        db.session.commit()
    assert _book_for(facilitator, world, slots[1], doris).status_code == 303


def test_cancelling_for_them_from_the_slot_page(app, world, slots, facilitator, doris):
    assert _book_for(facilitator, world, slots[0], doris).status_code == 303
    page = facilitator.get(_page(world, slots[0])).get_data(as_text=True)
    assert "Cancel the booking" in page
    response = post_form(facilitator, _page(world, slots[0], "cancel"), {"message": ""})
    assert response.status_code == 303
    assert [st for *_, st in _bookings(app)] == ["cancelled"]
    (cancelled,) = _audit(app, "support.cancelled")
    assert (cancelled.actor_id, cancelled.subject_id) == (world["facilitator"], doris)
    assert cancelled.details["for_participant"] == doris
    assert cancelled.details["by"] == "facilitator"
    assert _offered(facilitator, world, slots[0]) == {str(doris): "Doris Kaye"}  # free again
    assert _book_for(facilitator, world, slots[0], doris).status_code == 303


def test_participants_cancelling_their_own_are_not_audited_as_for_someone(
        app, world, slots, participants):
    (me,) = participants(1)
    assert post_form(me, _page(world, slots[0], "book"), {"note": ""}).status_code == 303
    assert post_form(me, _page(world, slots[0], "cancel"), {}).status_code == 303
    for action in ("support.booked", "support.cancelled"):
        (row,) = _audit(app, action)
        assert "for_participant" not in row.details
        assert row.subject_id is None


# --- bad input ---------------------------------------------------------------------------------


def _someone_elsewhere(app) -> int:
    """A managed participant of another cohort (with a facilitator of its own)."""
    with app.app_context():
        cohort = factories.make_cohort(name="Elsewhere")
        person = factories.make_user(email=None, name="Elsie Elsewhere", password="",
                                     is_managed=True)
        person.email = None
        factories.add_member(cohort, person, CohortRole.PARTICIPANT)
        db.session.commit()
        return person.id


@pytest.mark.parametrize(("choice", "message"), [
    ("", "Choose who the session is for."),
    ("abc", "Choose who the session is for."),
    ("-1", "Choose who the session is for."),
    ("1.5", "Choose who the session is for."),
    ("٣", "Choose who the session is for."),  # a digit, but not one of ours
    ("9" * 30, "Choose who the session is for."),
    ("999999", "Choose one of this cohort’s participants without an account."),
    ("participant", "Alex Participant has an account: they book for themselves."),
    ("facilitator", "Choose one of this cohort’s participants without an account."),
    ("patron", "Choose one of this cohort’s participants without an account."),
    ("elsewhere", "Choose one of this cohort’s participants without an account."),
])
def test_bad_choices_are_refused_with_a_message(app, world, slots, facilitator, doris, choice,
                                                message):
    chosen = {"participant": world["participant"], "facilitator": world["facilitator"],
              "patron": world["patron"], "elsewhere": None}.get(choice, choice)
    if choice == "elsewhere":
        chosen = _someone_elsewhere(app)
    response = _book_for(facilitator, world, slots[0], chosen)
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert message.replace("’", "'") in page.replace("’", "'")
    assert OFFER in page  # the form again, with its choices
    assert _bookings(app) == []
    assert _audit(app, "support.booked") == []


def test_the_patron_is_refused_as_a_patron_not_as_having_an_account(app, world, slots,
                                                                    facilitator):
    # a managed person who is a patron in this cohort, not a participant: not theirs to book
    with app.app_context():
        person = factories.make_user(email=None, name="Percy Patron", password="",
                                     is_managed=True)
        person.email = None
        factories.add_member(db.session.get(Cohort, world["cohort"]), person, CohortRole.PATRON)
        db.session.commit()
        person_id = person.id
    response = _book_for(facilitator, world, slots[0], person_id)
    assert response.status_code == 400
    assert "participants without an account" in html.unescape(response.get_data(as_text=True))


def test_someone_removed_from_the_cohort_is_not_offered_or_booked(app, world, slots, facilitator,
                                                                 doris):
    with app.app_context():
        membership_id = db.session.scalar(select(Membership.id).where(Membership.user_id == doris))
    assert post_form(facilitator, f"/cohorts/{world['cohort']}/people/{membership_id}/remove") \
        .status_code == 303
    assert _offered(facilitator, world, slots[0]) == {}
    response = _book_for(facilitator, world, slots[0], doris)
    assert response.status_code == 400
    assert "participants without an account" in html.unescape(response.get_data(as_text=True))


def test_a_note_too_long_is_refused(app, world, slots, facilitator, doris):
    response = _book_for(facilitator, world, slots[0], doris, note="x" * 1001)
    assert response.status_code == 400
    assert "Use at most 1000 characters" in response.get_data(as_text=True)
    assert _bookings(app) == []


def test_a_taken_or_withdrawn_slot_is_refused(app, world, slots, facilitator, doris,
                                              participants):
    (alice,) = participants(1)
    assert post_form(alice, _page(world, slots[0], "book"), {"note": ""}).status_code == 303
    assert _offered(facilitator, world, slots[0]) == {}
    taken = _book_for(facilitator, world, slots[0], doris)
    assert taken.status_code == 400
    assert "Someone has just booked this slot" in taken.get_data(as_text=True)
    assert post_form(facilitator, _page(world, slots[1], "withdraw"), {}).status_code == 303
    withdrawn = _book_for(facilitator, world, slots[1], doris)
    assert withdrawn.status_code == 400
    assert "withdrawn" in withdrawn.get_data(as_text=True)
    assert [(s, p) for s, p, *_ in _bookings(app)] == [(slots[0], alice.user_id)]


def test_no_form_without_anyone_to_book_for(world, slots, facilitator):
    assert _offered(facilitator, world, slots[0]) == {}
    assert OFFER not in facilitator.get(_page(world, slots[0])).get_data(as_text=True)


def test_only_the_cohorts_facilitators_book_for_someone(app, world, slots, doris, participants,
                                                        role_client, login_as):
    (alice,) = participants(1)
    assert OFFER not in alice.get(_page(world, slots[0])).get_data(as_text=True)
    assert _book_for(alice, world, slots[0], doris).status_code == 404
    assert _book_for(role_client("patron"), world, slots[0], doris).status_code == 404
    assert _book_for(role_client("outsider"), world, slots[0], doris).status_code == 404
    with app.app_context():
        other = factories.make_user(name="Fran Elsewhere", is_facilitator=True)
        factories.add_member(factories.make_cohort(), other, CohortRole.FACILITATOR)
        db.session.commit()
        db.session.refresh(other)
        db.session.expunge(other)
    assert _book_for(login_as(other), world, slots[0], doris).status_code == 404
    assert _book_for(role_client("anonymous"), world, slots[0], doris).status_code == 302
    assert _book_for(role_client("admin"), world, slots[0], doris).status_code == 303
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert _book_for(role_client("facilitator"), world, slots[1], doris).status_code == 403
    assert [b[1] for b in _bookings(app)] == [doris]
