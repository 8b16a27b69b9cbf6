"""DAP on a slow 3G connection (400 ms round trips, 400 kbit/s each way, through the DevTools
protocol): a participant signs in, opens the plan and a goal and checks in, in reasonable
time; the plan page on a first visit (nothing cached) comes to under 100 KB, compressed."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans.models import GoalStatus, Plan, PlanGoal
from tests.browser.test_pages import COHORT, PARTICIPANT

pytestmark = pytest.mark.browser

#: DevTools' "Slow 3G": throughput in bytes per second
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
           "uploadThroughput": 400_000 / 8}
#: what a first visit to a page may transfer
BUDGET = 100_000
#: the longest one step (a page, a form sent) may take on this connection
STEP_MS = 20_000


def slow_page(new_page):
    """A page on a slow 3G connection (with the service worker a phone would have), and its
    DevTools session."""
    page = new_page(service_workers="allow")
    page.context.set_default_timeout(STEP_MS)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    return page, cdp


class Transfers:
    """Every response the page receives: address, content coding and bytes on the wire
    (``Network.loadingFinished``'s ``encodedDataLength``: headers and body as received)."""

    def __init__(self, cdp) -> None:
        self.requests: dict[str, dict] = {}
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)

    def _response(self, event: dict) -> None:
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        self.requests[event["requestId"]] = {
            "url": event["response"]["url"], "status": event["response"]["status"],
            "coding": headers.get("content-encoding"), "bytes": None,
            "type": event.get("type")}

    def _finished(self, event: dict) -> None:
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["bytes"] = event["encodedDataLength"]

    def clear(self) -> None:
        self.requests.clear()

    def finished(self) -> list[dict]:
        return [r for r in self.requests.values() if r["bytes"] is not None]


def alex_goal(app) -> tuple[int, str]:
    """The demo participant's spring cohort and the title of a goal still open."""
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == COHORT))
        alex = db.session.scalar(select(User).where(User.email == PARTICIPANT))
        goal = db.session.scalars(select(PlanGoal).join(Plan).where(
            Plan.cohort_id == cohort.id, Plan.participant_id == alex.id,
            PlanGoal.status == GoalStatus.ACTIVE).order_by(PlanGoal.position)).first()
        return cohort.id, goal.title


def test_a_participant_signs_in_opens_a_goal_and_checks_in_on_slow_3g(app, live_server,
                                                                      new_page, sign_in):
    cohort_id, title = alex_goal(app)
    page, _ = slow_page(new_page)
    started = time.perf_counter()
    sign_in(page)
    page.goto(f"{live_server}/cohorts/{cohort_id}/plan")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    page.get_by_label("Progress (%)").fill("60")
    page.get_by_label("Minutes on the web").fill("20")
    page.get_by_label("Note (optional)").fill("Checked in over a slow connection")
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#timeline")).to_contain_text("Checked in over a slow connection",
                                                      timeout=STEP_MS)
    took = time.perf_counter() - started
    assert took < 45, f"the journey took {took:.1f} s on slow 3G"
    print(f"sign in, plan, goal, check-in on slow 3G: {took:.1f} s")


def test_the_plan_page_is_compressed_and_under_100_kb_on_a_first_visit(app, live_server,
                                                                       new_page, sign_in):
    cohort_id, _ = alex_goal(app)
    page, cdp = slow_page(new_page)
    sign_in(page)
    page.wait_for_load_state("networkidle")  # the dashboard's own files all in
    transfers = Transfers(cdp)
    # a first visit: nothing in the HTTP cache, no service worker yet to answer from its own
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.setBypassServiceWorker", {"bypass": True})
    plan = f"{live_server}/cohorts/{cohort_id}/plan"
    page.goto(plan, wait_until="load")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state("networkidle")
    loaded = transfers.finished()

    document = next(r for r in loaded if r["url"] == plan)
    assert document["status"] == 200
    assert document["coding"] in {"br", "gzip"}, document
    styles_and_scripts = [r for r in loaded if r["url"].endswith((".css", ".js"))
                          and "/static/" in r["url"]]
    assert any(r["url"].endswith("app.css") for r in styles_and_scripts)
    for r in styles_and_scripts:
        assert (r["status"], r["coding"] in {"br", "gzip"}) == (200, True), r
    total = sum(r["bytes"] for r in loaded)
    assert total < BUDGET, "\n".join(f"{r['bytes']:>8} {r['coding']} {r['url']}" for r in loaded)
    uncompressed = page.evaluate(
        "performance.getEntriesByType('navigation')[0].decodedBodySize")
    assert uncompressed > 2 * document["bytes"]  # the page itself shrank well
    print(f"plan page, first visit on slow 3G: {total:,} bytes in {len(loaded)} responses; "
          f"the page {document['bytes']:,} ({document['coding']}) for {uncompressed:,}")
    for r in loaded:
        print(f"  {r['bytes']:>7,} {r['coding'] or '-':4} {r['url'].removeprefix(live_server)}")
