"""Patchy access in a real browser (docs/OFFLINE.md): the service worker keeps a
participant's pages, check-ins and web time made offline wait on the device and are saved
exactly once when the connection returns, a goal finished meanwhile is explained rather
than dropped, and signing out leaves nothing of the person on a shared device.

Offline is Playwright's own switch (``context.set_offline``), which cuts the service
worker off too. Every context allows service workers, and each test has its own."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans import services as plan_services
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.timecap.models import WebActivity
from tests.browser.test_pages import COHORT, PARTICIPANT, assert_accessible

pytestmark = pytest.mark.browser

OTHER_PARTICIPANT = "jordan.lee@example.org"
SW = {"service_workers": "allow"}


# --- helpers ------------------------------------------------------------------------------


def open_goals(app, email: str = PARTICIPANT) -> tuple[int, list[tuple[int, str]]]:
    """The cohort id and the (id, title) of the person's goals that are under way."""
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == COHORT))
        plan = db.session.scalar(select(Plan).join(User, User.id == Plan.participant_id)
                                 .where(User.email == email, Plan.cohort_id == cohort.id))
        goals = db.session.scalars(
            select(PlanGoal).where(PlanGoal.plan_id == plan.id,
                                   PlanGoal.status.in_((GoalStatus.ACTIVE, GoalStatus.PLANNED)))
            .order_by(PlanGoal.id)).all()
        found = cohort.id, [(g.id, g.title) for g in goals]
        db.session.remove()
        return found


def count_where(app, column, value) -> int:
    """How many rows of ``column``'s table have ``value`` there."""
    with app.app_context():
        found = db.session.scalar(select(func.count()).where(column == value))
        db.session.remove()
        return found


def count_check_ins(app, note: str) -> int:
    return count_where(app, CheckIn.note, note)


def count_web_activities(app, title: str) -> int:
    return count_where(app, WebActivity.title, title)


def controlled(page) -> None:
    """Wait until the service worker is active and controls the page."""
    page.wait_for_function("() => !!navigator.serviceWorker && navigator.serviceWorker.controller !== null")


