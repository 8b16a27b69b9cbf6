"""1:1 support in a real browser: the facilitator opens a block of four slots; two
participants book; one cancels; after the session the facilitator writes private notes and
an action point, which the participant turns into a goal in her plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dap import clock
from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.extensions import db
from dap.plans.models import Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _a_quiet_thursday() -> datetime:
    """08:00 UTC on a Thursday two to three weeks ahead (after the demo's own slots)."""
    day = datetime.now(UTC).date() + timedelta(days=14)
    day += timedelta(days=(3 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


def _cohort_id(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Cohort.id).join(Membership).join(User, User.id == Membership.user_id)
            .where(User.email == "sana.rahman@example.org",
                   Membership.role == CohortRole.PARTICIPANT))


def test_block_bookings_cancelling_notes_and_an_action_point_becoming_a_goal(
        app, live_server, new_page, sign_in):
    morning = _a_quiet_thursday()
    clock.freeze(morning)
    try:
        cohort_id = _cohort_id(app)
        support = f"{live_server}/cohorts/{cohort_id}/support"
        facilitator = new_page()
        sign_in(facilitator, "facilitator@example.org")
        facilitator.goto(f"{support}/new")
        facilitator.get_by_label("Day").fill(morning.date().isoformat())
        facilitator.get_by_label("From", exact=True).fill("14:00")
        facilitator.get_by_label("Until", exact=True).fill("16:00")
        facilitator.get_by_label("Length of each slot, in minutes (optional)").fill("30")
        facilitator.get_by_label("How", exact=True).select_option("video")
        facilitator.get_by_label("Video call link (for video calls)").fill(
            "https://meet.example.org/sam")
        facilitator.get_by_role("button", name="Publish").click()
        expect(facilitator.locator(".flashes")).to_contain_text("Published 4 slots.")
        assert_accessible(facilitator, "1:1 support for the facilitator")

        sana, tom = new_page(**PHONE), new_page()
        sign_in(sana, "sana.rahman@example.org")
        sign_in(tom, "tom.fletcher@example.org")
        for page, at, note in ((sana, "14:00", "Sharing documents safely"),
                               (tom, "14:30", "Video call basics")):
            page.goto(support)
            page.get_by_role("link", name=at).first.click()
            page.get_by_label("What you’d like help with (optional)").fill(note)
            page.get_by_role("button", name="Book").click()
            expect(page.get_by_role("heading", name="You’re booked")).to_be_visible()
        expect(sana.get_by_role("link", name="https://meet.example.org/sam")).to_be_visible()
        assert sana.evaluate("document.documentElement.scrollWidth") <= 390
        assert_accessible(sana, "a booked 1:1 slot on a phone")

        tom.get_by_role("button", name="Cancel my booking").click()
        expect(tom.locator(".flashes")).to_contain_text("Booking cancelled.")
        with app.app_context():
            bookings = {b.participant.email: b.status for b in db.session.scalars(
                select(SupportBooking).join(SupportSlot)
                .where(SupportSlot.starts_at >= morning))}
        assert bookings == {"sana.rahman@example.org": BookingStatus.BOOKED,
                            "tom.fletcher@example.org": BookingStatus.CANCELLED}

        facilitator.goto(f"{live_server}/support/agenda?view=day&day={morning.date().isoformat()}")
        expect(facilitator.locator("main")).to_contain_text("1 of 4 slots booked")
        expect(facilitator.locator("main")).to_contain_text("Sharing documents safely")

        # After the session: private notes, and an action point Sana makes a goal.
        clock.freeze(morning + timedelta(hours=6, minutes=35))
        facilitator.get_by_role("link", name="14:00").click()
        facilitator.get_by_role("link", name="Write notes").click()
        facilitator.get_by_label("Your private notes").fill(
            "Knows **OneDrive**; unsure about link permissions.")
        facilitator.get_by_role("button", name="Save the notes").click()
        expect(facilitator.locator(".flashes")).to_contain_text("Notes saved.")
        facilitator.get_by_label("Action point", exact=True).fill(
            "Share one folder with your team, view only")
        facilitator.get_by_role("button", name="Add the action point").click()
        expect(facilitator.locator(".flashes")).to_contain_text("Action point added")
        assert_accessible(facilitator, "a 1:1 session after it, for the facilitator")

        sana.reload()
        expect(sana.locator("main")).to_contain_text("Share one folder with your team, view only")
        expect(sana.locator("main")).not_to_contain_text("link permissions")  # private notes
        sana.get_by_role("button", name="Make it a goal").click()
        expect(sana.locator(".flashes")).to_contain_text("is a goal in your plan")
        with app.app_context():
            titles = db.session.scalars(
                select(PlanGoal.title).join(Plan, Plan.id == PlanGoal.plan_id)
                .join(User, User.id == Plan.participant_id)
                .where(User.email == "sana.rahman@example.org")).all()
        assert "Share one folder with your team, view only" in titles
    finally:
        clock.freeze(None)
