"""A participant on a phone (390 × 844): adopts a goal, checks in three times, finishes it
with a reflection, and prints the plan."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_participant_adopts_checks_in_finishes_and_prints(live_server, new_page, sign_in):
    page = new_page(**PHONE)
    sign_in(page)

    page.goto(f"{live_server}/library/?q=password+manager&area=online-safety-and-privacy")
    page.get_by_role("link", name="Set strong, unique passwords with a password manager").click()
    goal_title = page.get_by_role("heading", level=1).inner_text()
    page.get_by_text("Add why it matters to you and a target date (optional)").click()
    page.get_by_label("Why it matters to me (optional)").fill("I want to hear residents first")
    page.get_by_role("button", name="Add to my plan").click()
    expect(page.locator(".flashes")).to_contain_text("is in your plan")
    expect(page.get_by_role("heading", level=1)).to_contain_text(goal_title)

    for progress, minutes, note in (("20", "15", "Set up two searches"),
                                    ("50", "25", "Read what people said"),
                                    ("80", "10", "Shared three findings")):
        page.get_by_label("Progress (%)").fill(progress)
        page.get_by_label("Minutes on the web").fill(minutes)
        page.get_by_label("Note (optional)").fill(note)
        page.get_by_role("button", name="Check in").click()
        expect(page.locator("#timeline")).to_contain_text(note)
    expect(page.locator("#timeline li")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page, "goal page on a phone")

    page.get_by_text("Mark as done", exact=True).first.click()  # opens the <details>
    page.get_by_label("What did you do and learn?").fill(
        "Residents mostly ask about bins on Mondays; we now post the schedule on Sundays.")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.locator("main")).to_contain_text("100%")

    page.get_by_role("link", name="My plan").first.click()
    expect(page.locator("main")).to_contain_text("Minutes this week")
    expect(page.locator("main")).to_contain_text("50")  # 15 + 25 + 10
    assert_accessible(page, "plan page on a phone")

    page.get_by_role("link", name="Print my plan").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Digital Action Plan: Alex Morgan")
    expect(page.locator(".print-goals")).to_contain_text(goal_title)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
