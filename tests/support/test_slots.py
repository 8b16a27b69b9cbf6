"""Publishing 1:1 availability: one slot or a block split into equal slots with a buffer,
in the cohort's time zone; overlaps refused across cohorts; bad input refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from dap.cohorts.models import Cohort, CohortRole
from dap.extensions import db
from dap.support.models import SupportSlot
from tests import factories
from tests.conftest import post_form
from tests.support.conftest import BLOCK


def _slots(app) -> list[tuple[datetime, datetime, str | None]]:
    with app.app_context():
        return [(s.starts_at, s.ends_at, s.block_id) for s in db.session.scalars(
            select(SupportSlot).order_by(SupportSlot.starts_at))]


def test_a_block_becomes_equal_slots(app, role_client, world):
    facilitator = role_client("facilitator")
    response = post_form(facilitator, f"/cohorts/{world['cohort']}/support/new", BLOCK)
    assert response.status_code == 303
    slots = _slots(app)
    assert [s[0] for s in slots] == [datetime(2027, 3, 17, h, m, tzinfo=UTC)
                                     for h, m in ((10, 0), (10, 30), (11, 0), (11, 30))]
    assert all(end - start == slots[0][1] - slots[0][0] for start, end, _ in slots)
    assert len({block for *_, block in slots}) == 1
    page = facilitator.get(response.headers["Location"]).get_data(as_text=True)
    assert "Published 4 slots." in page
    assert page.count("Free</span>") == 4


def test_a_buffer_goes_between_slots_and_a_short_remainder_is_left_out(app, publish):
    assert publish(slot_minutes="25", buffer_minutes="10").status_code == 303
    assert [s[0].strftime("%H:%M") for s in _slots(app)] == ["10:00", "10:35", "11:10"]


def test_one_slot_without_a_length_and_local_time_after_the_clock_change(app, publish):
    assert publish(day="2027-04-01", starts="14:00", ends="14:45", slot_minutes="").status_code \
        == 303
    ((start, end, block),) = _slots(app)
    assert (start, end, block) == (datetime(2027, 4, 1, 13, 0, tzinfo=UTC),
                                   datetime(2027, 4, 1, 13, 45, tzinfo=UTC), None)


@pytest.mark.parametrize(("changes", "message"), [
    ({"ends": "09:00"}, "The end must come after the start."),
    ({"ends": "10:00"}, "The end must come after the start."),
    ({"day": "2027-03-14"}, "That time has passed"),
    ({"day": "2028-06-01"}, "at most a year ahead"),
    ({"day": ""}, "Enter the day."),
    ({"starts": ""}, "Enter when it starts."),
    ({"day": "2027-03-28", "starts": "01:30", "ends": "03:00"}, "does not exist"),
    ({"slot_minutes": "5"}, "from 10 to 240 minutes"),
    ({"slot_minutes": "-30"}, "from 10 to 240 minutes"),
    ({"slot_minutes": "thirty"}, "whole number"),
    ({"slot_minutes": "9" * 30}, "whole number"),
    ({"slot_minutes": "180"}, "shorter than one slot"),
    ({"buffer_minutes": "500"}, "buffer from 0 to 120"),
    ({"slot_minutes": "", "ends": "16:00"}, "at most 4 hours"),
    ({"mode": "carrier-pigeon"}, "Not a valid choice"),
    ({"place": ""}, "Say where you will meet."),
    ({"place": "x" * 301}, "at most 300 characters"),
    ({"mode": "video", "place": "", "join_url": ""}, "video call&#39;s link"),
    ({"mode": "video", "join_url": "javascript:alert(1)"}, "starting with https://"),
    ({"book_until_minutes": "-1"}, "from 0 to 10,080"),
    ({"cancel_until_minutes": "99999"}, "from 0 to 10,080"),
])
def test_bad_availability_is_refused_and_nothing_is_published(app, publish, changes, message):
    response = publish(**changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _slots(app) == []


def test_unicode_places_are_kept(app, publish, role_client, world):
    assert publish(place="Café Zoë, 2nd floor 🏢").status_code == 303
    page = role_client("participant").get(f"/cohorts/{world['cohort']}/support")
    assert page.status_code == 200
    with app.app_context():
        assert db.session.scalars(select(SupportSlot.place)).first() == "Café Zoë, 2nd floor 🏢"


def test_a_facilitators_slots_never_overlap_across_cohorts(app, publish, world, login_as):
    assert publish().status_code == 303
    with app.app_context():
        from dap.accounts.models import User

        facilitator = db.session.get(User, world["facilitator"])
        other = factories.make_cohort(name="Second cohort")
        factories.add_member(other, facilitator, CohortRole.FACILITATOR)
        db.session.commit()
        other_id = other.id
        facilitator = db.session.get(User, world["facilitator"])
        db.session.expunge_all()
    client = login_as(facilitator)
    clash = post_form(client, f"/cohorts/{other_id}/support/new",
                      {**BLOCK, "starts": "11:15", "ends": "11:45", "slot_minutes": ""})
    assert clash.status_code == 400
    assert "You already offer a slot from 11:00 to 11:30 on 17 March" in clash.get_data(as_text=True)
    after = post_form(client, f"/cohorts/{other_id}/support/new",
                      {**BLOCK, "starts": "12:00", "ends": "12:30", "slot_minutes": ""})
    assert after.status_code == 303  # touching is not overlapping
    assert len(_slots(app)) == 5


def test_only_the_cohorts_facilitators_publish(app, world, role_client):
    for role, status in (("participant", 404), ("patron", 404), ("outsider", 404)):
        response = post_form(role_client(role), f"/cohorts/{world['cohort']}/support/new", BLOCK)
        assert response.status_code == status, role
    assert _slots(app) == []


def test_an_archived_cohort_takes_no_slots(app, world, publish):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert publish().status_code == 403
    assert _slots(app) == []
