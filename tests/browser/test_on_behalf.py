"""A facilitator on a phone keeps a managed ("supported digital") participant's plan: opens
it from the roster, adds a library goal, checks in for them and prints the plan; the
records say who made them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_facilitator_keeps_a_managed_participants_plan(live_server, new_page, sign_in):
    page = new_page(**PHONE)
    sign_in(page, "facilitator@example.org")

    page.get_by_role("link", name="Manage").first.click()
    page.get_by_role("link", name="People").first.click()
    page.get_by_role("link", name="Doris Kaye").click()
    page.get_by_role("link", name="Keep their plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Doris Kaye’s plan")
    expect(page.locator("main")).to_contain_text("working on Doris Kaye’s plan for them")
    assert_accessible(page, "a managed participant's plan")

    page.get_by_role("link", name="Add a goal").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a goal for Doris Kaye")
    goal = page.get_by_label("Goal from the library")
    option = goal.locator("option:not([value=''])").first
    title = option.inner_text()
    goal.select_option(value=option.get_attribute("value"))
    page.locator("#pick-why").fill("To video-call her grandchildren's school")
    page.get_by_role("button", name="Add this library goal").click()
    expect(page.locator(".flashes")).to_contain_text("is in Doris Kaye’s plan")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    page.get_by_label("Minutes on the web").fill("20")
    page.get_by_label("Note (optional)").fill("Tried it together at the library")
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#timeline")).to_contain_text("recorded by")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page, "a managed participant's goal")

    page.get_by_role("link", name="Doris Kaye’s plan").first.click()
    page.get_by_role("link", name="Print this plan").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Digital Action Plan: Doris Kaye")
    expect(page.locator(".print-goals")).to_contain_text(title)