def eventually(page, script: str, arg=None, *, timeout: float = 10.0) -> None:
    """Poll an async check in the page until it answers true (``wait_for_function`` does not
    wait for a promise)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {script}"
        page.wait_for_timeout(100)


def kept(page, *paths: str) -> None:
    """Wait until the service worker has kept each page (in a pages cache)."""
    eventually(page, """async (paths) => {
        for (const path of paths) {
            if (!(await caches.match(new URL(path, location.origin).href))) { return false; }
        }
        return true;
    }""", list(paths))


def not_kept(page, path: str) -> None:
    eventually(page, "async (path) => !(await caches.match(new URL(path, location.origin).href))",
               path)


def status(page):
    return page.locator("#sync-status")


def queued(page) -> list[dict]:
    """Every entry in the device's queue (all people)."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("dap-offline");
            open.onupgradeneeded = () => { open.transaction.abort(); resolve([]); };
            open.onerror = () => resolve([]);
            open.onsuccess = () => {
                const db = open.result;
                if (!db.objectStoreNames.contains("queue")) { db.close(); resolve([]); return; }
                const all = db.transaction("queue").objectStore("queue").getAll();
                all.onsuccess = () => { db.close(); resolve(all.result); };
                all.onerror = () => { db.close(); reject(all.error); };
            };
        })""")


def check_in(page, *, minutes: str, note: str, progress: str = "") -> None:
    form = page.locator("form[data-offline='check-in']")
    if progress:
        form.get_by_label("Progress (%)").fill(progress)
    form.get_by_label("Minutes on the web").fill(minutes)
    form.get_by_label("Note (optional)").fill(note)
    form.get_by_role("button", name="Check in").click()


# --- (a) the must-show journey ----------------------------------------------------------------


def test_offline_check_ins_and_web_log_are_saved_exactly_once(app, live_server, new_page,
                                                              sign_in):
    cohort_id, goals = open_goals(app)
    goal_id, goal_title = goals[0]
    plan_url = f"/cohorts/{cohort_id}/plan"
    goal_url = f"/cohorts/{cohort_id}/plan/goals/{goal_id}"
    page = new_page(**SW)
    sign_in(page)
    controlled(page)

    # online: the plan, a goal and the log page are read, and kept
    for path in (plan_url, goal_url, "/time/log"):
        page.goto(live_server + path)
    kept(page, plan_url, goal_url, "/time/log")
    expect(status(page)).to_be_hidden()  # nothing to say while all is well

    # offline: the goal page is the kept copy, and says so
    page.goto(live_server + goal_url)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(goal_title)
    expect(status(page)).to_contain_text("Offline — showing the copy saved at")

    check_in(page, progress="40", minutes="15", note="Offline check-in one ✓")
    expect(status(page)).to_contain_text("Saved on this device — it will be sent when you are back online")
    expect(status(page)).to_contain_text("1 waiting to send")
    expect(page.get_by_label("Note (optional)")).to_have_value("")  # ready for the next one
    check_in(page, minutes="10", note="Offline check-in two")
    expect(status(page)).to_contain_text("2 waiting to send")

    page.goto(live_server + "/time/log")  # the kept copy
    expect(page.get_by_role("heading", level=1)).to_have_text("Log web time")
    page.get_by_label("What did you do?").select_option("read")
    page.get_by_label("What was it?").fill("Offline reading on plain language")
    page.get_by_label("Minutes").fill("20")
    page.get_by_label("Note (optional)").fill("Read on the bus, no signal")
    page.get_by_role("button", name="Log my web time").click()
    expect(status(page)).to_contain_text("3 waiting to send")
    expect(status(page)).to_contain_text("Check-in: “" + goal_title + "”")
    expect(status(page)).to_contain_text("Web time: “Offline reading on plain language”")
    assert count_check_ins(app, "Offline check-in one ✓") == 0  # nothing reached DAP yet
    entries = queued(page)
    assert len({entry["key"] for entry in entries}) == 3

    # online again: the queue is sent by itself
    page.context.set_offline(False)
    expect(status(page)).to_contain_text("3 entries sent.")
    expect(status(page)).to_contain_text("Last synced at")
    expect(status(page)).not_to_contain_text("waiting to send")
    assert queued(page) == []
    assert count_check_ins(app, "Offline check-in one ✓") == 1
    assert count_check_ins(app, "Offline check-in two") == 1
    assert count_web_activities(app, "Offline reading on plain language") == 1
    with app.app_context():  # as typed
        first = db.session.scalar(select(CheckIn).where(CheckIn.note == "Offline check-in one ✓"))
        assert (first.goal_id, first.progress, first.minutes) == (goal_id, 40, 15)
        web = db.session.scalar(select(WebActivity).where(
            WebActivity.title == "Offline reading on plain language"))
        assert (web.kind.value, web.minutes, web.note) == ("read", 20, "Read on the bus, no signal")
        db.session.remove()

    # a retried send of each (as after an answer lost on the way) saves nothing twice
    with page.expect_response(lambda r: r.url.endswith("/sync/state")):
        page.reload()
    replays = page.evaluate(
        """async (entries) => {
            const state = await (await fetch("/sync/state")).json();
            const answers = [];
            for (const entry of entries) {
                const path = entry.kind === "check-in" ? "/sync/check-ins" : "/sync/web-activities";
                const response = await fetch(path, {method: "POST",
                    headers: {"Content-Type": "application/json", "Idempotency-Key": entry.key,
                              "X-CSRFToken": state.csrf_token},
                    body: JSON.stringify(entry.body)});
                answers.push([response.status, response.headers.get("Idempotent-Replayed")]);
            }
            return answers;
        }""", entries)
    assert replays == [[201, "true"]] * 3
    assert count_check_ins(app, "Offline check-in one ✓") == 1
    assert count_check_ins(app, "Offline check-in two") == 1
    assert count_web_activities(app, "Offline reading on plain language") == 1


@dataclass
class OfflineGoal:
    page: object
    goal_id: int
    goal_title: str
    plan_url: str
    goal_url: str


def offline_on_a_goal(app, live_server, new_page, sign_in, page=None) -> OfflineGoal:
    """The demo participant signs in (on ``page``, or a new one), opens their first open
    goal while online so that it and their plan are kept, then reloads it offline."""
    cohort_id, goals = open_goals(app)
    goal_id, goal_title = goals[0]
    found = OfflineGoal(page or new_page(**SW), goal_id, goal_title,
                        f"/cohorts/{cohort_id}/plan", f"/cohorts/{cohort_id}/plan/goals/{goal_id}")
    sign_in(found.page)
    controlled(found.page)
    found.page.goto(live_server + found.goal_url)
    kept(found.page, found.plan_url, found.goal_url)
    found.page.context.set_offline(True)
    found.page.reload()
    return found


def test_an_answer_lost_on_the_way_back_is_sent_again_and_saved_once(app, live_server,
                                                                     new_page, sign_in):
    """DAP saved the check-in but the device never heard: it keeps the entry, sends it
    again with the same key, and DAP answers with what it saved the first time."""
    page = offline_on_a_goal(app, live_server, new_page, sign_in).page
    check_in(page, minutes="5", note="Answer lost on the way")
    expect(status(page)).to_contain_text("1 waiting to send")

    lost = []

    def lose_the_first_answer(route):
        if not lost:
            lost.append(route.fetch())  # DAP saves it…
            route.abort("connectionreset")  # …and the answer never arrives
        else:
            route.continue_()

    page.context.route("**/sync/check-ins", lose_the_first_answer)
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/sync/check-ins")):
        page.context.set_offline(False)
    assert [answer.status for answer in lost] == [201]
    assert count_check_ins(app, "Answer lost on the way") == 1
    expect(status(page)).to_contain_text("1 waiting to send")  # the device does not know
    assert len(queued(page)) == 1

    with page.expect_response(lambda r: r.url.endswith("/sync/check-ins")) as answer:
        page.reload()
    assert answer.value.status == 201
    assert answer.value.headers.get("idempotent-replayed") == "true"
    expect(status(page)).to_contain_text("1 entry sent.")
    assert queued(page) == []
    assert count_check_ins(app, "Answer lost on the way") == 1


# --- (b) a conflict: the goal was finished meanwhile -----------------------------------------


def finish_goal(app, goal_id: int, email: str = PARTICIPANT) -> None:
    """Mark the goal done on DAP (as from another device), through the service."""
    with app.app_context():
        goal = db.session.get(PlanGoal, goal_id)
        person = db.session.scalar(select(User).where(User.email == email))
        plan_services.complete_goal(goal, actor=person, reflection="Finished on my laptop.",
                                    evidence=[])
        db.session.commit()
        db.session.remove()


def test_a_check_in_on_a_goal_finished_meanwhile_needs_attention(app, live_server, new_page,
                                                                 sign_in):
    opened = offline_on_a_goal(app, live_server, new_page, sign_in)
    page, goal_id, goal_title, goal_url = (opened.page, opened.goal_id, opened.goal_title,
                                           opened.goal_url)
    check_in(page, minutes="25", note="Tried it on the train")
    expect(status(page)).to_contain_text("1 waiting to send")
    finish_goal(app, goal_id)

    page.context.set_offline(False)
    attention = status(page).locator(".sync-attention")
    expect(status(page)).to_contain_text("1 entry needs your attention")
    expect(attention).to_contain_text(f"Check-in: “{goal_title}”")
    expect(attention).to_contain_text("This goal is finished or dropped")  # DAP's explanation
    expect(attention).to_contain_text("Tried it on the train")  # what they wrote, to copy
    expect(attention).to_contain_text("25")
    expect(status(page)).not_to_contain_text("waiting to send")
    assert count_check_ins(app, "Tried it on the train") == 0
    [entry] = queued(page)
    assert (entry["state"], entry["problem"]["code"]) == ("attention", "goal_closed")

    # a reload does not send it again, nor lose it
    with page.expect_response(lambda r: r.url.endswith("/sync/state")):
        page.reload()
    expect(status(page)).to_contain_text("1 entry needs your attention")

    # only the person dismisses it
    page.get_by_role("button", name=f"Dismiss Check-in: “{goal_title}”").click()
    expect(status(page)).to_contain_text("Dismissed")
    expect(status(page)).not_to_contain_text("needs your attention")
    expect(status(page).get_by_role("heading", level=2)).to_be_focused()
    assert queued(page) == []
    assert count_check_ins(app, "Tried it on the train") == 0

    # the finished goal is no longer kept for offline use
    not_kept(page, goal_url)


# --- (c) a shared device ----------------------------------------------------------------------


def without_clear_site_data(route) -> None:
    """Sign out as a browser that ignores ``Clear-Site-Data`` would: the page's script has
    to do the clearing."""
    response = route.fetch(max_redirects=0)
    route.fulfill(response=response, headers={
        name: value for name, value in response.headers.items()
        if name.lower() != "clear-site-data"})


@pytest.mark.parametrize("browser_clears", [True, False],
                         ids=["clear-site-data", "script-only"])
def test_signing_out_leaves_nothing_of_the_person_on_a_shared_device(app, live_server,
                                                                     new_page, sign_in,
                                                                     browser_clears):
    page = new_page(**SW)
    if not browser_clears:
        page.context.route("**/logout", lambda route: without_clear_site_data(route)
                           if route.request.method == "POST" else route.continue_())
    opened = offline_on_a_goal(app, live_server, new_page, sign_in, page)
    plan_url, goal_url = opened.plan_url, opened.goal_url

    # a check-in made offline that DAP cannot be reached for yet
    check_in(page, minutes="5", note="Alex's note on a shared device")
    page.context.route("**/sync/check-ins", lambda route: route.abort("connectionrefused"))
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/sync/check-ins")):
        page.context.set_offline(False)
    expect(status(page)).to_contain_text("1 waiting to send")

    # signing out from the header goes by the sign-out page, which says what would be lost
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/logout")
    warning = page.locator("#sync-unsent")
    expect(warning).to_contain_text(
        "1 entry has not been sent yet. Signing out on this device deletes it.")
    expect(warning.get_by_role("button", name="Send them now")).to_be_visible()
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("body")).to_have_attribute("data-offline-cleared", "1")
    # Clear-Site-Data "storage" takes the service worker away too; without it, the worker
    # stays, holding only what names nobody
    registered = page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => !!r)")
    assert registered is not browser_clears

    left = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) { urls.push(request.url); }
            }
            const databases = indexedDB.databases ? await indexedDB.databases() : [];
            return {urls, databases: databases.map(d => d.name)};
        }""")
    assert not [url for url in left["urls"] if "/plan" in url or "/time/log" in url], left
    assert "dap-offline" not in left["databases"]
    assert queued(page) == []

    # the next person signs in on the same device and goes offline
    page.context.unroute("**/sync/check-ins")
    sign_in(page, OTHER_PARTICIPANT)
    controlled(page)
    kept(page, plan_url)  # their own plan: the same address, their own copy
    page.context.set_offline(True)
    page.goto(live_server + goal_url)  # Alex's goal
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(page.locator("body")).not_to_contain_text("Alex")  # (library goals they share
    # may be listed as kept: Jordan's own copies)
    page.goto(live_server + plan_url)
    expect(page.get_by_role("banner")).to_contain_text("Jordan Lee")
    expect(page.locator("body")).not_to_contain_text("Alex Morgan")
    expect(status(page)).not_to_contain_text("waiting to send")
    assert count_check_ins(app, "Alex's note on a shared device") == 0


