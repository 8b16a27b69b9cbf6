"""The month view in a real browser: no serious axe violations, and on a 360 px phone the
grid becomes a list of the days with events, without sideways scrolling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort
from dap.extensions import db
from tests.browser.test_pages import COHORT, assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def workshop_month(app, live_server) -> str:
    """The month page holding the demo's workshop (Tuesday of next week)."""
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == COHORT))
        today = local_date(now_utc(), cohort.timezone)
        day = today + timedelta(days=7 - today.weekday() + 1)
        return f"{live_server}/cohorts/{cohort.id}/events/month?m={day:%Y-%m}"


def test_the_month_view_is_accessible_and_a_list_on_a_phone(new_page, sign_in, workshop_month):
    page = new_page()
    sign_in(page)
    page.goto(workshop_month)
    workshop = page.get_by_role("link", name="Writing for screens")
    expect(workshop).to_be_visible()
    expect(page.get_by_role("columnheader", name="Monday")).to_be_visible()
    assert_accessible(page, "the month view")

    phone = new_page(viewport={"width": 360, "height": 740})
    sign_in(phone)
    phone.goto(workshop_month)
    expect(phone.get_by_role("link", name="Writing for screens")).to_be_visible()
    expect(phone.locator(".month-table thead")).to_be_hidden()
    expect(phone.locator(".month-day:not(.has-events)").first).to_be_hidden()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
