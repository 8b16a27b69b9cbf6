"""The insights pages in a real browser, with the demo data: the facilitator opens the
spring cohort's insights from its overview, reads the funnel, finds who has gone quiet and
nudges one of them with one click, looks at activity by week and the channels, then puts
the spring and autumn cohorts side by side; the admin reads the organisation report. axe
finds no serious or critical violation on any of these pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

SPRING = "Digital Action Plan: Northfield spring cohort"


def test_facilitator_reads_the_insights_and_nudges_someone_silent(live_server, new_page,
                                                                  sign_in):
    page = new_page()
    sign_in(page, "facilitator@example.org")
    page.goto(f"{live_server}/cohorts")
    page.get_by_role("link", name=SPRING).first.click()
    page.get_by_role("link", name="Insights", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
    expect(page).to_have_url(re.compile(r"/cohorts/\d+/insights$"))

    funnel = page.get_by_role("table", name=re.compile("The funnel"))
    expect(funnel).to_be_visible()
    everyone = funnel.get_by_role("row", name=re.compile("^Everyone"))
    cells = everyone.get_by_role("cell").all_inner_texts()
    invited, joined = int(cells[0]), int(cells[1].split()[0])
    assert invited > joined > 0  # the demo has someone invited who has not joined
    expect(page.get_by_role("img", name=re.compile("Funnel: Everyone"))).to_be_visible()
    assert_accessible(page, "the insights overview")

    # Who has gone quiet: the headline links to the silent people.
    page.get_by_role("link", name=re.compile(r"silent now")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("People")
    roster = page.get_by_role("table", name=re.compile("participant"))
    expect(roster).to_be_visible()
    assert_accessible(page, "the people page, silent only")
    nudge = roster.get_by_role("button", name=re.compile("^Nudge ")).first
    nudge.click()
    expect(page.locator(".flashes")).to_contain_text("Sent")

    # Sorting by a column: its heading says so.
    page.get_by_role("link", name="Show everyone").click()
    page.get_by_role("link", name="Goals done").click()
    expect(page.get_by_role("link", name=re.compile("Goals done.*ascending"))).to_be_visible()

    page.get_by_role("link", name="Activity by week").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Activity by week")
    assert_accessible(page, "activity by week")

    page.get_by_role("link", name="Channels compared").first.click()
    table = page.get_by_role("table", name=re.compile("what followed a contact"))
    expect(table.get_by_role("row", name=re.compile("^Workshops and events"))).to_be_visible()
    expect(page.get_by_role("heading", name="How these figures are made")).to_be_visible()
    assert_accessible(page, "channels compared")

    page.get_by_role("link", name="Compare cohorts").click()
    autumn = page.locator("#b option", has_text="autumn").first.inner_text()
    page.get_by_label("Second cohort").select_option(label=autumn)
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("table", name=re.compile("what followed a contact"))).to_have_count(2)
    assert_accessible(page, "two cohorts compared")


def test_admin_reads_the_organisation_report(live_server, new_page, sign_in):
    page = new_page()
    sign_in(page, "admin@example.org")
    page.get_by_role("link", name="Organisation report").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text(SPRING).first).to_be_visible()
    assert_accessible(page, "the organisation report")