def test_another_person_signing_in_never_sees_or_sends_the_first_ones_entries(
        app, live_server, new_page, sign_in):
    """Alex's session ends without signing out (it expired; cookies cleared) and Jordan signs
    in on the same browser: Alex's kept pages go, Alex's waiting entry stays hidden and is
    never sent as Jordan's."""
    opened = offline_on_a_goal(app, live_server, new_page, sign_in)
    page, plan_url, goal_url = opened.page, opened.plan_url, opened.goal_url
    check_in(page, minutes="5", note="Alex's entry, never Jordan's")
    expect(status(page)).to_contain_text("1 waiting to send")

    page.context.clear_cookies()
    page.context.set_offline(False)
    sign_in(page, OTHER_PARTICIPANT)
    not_kept(page, goal_url)
    kept(page, plan_url)  # Jordan's own plan at the same address
    page.context.set_offline(True)
    page.goto(live_server + plan_url)
    expect(page.get_by_role("banner")).to_contain_text("Jordan Lee")
    expect(page.locator("body")).not_to_contain_text("Alex")
    expect(status(page)).not_to_contain_text("waiting to send")
    assert [entry["body"]["note"] for entry in queued(page)] == ["Alex's entry, never Jordan's"]
    assert count_check_ins(app, "Alex's entry, never Jordan's") == 0


