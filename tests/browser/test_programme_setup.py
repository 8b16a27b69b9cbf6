"""The facilitator sets up a programme in a real browser; an invitee joins from the email."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dap.extensions import db
from dap.nudges.models import OutboxMessage

pytestmark = pytest.mark.browser

ROWS_WITH_A_BAD_ONE = """name,email,team,role,patron email
Rosa Reyes,rosa@riverside.example,Outreach,participant,pete@riverside.example
Sol Singh,sol@riverside.example,Outreach,participant,
Tam Tran,tam.riverside.example,Outreach,participant,
Uma Udo,uma@riverside.example,,participant,pete@riverside.example
Pete Patron,pete@riverside.example,,patron,
"""


def emailed_join_link(app, email: str) -> str:
    with app.app_context():
        row = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == email)
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert row is not None, f"no email to {email}"
        return re.search(r"http://127\.0\.0\.1:5000(/join/\S+)", row.body_text).group(1)


def test_facilitator_sets_up_a_cohort_and_an_invitee_joins(app, live_server, new_page, sign_in):
    page = new_page()
    sign_in(page, "facilitator@example.org")

    # An organisation and a team.
    page.goto(f"{live_server}/organisations")
    page.get_by_label("Name", exact=True).fill("Riverside Trust")
    page.get_by_role("button", name="Add organisation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverside Trust")
    page.get_by_label("Team name").fill("Outreach")
    page.get_by_role("button", name="Add team").click()
    expect(page.locator("main")).to_contain_text("Outreach")

    # A cohort for it.
    page.goto(f"{live_server}/cohorts/new")
    page.get_by_label("Cohort name").fill("Riverside digital champions")
    page.get_by_label("Organisation").select_option(label="Riverside Trust")
    page.get_by_label("Start date").fill("2026-12-01")
    page.get_by_label("End date").fill("2027-02-28")
    page.get_by_role("button", name="Create cohort").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverside digital champions")

    # Five people from a CSV, one with a bad email: checked, fixed, invited.
    page.get_by_role("link", name="People", exact=True).first.click()
    page.get_by_role("link", name="Upload a CSV").click()
    page.get_by_label("Or paste the rows here").fill(ROWS_WITH_A_BAD_ONE)
    page.get_by_role("button", name="Check the rows").click()
    expect(page.locator(".error-summary")).to_contain_text("1 row has problems")
    expect(page.locator("main table")).to_contain_text("not a valid email address")
    expect(page.get_by_role("button", name=re.compile("^Invite"))).to_have_count(0)

    box = page.get_by_label("Or paste the rows here")
    box.fill(box.input_value().replace("tam.riverside.example", "tam@riverside.example"))
    page.get_by_role("button", name="Check the rows").click()
    expect(page.locator("main")).to_contain_text("Every row is fine")
    page.get_by_role("button", name="Invite 5 people").click()
    expect(page.locator(".flashes")).to_contain_text("Invited 5 people")
    expect(page.locator("main table")).to_contain_text("Rosa Reyes")
    expect(page.locator("main table")).to_contain_text("Pete Patron")

    # Rosa opens the link from her email, chooses a password and lands in the cohort.
    invitee = new_page()
    invitee.goto(live_server + emailed_join_link(app, "rosa@riverside.example"))
    expect(invitee.get_by_role("heading", level=1)).to_contain_text(
        "Join Riverside digital champions")
    invitee.get_by_label("Your name").fill("Rosa Reyes")
    invitee.get_by_label("Choose a password").fill("river walk at dawn")
    invitee.get_by_label("Repeat the password").fill("river walk at dawn")
    invitee.get_by_role("button", name="Create my account and join").click()
    expect(invitee.get_by_role("heading", level=1)).to_contain_text("Riverside digital champions")
    expect(invitee.locator(".flashes")).to_contain_text("Welcome to Riverside digital champions")
    expect(invitee.locator("header")).to_contain_text("Rosa Reyes")

    # The facilitator sees her as active.
    page.reload()
    rosa_row = page.get_by_role("row", name=re.compile(r"^Rosa Reyes rosa@"))
    expect(rosa_row).to_contain_text("active")
    expect(rosa_row).to_contain_text("Pete Patron")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_people_pages_have_no_serious_axe_violations(app, live_server, new_page, sign_in, scheme):
    from tests.browser.test_pages import assert_accessible

    page = new_page()
    page.emulate_media(color_scheme=scheme)
    sign_in(page, "facilitator@example.org")
    page.goto(f"{live_server}/cohorts")
    page.get_by_role("link", name="Digital Action Plan: Northfield spring cohort").first.click()
    page.get_by_role("link", name="People", exact=True).first.click()
    assert_accessible(page, f"roster ({scheme})")
    roster = page.url
    page.get_by_role("link", name="Doris Kaye").click()
    assert_accessible(page, f"member page ({scheme})")
    page.goto(roster)
    page.get_by_role("link", name="Upload a CSV").click()
    page.get_by_label("Or paste the rows here").fill(ROWS_WITH_A_BAD_ONE)
    page.get_by_role("button", name="Check the rows").click()
    assert_accessible(page, f"CSV preview with errors ({scheme})")
    page.goto(roster)
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_role("button", name="Send the invitation").click()
    assert_accessible(page, f"invite form with errors ({scheme})")

    participant = new_page()
    participant.emulate_media(color_scheme=scheme)
    sign_in(participant)
    participant.get_by_role("link", name="Digital Action Plan: Northfield spring cohort").click()
    participant.get_by_role("link", name="See your patrons, or invite one").click()
    assert_accessible(participant, f"my patrons ({scheme})")

    visitor = new_page()
    visitor.emulate_media(color_scheme=scheme)
    visitor.goto(f"{live_server}/join/not-a-real-token")
    assert_accessible(visitor, f"invalid join link ({scheme})")
