"""Scheduling events: one or a series, in the cohort's time zone across clock changes; who
may; and every way the form can be wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from dap.events.models import Event
from dap.extensions import db


def _events(app) -> list[Event]:
    with app.app_context():
        events = db.session.scalars(select(Event).order_by(Event.starts_at)).all()
        db.session.expunge_all()
        return events


def test_a_facilitator_schedules_an_event(app, world, schedule, role_client):
    response = schedule(capacity="12")
    assert response.status_code == 303
    [event] = _events(app)
    assert response.headers["Location"] == f"/cohorts/{world['cohort']}/events/{event.id}"
    # 10:00 in London on 20 March 2027 is 10:00 UTC (before the clocks change)
    assert event.starts_at == datetime(2027, 3, 20, 10, 0, tzinfo=UTC)
    assert (event.capacity, event.sequence, event.series_id) == (12, 0, None)
    page = role_client("participant").get(response.headers["Location"]).get_data(as_text=True)
    assert "Writing for screens" in page
    assert "Saturday 20 March 2027, 10:00" in page
    assert "<p>Bring a laptop.</p>" in page
    listing = role_client("patron").get(f"/cohorts/{world['cohort']}/events")
    assert "Writing for screens" in listing.get_data(as_text=True)
    with app.app_context():
        from dap.audit.models import AuditEvent

        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "event.scheduled"))
        assert (audit.actor_id, audit.cohort_id, audit.details["events"]) == (
            world["facilitator"], world["cohort"], [event.id])


def test_a_weekly_series_keeps_its_local_time_across_the_clock_change(app, schedule):
    response = schedule(repeat="7", count="3")
    assert response.status_code == 303
    events = _events(app)
    # 20 March is GMT; 27 March GMT; 3 April BST: 10:00 local each time
    assert [e.starts_at for e in events] == [
        datetime(2027, 3, 20, 10, 0, tzinfo=UTC), datetime(2027, 3, 27, 10, 0, tzinfo=UTC),
        datetime(2027, 4, 3, 9, 0, tzinfo=UTC)]
    assert len({e.series_id for e in events}) == 1
    assert events[0].series_id
    assert len({e.uid for e in events}) == 3


def test_a_fortnightly_series(app, schedule):
    assert schedule(repeat="14", count="2").status_code == 303
    first, second = _events(app)
    assert (second.starts_at - first.starts_at).days == 13  # 14 days less the lost hour
    assert (second.starts_at.hour, second.ends_at.hour) == (9, 11)


@pytest.mark.parametrize("role", ["participant", "patron"])
def test_members_who_do_not_run_the_cohort_cannot_schedule(app, world, role, role_client):
    client = role_client(role)
    assert client.get(f"/cohorts/{world['cohort']}/events/new").status_code == 404
    assert _events(app) == []


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"ends": "09:00"}, "ends", "The end must come after the start."),
    ({"ends": "10:00"}, "ends", "The end must come after the start."),
    ({"day": "2027-03-14"}, "starts", "That time has passed"),
    ({"day": "2030-03-14"}, "starts", "at most two years ahead"),
    ({"day": ""}, "starts", "Enter when it starts."),
    ({"starts": "", "ends": ""}, "starts", "Enter when it starts."),
    ({"day": "2027-02-30"}, "day", "Not a valid date value."),
    ({"starts": "25:00"}, "starts", "Not a valid time value."),
    ({"capacity": "0"}, "capacity", "from 1 to 10,000"),
    ({"capacity": "-3"}, "capacity", "from 1 to 10,000"),
    ({"capacity": "10001"}, "capacity", "from 1 to 10,000"),
    ({"capacity": "twelve"}, "capacity", "whole number"),
    ({"capacity": "9" * 40}, "capacity", "whole number"),
    ({"title": ""}, "title", "Enter a title."),
    ({"title": "   "}, "title", "Enter a title."),
    ({"title": "x" * 161}, "title", "at most 160 characters"),
    ({"description": "x" * 10_001}, "description", "at most 10000 characters"),
    ({"join_url": "javascript:alert(1)"}, "join_url", "https://"),
    ({"join_url": "https://" + "x" * 500}, "join_url", "at most 500"),
    ({"venue": ""}, "venue", "Say where it happens"),
    ({"kind": "party"}, "kind", "Not a valid choice"),
    ({"mode": "telepathy"}, "mode", "Not a valid choice"),
    ({"rsvp_deadline": "2027-03-21T09:00"}, "rsvp_deadline", "no later than the start"),
    ({"rsvp_deadline": "2027-03-01T09:00"}, "rsvp_deadline", "a time to come"),
    ({"repeat": "3"}, "repeat", "Not a valid choice"),
    ({"repeat": "7", "count": "1"}, "count", "from 2 to 26"),
    ({"repeat": "7", "count": "27"}, "count", "from 2 to 26"),
    ({"repeat": "7", "count": ""}, "count", "from 2 to 26"),
    # the hour the clocks skip: 01:30 on 28 March 2027 does not exist in London
    ({"day": "2027-03-28", "starts": "01:30", "ends": "03:00"}, "starts", "does not exist"),
])
def test_bad_input_is_refused_with_a_clear_message(app, schedule, changes, field, message):
    response = schedule(**changes)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page.replace("&#39;", "'")
    assert f'id="{field}-error"' in page
    assert _events(app) == []


def test_unicode_and_markdown_are_kept_and_made_safe(app, schedule, role_client, world):
    response = schedule(title="Café ☕ & <b>code</b>",
                        description="**Bold** <script>alert(1)</script> [x](javascript:alert(1))")
    assert response.status_code == 303
    page = role_client("participant").get(response.headers["Location"]).get_data(as_text=True)
    assert "Café ☕ &amp; &lt;b&gt;code&lt;/b&gt;" in page
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)" not in page
    assert "javascript:" not in page


def test_an_archived_cohort_cannot_get_new_events(app, world, schedule):
    from dap.cohorts.models import Cohort

    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert schedule().status_code == 403
    assert _events(app) == []


def test_events_of_another_cohort_are_404(app, world, schedule, login_as):
    from dap.accounts.models import User
    from dap.cohorts.models import CohortRole
    from tests import factories

    assert schedule().status_code == 303
    [event] = _events(app)
    with app.app_context():
        other = factories.make_cohort()
        stranger = factories.make_user()
        factories.add_member(other, stranger, CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
        client = login_as(db.session.get(User, stranger.id))
    assert client.get(f"/cohorts/{world['cohort']}/events/{event.id}").status_code == 404
    assert client.get(f"/cohorts/{other_id}/events/{event.id}").status_code == 404
    assert client.get(f"/cohorts/{world['cohort']}/events").status_code == 404