# --- (d) the offline page, the manifest, the worker -------------------------------------------


def test_a_page_never_kept_shows_the_offline_page(app, live_server, new_page, sign_in):
    cohort_id, _ = open_goals(app)
    plan_url = f"/cohorts/{cohort_id}/plan"
    page = new_page(**SW)
    sign_in(page)
    controlled(page)
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == f"{live_server}/sw.js"
    expect(page.locator('meta[name="theme-color"]')).to_have_attribute("content", "#1d4ed8")
    manifest = page.evaluate(
        """async () => {
            const link = document.querySelector('link[rel="manifest"]');
            const response = await fetch(link.href);
            return {type: response.headers.get("Content-Type"), text: await response.text()};
        }""")
    assert manifest["type"].startswith("application/manifest+json")
    document = json.loads(manifest["text"])
    assert (document["short_name"], document["display"], document["theme_color"]) == (
        "DAP", "standalone", "#1d4ed8")
    # the first sync keeps what DAP lists, none of it opened yet
    listed = page.evaluate("fetch('/sync/state').then(r => r.json()).then(s => s.keep)")
    assert plan_url in listed
    assert "/time/log" in listed
    kept(page, *listed)

    page.context.set_offline(True)
    page.goto(f"{live_server}/community/never-visited")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(page).to_have_title("Offline · DAP")
    kept_list = page.locator("#offline-pages")
    expect(kept_list.get_by_role("heading", name="Kept on this device")).to_be_visible()
    expect(kept_list.get_by_role("link", name="Log web time")).to_be_visible()
    kept_list.get_by_role("link", name="Log web time").click()
    expect(page).to_have_url(f"{live_server}/time/log")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log web time")
    expect(status(page)).to_contain_text("Offline — showing the copy saved at")


