"""The platform-time cap in a real browser, with time travelled on both sides (the server's
clock and the page's timers): a participant with a low allowance keeps a page open until
capped, lands on Explore, logs 30 minutes of web time through the bookmarklet's page and is
back on the platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dap import clock
from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.extensions import db
from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _a_quiet_wednesday() -> datetime:
    """10:00 on a Wednesday two to three weeks ahead: inside the demo cohort, after any demo
    activity."""
    day = datetime.now(UTC).date() + timedelta(days=14)
    day += timedelta(days=(2 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def test_capped_participant_explores_logs_web_time_and_comes_back(app, live_server, new_page,
                                                                  sign_in):
    start = _a_quiet_wednesday()
    clock.freeze(start)
    try:
        with app.app_context():
            cohort = db.session.scalar(
                select(Cohort).join(Membership).join(User, User.id == Membership.user_id)
                .where(User.email == "participant@example.org",
                       Membership.role == CohortRole.PARTICIPANT))
            cohort.grace_minutes, cohort.platform_minutes_per_week = 1, 60
            db.session.commit()
            db.session.remove()

        page = new_page(**PHONE)
        page.clock.install(time=start)
        sign_in(page)
        meter = page.locator("#time-meter")
        expect(meter).to_contain_text("0 of 1 min on DAP")
        # the heartbeat script (deferred: it runs before "load") has set its timer before
        # the clock moves; on a busy machine the page's text is there before its scripts
        page.wait_for_load_state("load")

        # the page stays open and visible: a beat every 30 s, the server's clock in step
        for n in (1, 2):
            clock.freeze(start + timedelta(seconds=30 * n))
            with page.expect_response(lambda r: r.url.endswith("/time/heartbeat")):
                page.clock.run_for(30_000)
        expect(page).to_have_url(f"{live_server}/time/explore")
        expect(page.get_by_role("heading", level=1)).to_have_text("Time to explore the web")
        expect(page.locator("main")).to_contain_text("Something to try today")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert_accessible(page, "Explore while capped")

        # the platform sends them back out
        page.goto(f"{live_server}/library/")
        expect(page).to_have_url(f"{live_server}/time/explore")

        # the bookmarklet opens the log form with the page being read
        page.goto(f"{live_server}/time/log?url=https%3A%2F%2Fexample.org%2Faccessible-forms"
                  "&title=Designing+accessible+forms")
        expect(page.get_by_label("What was it?")).to_have_value("Designing accessible forms")
        expect(page.get_by_label("Link (optional)")).to_have_value(
            "https://example.org/accessible-forms")
        page.get_by_label("What did you do?").select_option("read")
        page.get_by_label("Minutes").fill("30")
        page.get_by_role("button", name="Log my web time").click()

        expect(page).to_have_url(f"{live_server}/")
        expect(page.locator(".flashes")).to_contain_text("That opens the platform again")
        expect(meter).to_contain_text("30 min on the web")
        page.get_by_role("link", name="Goal library").first.click()
        expect(page).to_have_url(f"{live_server}/library/")
    finally:
        clock.freeze(None)
