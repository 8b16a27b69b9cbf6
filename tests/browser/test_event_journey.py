"""A kick-off in a real browser, from scheduling to the recap: the facilitator schedules it
with two seats; three participants answer (the third waits); one gives up her seat and the
third is promoted, with an email in the outbox; at the door the facilitator takes the
register on a phone; afterwards they post a recap with a photo, and a participant who came
finds her next steps on the kick-off's page."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from dap import clock
from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.events.models import Attendance, AttendanceMark, Event, EventPhoto
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PEOPLE = ["participant@example.org", "jordan.lee@example.org", "sana.rahman@example.org"]


def _a_quiet_wednesday() -> datetime:
    """08:00 UTC on a Wednesday two to three weeks ahead, in winter or summer time alike."""
    day = datetime.now(UTC).date() + timedelta(days=14)
    day += timedelta(days=(2 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


def _cohort_id(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Cohort.id).join(Membership).join(User, User.id == Membership.user_id)
            .where(User.email == PEOPLE[0], Membership.role == CohortRole.PARTICIPANT))


def test_kick_off_from_scheduling_to_recap(app, live_server, new_page, sign_in, tmp_path):
    morning = _a_quiet_wednesday()
    clock.freeze(morning)
    try:
        cohort_id = _cohort_id(app)
        facilitator = new_page()
        sign_in(facilitator, "facilitator@example.org")
        facilitator.goto(f"{live_server}/cohorts/{cohort_id}/events/new")
        facilitator.get_by_label("Kind of event").select_option("kick_off")
        facilitator.get_by_label("Title").fill("Kick-off: the sizzle")
        facilitator.get_by_label("Day").fill(morning.date().isoformat())
        facilitator.get_by_label("Starts").fill("14:00")
        facilitator.get_by_label("Ends").fill("16:00")
        facilitator.get_by_label("How people take part").select_option("in_person")
        facilitator.get_by_label("Venue").fill("The Atrium")
        facilitator.get_by_label("Seats (optional)").fill("2")
        expect(facilitator.get_by_label("Email the cohort’s participants an invitation")) \
            .to_be_checked()
        facilitator.get_by_role("button", name="Schedule").click()
        expect(facilitator.locator(".flashes")).to_contain_text("Event scheduled.")
        expect(facilitator.locator(".flashes")).to_contain_text("Invitations are on their way")
        event_url = facilitator.url
        event_id = int(event_url.rstrip("/").rsplit("/", 1)[-1])

        pages = []
        for email in PEOPLE:
            page = new_page()
            sign_in(page, email)
            page.goto(event_url)
            page.get_by_role("button", name="I’m going").click()
            pages.append(page)
        first, second, third = pages
        expect(first.locator("#answer")).to_contain_text("You’re going.")
        expect(second.locator("#answer")).to_contain_text("You’re going.")
        expect(third.locator("#answer")).to_contain_text("You’re on the waitlist, number 1")

        first.get_by_role("button", name="Give up my seat").click()
        expect(first.locator("#answer")).to_contain_text("You said you can’t go.")
        third.reload()
        expect(third.locator("#answer")).to_contain_text("You’re going.")
        with app.app_context():
            promoted = db.session.scalars(select(OutboxMessage).where(
                OutboxMessage.kind == "event_promoted")).all()
            assert [m.to_addr for m in promoted] == [PEOPLE[2]]
            assert "METHOD:REQUEST" in promoted[0].calendar_ics
            invited = db.session.scalars(select(OutboxMessage.to_addr).where(
                OutboxMessage.kind == "event_invitation")).all()
            assert set(PEOPLE) <= set(invited)

        # At the door: the register on the facilitator's phone, half an hour before.
        clock.freeze(morning + timedelta(hours=5, minutes=30))
        phone = new_page(**PHONE)
        sign_in(phone, "facilitator@example.org")
        phone.goto(f"{event_url}/attendance")
        expect(phone.get_by_role("heading", level=1)).to_contain_text("Register")
        phone.get_by_role("button", name="Everyone going attended").click()
        expect(phone.locator(".flashes")).to_be_visible()
        phone.get_by_label("Alex Morgan").select_option("walk_in")  # came after all
        phone.get_by_role("button", name="Save the register").click()
        expect(phone.locator(".flashes")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert_accessible(phone, "the register on a phone")
        with app.app_context():
            marks = {a.user.email: a.mark for a in db.session.scalars(
                select(Attendance).where(Attendance.event_id == event_id))}
        assert marks == {PEOPLE[0]: AttendanceMark.WALK_IN, PEOPLE[1]: AttendanceMark.ATTENDED,
                         PEOPLE[2]: AttendanceMark.ATTENDED}

        # Afterwards: the recap, with a photo.
        clock.freeze(morning + timedelta(hours=8, minutes=30))
        photo = tmp_path / "atrium.jpg"
        buffer = io.BytesIO()
        Image.new("RGB", (1200, 800), (250, 180, 40)).save(buffer, "JPEG")
        photo.write_bytes(buffer.getvalue())
        facilitator.goto(event_url)
        facilitator.get_by_role("link", name="Open the recap").click()
        facilitator.get_by_label("Your notes", exact=True).fill(
            "Twenty minutes of **show and tell**: everyone left with one thing to try.")
        facilitator.get_by_role("button", name="Save my notes").click()
        expect(facilitator.locator(".prose strong")).to_have_text("show and tell")
        facilitator.get_by_label("Photos", exact=True).set_input_files(str(photo))
        facilitator.get_by_label("What the photos show (optional)").fill("The atrium, full")
        facilitator.get_by_role("button", name="Upload").click()
        expect(facilitator.locator(".flashes")).to_contain_text("1 photo added")
        image = facilitator.get_by_role("img", name="The atrium, full")
        expect(image).to_be_visible()
        image.scroll_into_view_if_needed()  # the thumbnail is loading="lazy"
        natural_width = image.evaluate(
            """img => img.complete && img.naturalWidth ? img.naturalWidth
                : new Promise(done => img.addEventListener("load", () => done(img.naturalWidth)))"""
        )
        assert natural_width == 480
        assert_accessible(facilitator, "the recap")
        with app.app_context():
            assert db.session.scalar(select(EventPhoto.width)) == 1200

        second.goto(event_url)
        expect(second.get_by_role("heading", name="After the kick-off")).to_be_visible()
        second.goto(f"{event_url}/recap")
        expect(second.get_by_role("img", name="The atrium, full")).to_be_visible()
        with app.app_context():
            assert db.session.get(Event, event_id).title == "Kick-off: the sizzle"
    finally:
        clock.freeze(None)
