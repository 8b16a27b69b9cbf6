"""The skills baseline in a real browser: a participant is invited on their plan page, takes
the baseline over two sittings ("Save and finish later", then carries on where they left
off), says what they need and what gets in the way, sends it and sees the chart and its
table. A facilitator opens the mid-point checkpoint and reads the need on the report; the
participant is told on the plan page, answers again higher, and the table shows the change."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

LOW = "I've tried it once or twice"  # 2 on the scale
HIGH = "I'm confident doing this"  # 4 on the scale
FIRST_AREA_STATEMENT = "I can find what people are saying online about our service."
NEED = "Time set aside each week to try the tools out with my team."
NEEDS_QUESTION = "What do you need from this programme?"
BARRIERS_QUESTION = "What gets in the way of learning new digital skills at work?"


def rate_page(page, point: str) -> None:
    """Choose ``point`` for every statement on an area page, as a person clicking the labels."""
    statements = page.locator("fieldset.baseline-statement").all()
    assert statements, "an area page with no statements"
    for statement in statements:
        statement.get_by_label(point).check()


def answer_every_area(page, point: str) -> int:
    """From the page of the first unfinished area to the open questions; returns how many
    area pages were answered."""
    pages = 0
    while page.get_by_role("heading", level=1).inner_text() != "In your own words":
        pages += 1
        assert pages < 20, "the questionnaire never reached the open questions"
        here = page.locator("p.lead").inner_text()  # "Baseline · page 3 of 11"
        rate_page(page, point)
        page.get_by_role("button", name="Save and continue").click()
        expect(page.locator("p.lead")).not_to_have_text(here)  # the next page has loaded
    return pages


def test_participant_takes_the_baseline_then_the_midpoint_shows_the_change(
        live_server, new_page, sign_in):
    alex = new_page()
    sign_in(alex)
    alex.get_by_role("link", name="My plan").first.click()
    expect(alex).to_have_url(re.compile(r"/cohorts/\d+/plan$"))
    cohort_id = re.search(r"/cohorts/(\d+)/", alex.url).group(1)
    plan_url = alex.url

    # The invitation on the plan page, to the overview, and the first area.
    invite = alex.get_by_role("region", name="Start with your skills baseline")
    expect(invite).to_be_visible()
    invite.get_by_role("link", name="Take the baseline").click()
    expect(alex).to_have_url(f"{live_server}/cohorts/{cohort_id}/baseline")
    expect(alex.get_by_role("heading", level=1)).to_have_text("My skills")
    expect(alex.get_by_role("main")).to_contain_text(
        "Nothing to show yet: when you send the baseline, your profile appears here.")
    alex.get_by_role("link", name="Start the baseline").click()
    expect(alex.get_by_role("heading", level=1)).to_have_text("Listening online")
    expect(alex.locator("p.lead")).to_have_text(re.compile(r"Baseline · page 1 of (\d+)"))
    steps = int(re.search(r"of (\d+)", alex.locator("p.lead").inner_text()).group(1))
    expect(alex.get_by_role("button", name="Save and go back")).to_have_count(0)  # first page
    assert_accessible(alex, "a baseline area page")

    # The first statement by keyboard: Space picks the first point, an arrow the next one.
    first = alex.get_by_role("group", name=FIRST_AREA_STATEMENT)
    first.get_by_role("radio").first.focus()
    alex.keyboard.press("Space")
    alex.keyboard.press("ArrowRight")
    expect(first.get_by_label(LOW)).to_be_checked()
    rate_page(alex, LOW)
    alex.get_by_role("button", name="Save and finish later").click()
    expect(alex).to_have_url(f"{live_server}/cohorts/{cohort_id}/baseline")
    expect(alex.locator(".flashes")).to_contain_text("Saved. You can come back to it")
    expect(alex.locator(".checkpoint", has_text="Baseline")).to_contain_text(
        re.compile(r"begun: 5 of \d+ rated"))

    # Back later, from the plan page: it carries on at the second area.
    alex.goto(plan_url)
    expect(alex.get_by_role("region", name="Start with your skills baseline")).to_have_count(0)
    notice = alex.get_by_role("status").filter(has_text="Baseline is open")
    notice.get_by_role("link", name="Carry on the baseline").click()
    expect(alex.get_by_role("heading", level=1)).to_have_text("Social media for work")
    expect(alex.locator("p.lead")).to_have_text(f"Baseline · page 2 of {steps}")
    # "Save and go back" keeps the answers and shows the first page as it was saved.
    alex.get_by_role("button", name="Save and go back").click()
    expect(alex.get_by_role("heading", level=1)).to_have_text("Listening online")
    expect(alex.get_by_role("group", name=FIRST_AREA_STATEMENT).get_by_label(LOW)).to_be_checked()
    alex.get_by_role("button", name="Save and continue").click()
    expect(alex.get_by_role("heading", level=1)).to_have_text("Social media for work")

    assert answer_every_area(alex, LOW) == steps - 2  # from the second area to the last
    expect(alex.locator("p.lead")).to_have_text(f"Baseline · page {steps} of {steps}")
    alex.get_by_label(NEEDS_QUESTION).fill(NEED)
    alex.get_by_role("group", name=BARRIERS_QUESTION).get_by_label("Finding the time").check()
    alex.get_by_role("button", name="Save and review").click()

    expect(alex.get_by_role("heading", level=1)).to_have_text("Check and send")
    review = alex.get_by_role("table")
    expect(review.get_by_role("row", name=re.compile("^In your own words"))).to_contain_text(
        "2 of 4 answered (optional)")  # the need and the barrier; empty answers do not count
    expect(review.locator(".badge-warning")).to_have_count(0)  # every area finished
    alex.get_by_role("button", name="Send my answers").click()

    expect(alex).to_have_url(f"{live_server}/cohorts/{cohort_id}/baseline")
    expect(alex.locator(".flashes")).to_contain_text("Your baseline is sent.")
    chart = alex.locator("svg.skills-chart-svg")
    expect(chart).to_be_visible()
    expect(alex.get_by_role("img", name="Your skills by area")).to_be_visible()
    expect(chart.locator("rect.skills-chart-first")).to_have_count(steps - 1)
    expect(chart.locator("rect.skills-chart-latest")).to_have_count(0)
    alex.get_by_text("Show the figures as a table").click()
    figures = alex.get_by_role("table", name="Your average rating per skill area (1 to 5)")
    expect(figures).to_be_visible()
    expect(figures.get_by_role("columnheader")).to_have_text(["Area", "Baseline"])
    expect(figures.get_by_role("row", name=re.compile("^Listening online"))).to_contain_text("2.0")
    expect(figures.get_by_role("row")).to_have_count(steps)  # the header and one per area
    assert_accessible(alex, "the skills overview with the chart")

    # The facilitator opens the mid-point checkpoint and reads the need.
    sam = new_page()
    sign_in(sam, "facilitator@example.org")
    sam.goto(f"{live_server}/cohorts/{cohort_id}")
    sam.get_by_role("link", name="Skills baseline").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("Skills baseline")
    needs = sam.get_by_role("region", name=NEEDS_QUESTION)
    expect(needs.locator("li", has_text=NEED)).to_contain_text("Alex Morgan · Baseline")
    sam.get_by_label("Checkpoint", exact=True).select_option(label="Mid-point checkpoint")
    sam.get_by_role("button", name="Open it and tell the participants").click()
    expect(sam.locator(".flashes")).to_contain_text(
        "The checkpoint is open and every participant has been told.")
    expect(sam.locator("#checkpoints").get_by_role("heading", name="Mid-point checkpoint")
           ).to_be_visible()

    # Alex is told on the plan page, answers again, higher, and sees the change.
    alex.goto(plan_url)
    notice = alex.get_by_role("status").filter(has_text="Mid-point checkpoint is open")
    expect(notice).to_be_visible()
    notice.get_by_role("link", name="Start the mid-point checkpoint").click()
    expect(alex.locator("p.lead")).to_have_text(f"Mid-point checkpoint · page 1 of {steps}")
    expect(alex.get_by_role("group", name=FIRST_AREA_STATEMENT).get_by_role("radio", checked=True)
           ).to_have_count(0)  # a fresh start, not the baseline's answers
    assert answer_every_area(alex, HIGH) == steps - 1
    alex.get_by_role("button", name="Save and review").click()
    alex.get_by_role("button", name="Send my answers").click()

    expect(alex.locator(".flashes")).to_contain_text("Your mid-point checkpoint is sent.")
    chart = alex.locator("svg.skills-chart-svg")
    expect(chart.locator("rect.skills-chart-first")).to_have_count(steps - 1)
    expect(chart.locator("rect.skills-chart-latest")).to_have_count(steps - 1)
    alex.get_by_text("Show the figures as a table").click()
    figures = alex.get_by_role("table", name="Your average rating per skill area (1 to 5)")
    expect(figures.get_by_role("columnheader")).to_have_text(
        ["Area", "Baseline", "Mid-point checkpoint", "Change"])
    expect(figures.get_by_role("row", name=re.compile("^Listening online")).get_by_role("cell")
           ).to_have_text(["2.0", "4.0", "+2.0"])
    assert_accessible(alex, "the skills overview with two checkpoints")