# --- (e) accessibility of the status region ---------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_status_region_has_no_serious_axe_violations(app, live_server, new_page, sign_in,
                                                         scheme):
    cohort_id, goals = open_goals(app)
    (closing, closing_title), (open_id, _) = goals[0], goals[1]
    closing_url = f"/cohorts/{cohort_id}/plan/goals/{closing}"
    open_url = f"/cohorts/{cohort_id}/plan/goals/{open_id}"
    page = new_page(**SW)
    page.emulate_media(color_scheme=scheme)
    sign_in(page)
    controlled(page)
    page.goto(live_server + closing_url)
    kept(page, closing_url, open_url)

    page.context.set_offline(True)
    page.reload()
    check_in(page, minutes="30", note="A note that will need attention")
    finish_goal(app, closing)
    page.context.set_offline(False)
    expect(status(page)).to_contain_text("1 entry needs your attention")

    page.context.set_offline(True)
    page.goto(live_server + open_url)
    check_in(page, minutes="10", note="Waiting <b>for</b> the connection")
    expect(status(page)).to_contain_text("1 waiting to send")
    expect(status(page)).to_contain_text("1 entry needs your attention")
    expect(status(page)).to_contain_text("Offline — showing the copy saved at")
    expect(status(page).get_by_role("button", name=f"Dismiss Check-in: “{closing_title}”")
           ).to_be_visible()
    assert_accessible(page, f"the status region with waiting and attention entries ({scheme})")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
