"""A facilitator sets up a webhook in a real browser: from the cohort's overview to a
delivered test ping, with no serious axe violations on either page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dap.cohorts.models import Cohort
from dap.extensions import db
from tests.browser.test_pages import COHORT, assert_accessible
from tests.webhooks.conftest import local_receivers, receiver  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_a_facilitator_adds_a_webhook_and_pings_it(app, live_server, new_page, sign_in,
                                                   receiver):  # noqa: F811
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.name == COHORT))
    page = new_page()
    sign_in(page, "facilitator@example.org")
    page.goto(f"{live_server}/cohorts/{cohort_id}")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Webhooks")
    page.get_by_label("Address to post to").fill(receiver.url)
    page.get_by_label("goal.completed").check()
    page.get_by_label("check_in.created").check()
    assert_accessible(page, "the webhooks page")
    page.get_by_role("button", name="Add webhook").click()

    expect(page.get_by_text("Webhook added.")).to_be_visible()
    page.get_by_text("Show the signing secret").click()
    secret = page.get_by_label("Secret").input_value()
    assert len(secret) == 64
    page.get_by_role("button", name="Send a test ping").click()
    expect(page.get_by_text("Ping delivered: your tool answered HTTP 200")).to_be_visible()
    expect(page.get_by_role("cell", name="delivered")).to_be_visible()
    assert_accessible(page, "a webhook's page")
    [request] = receiver.requests
    assert request.verifies(secret)
    assert request.payload["type"] == "ping"
