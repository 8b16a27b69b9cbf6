"""Nudges in a real browser: a patron sends an "enthuse" nudge; the participant finds it in
the inbox (the unread count in the header), answers "need help"; the cohort's facilitator
gets the alert, linked to the participant's plan. Then the participant chooses a daily
digest for nudges on the email page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser


def test_enthuse_need_help_and_the_facilitators_alert(live_server, new_page, sign_in):
    patron = new_page()
    sign_in(patron, "patron@example.org")
    patron.goto(f"{live_server}/patron")
    patron.get_by_role("link", name="Send Alex a nudge").click()
    expect(patron.get_by_role("heading", level=1)).to_contain_text("Alex")
    assert_accessible(patron, "the nudge form")
    patron.get_by_label("On a roll").check()
    patron.get_by_role("button", name="Send").click()
    expect(patron.locator(".flashes")).to_contain_text("Sent")

    alex = new_page()
    sign_in(alex, "participant@example.org")
    inbox_link = alex.get_by_role("link", name=re.compile(r"^Notifications"))
    expect(inbox_link).to_contain_text("unread")
    inbox_link.click()
    nudge = alex.locator(".notifications li", has_text="On a roll").first
    expect(nudge).to_contain_text("From Priya Shah")
    assert_accessible(alex, "the inbox with a nudge")
    nudge.get_by_role("button", name="Need help").click()
    expect(alex.locator(".flashes")).to_contain_text("Your facilitators are told")
    expect(alex.locator(".notifications li", has_text="On a roll").first).to_contain_text(
        "You answered: Need help")

    facilitator = new_page()
    sign_in(facilitator, "facilitator@example.org")
    facilitator.get_by_role("link", name=re.compile(r"^Notifications")).click()
    alert = facilitator.locator(".notifications li", has_text="Alex Morgan would like some help")
    expect(alert).to_have_count(1)
    alert.get_by_role("link", name="Open").click()
    expect(facilitator).to_have_url(re.compile(r"/cohorts/\d+/people/\d+/plan"))
    expect(facilitator.get_by_role("heading", level=1)).to_contain_text("Alex")

    alex.goto(f"{live_server}/account/emails")
    assert_accessible(alex, "the email choices")
    alex.get_by_role("group", name="Nudges from your patrons").get_by_label(
        "In a daily digest").check()
    alex.get_by_role("button", name="Save my choices").click()
    expect(alex.locator(".flashes")).to_contain_text("Your email choices are saved.")
    expect(alex.get_by_role("group", name="Nudges from your patrons").get_by_label(
        "In a daily digest")).to_be_checked()
