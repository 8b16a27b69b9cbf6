"""Self check-in in a real browser: the facilitator's screen takes the new code when the
minute turns without reloading, and a signed-out phone scans, signs in, comes back and
checks in. No serious axe violations on either page."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.events.models import Event, EventKind, EventMode
from dap.extensions import db
from tests.browser.test_pages import COHORT, PARTICIPANT, assert_accessible

pytestmark = pytest.mark.browser


def test_the_screen_refreshes_and_a_phone_checks_in(app, live_server, new_page, sign_in,
                                                     frozen):
    now = now_utc().replace(microsecond=0)
    at = now - timedelta(seconds=now.second - 58)  # two seconds before the minute turns
    frozen(at)
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == COHORT))
        event = Event(cohort_id=cohort.id, kind=EventKind.WORKSHOP, title="At the door",
                      starts_at=at - timedelta(minutes=10), ends_at=at + timedelta(hours=1),
                      mode=EventMode.IN_PERSON, venue="Room 4", uid=f"{uuid.uuid4().hex}@dap")
        db.session.add(event)
        db.session.commit()
        base = f"{live_server}/cohorts/{cohort.id}/events/{event.id}"

    screen = new_page()
    sign_in(screen, "facilitator@example.org")
    screen.goto(base + "/check-in/show")
    expect(screen.get_by_role("heading", level=1)).to_have_text("Check in: At the door")
    shown = screen.locator('[data-live="display"]')
    first = shown.text_content()
    expect(screen.get_by_role("img", name="QR code for checking in")).to_be_visible()
    assert_accessible(screen, "the check-in screen")

    frozen(at + timedelta(minutes=1))
    expect(shown).not_to_have_text(first)  # the script fetched the next minute's code
    code = shown.text_content().replace(" ", "")
    expect(screen.locator("#check-in-qr")).to_have_attribute("data-code", code)
    assert screen.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload

    phone = new_page(viewport={"width": 360, "height": 740})
    phone.goto(f"{base}/check-in?code={code}")  # what the QR code opens
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in")
    phone.get_by_label("Email", exact=True).fill(PARTICIPANT)
    phone.get_by_label("Password", exact=True).fill("dap-demo-2026")
    phone.get_by_role("button", name="Sign in").click()
    expect(phone).to_have_url(f"{base}/check-in?code={code}")
    expect(phone.get_by_label("Code on the screen")).to_have_value(code)
    assert_accessible(phone, "the check-in page")
    phone.get_by_role("button", name="Check me in").click()
    expect(phone).to_have_url(base)
    expect(phone.get_by_role("status")).to_contain_text("You’re checked in. Welcome!")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    expect(screen.locator('[data-live="present"]')).to_have_text("1")
