"""Installing DAP (the manifest, the service worker, the offline page), which pages a
device may keep, what /sync/state tells it, and signing out on a shared device."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.plans.models import GoalStatus
from dap.timecap.models import PlatformDay
from tests.api.conftest import write_goal
from tests.conftest import counting_queries, post_form
from tests.offline.conftest import problem

STATIC = Path(__file__).resolve().parents[2] / "static"
KEEP = "DAP-Offline"


# --- installing ---------------------------------------------------------------------------


def test_the_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.get_data() == (STATIC / "js" / "sw.js").read_bytes()
    response.close()
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    again.close()
    assert again.status_code == 304


def test_the_manifest_makes_dap_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    assert manifest["scope"] == "/"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200, icon["src"]
        assert served.mimetype == "image/png"
        served.close()
        size = int(icon["sizes"].split("x")[0])
        with Image.open(STATIC / icon["src"].removeprefix("/static/")) as image:
            assert image.size == (size, size), icon["src"]


def test_every_page_links_the_manifest_and_one_theme_colour(client, role_client):
    manifest = client.get("/manifest.webmanifest").get_json()
    for page in (client.get("/login"), role_client("participant").get("/")):
        html = page.get_data(as_text=True)
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html
        assert f'<meta name="theme-color" content="{manifest["theme_color"]}">' in html


def test_the_offline_page_names_nobody(role_client):
    participant = role_client("participant")
    html = participant.get("/offline").get_data(as_text=True)
    assert "You are offline" in html
    assert "Alex" not in html
    assert "data-user" not in html
    assert 'name="csrf-token"' not in html


def test_installing_is_no_platform_time(app, role_client):
    participant = role_client("participant")
    with app.app_context():
        before = db.session.scalar(select(func.coalesce(func.sum(PlatformDay.seconds), 0)))
    for path in ("/sw.js", "/manifest.webmanifest", "/offline", "/sync/state"):
        participant.get(path).close()
    with app.app_context():
        assert db.session.scalar(select(func.coalesce(func.sum(PlatformDay.seconds), 0))) \
            == before


def test_installing_and_syncing_stay_open_when_capped(app, world, role_client):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes = 0
        db.session.commit()
    participant = role_client("participant")
    assert participant.get("/").status_code == 303  # capped: pages send them to Explore
    for path in ("/sw.js", "/manifest.webmanifest", "/offline", "/sync/state"):
        response = participant.get(path)
        response.close()
        assert response.status_code == 200, path


# --- the pages a device may keep ------------------------------------------------------------


@pytest.fixture
def library_goal(app, world):
    """``library_goal()`` → (goal id, slug) of a goal adopted from the library."""

    def adopt() -> tuple[int, str]:
        from dap.accounts.models import User
        from dap.content.library import current_library
        from dap.plans import services

        with app.app_context():
            found = next(iter(current_library().goals.values()))
            person = db.session.get(User, world["participant"])
            plan = services.plan_for(db.session.get(Cohort, world["cohort"]), person)
            goal = services.adopt_goal(plan, found, actor=person)
            db.session.commit()
            return goal.id, found.slug

    return adopt


def test_own_plan_goal_library_and_log_pages_are_kept(app, world, role_client, library_goal):
    goal, slug = library_goal()
    me = role_client("participant")
    me.get("/")  # the welcome message is read (a page showing it is not kept)
    cohort = world["cohort"]
    for path in (f"/cohorts/{cohort}/plan", f"/cohorts/{cohort}/plan/goals/{goal}",
                 f"/library/{slug}", "/time/log"):
        response = me.get(path)
        assert response.status_code == 200, path
        assert response.headers.get(KEEP) == "keep", path
    assert f"/library/{slug}" in me.get("/sync/state").get_json()["keep"]


def test_other_pages_and_other_peoples_plans_are_not_kept(app, world, role_client, own_goal):
    goal = own_goal()
    cohort, membership = world["cohort"], world["participant_membership"]
    me = role_client("participant")
    for path in ("/", "/account", f"/cohorts/{cohort}/plan?tab=all",
                 f"/cohorts/{cohort}/plan/goals/{goal}/nonsense",
                 f"/cohorts/{cohort}/plan/goals/999999"):
        response = me.get(path)
        assert KEEP not in response.headers, path
    for role in ("patron", "facilitator"):
        response = role_client(role).get(f"/cohorts/{cohort}/people/{membership}/plan")
        assert response.status_code == 200
        assert KEEP not in response.headers, role


def test_a_page_showing_a_one_time_message_is_not_kept(app, world, role_client, own_goal):
    goal = own_goal()
    me = role_client("participant")
    me.get("/")  # the welcome message is read
    page = f"/cohorts/{world['cohort']}/plan/goals/{goal}"
    response = post_form(me, f"{page}/check-ins", {"minutes": "10", "note": "Tried it"},
                         follow_redirects=True)
    assert "Checked in." in response.get_data(as_text=True)
    assert KEEP not in response.headers
    assert me.get(page).headers.get(KEEP) == "keep"


# --- what the device is told ------------------------------------------------------------------


def test_state_gives_a_token_the_pages_to_keep_and_the_week(app, world, role_client, own_goal):
    open_goal = own_goal()
    done = write_goal(app, world["participant"], world["cohort"], title="Finished",
                      status=GoalStatus.DONE)
    me = role_client("participant")
    me.get("/")  # the welcome message is read
    response = me.get("/sync/state")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    state = response.get_json()
    assert state["user"] == world["participant"]
    assert state["participant"] is True
    assert state["csrf_token"]
    cohort = world["cohort"]
    assert f"/cohorts/{cohort}/plan" in state["keep"]
    assert f"/cohorts/{cohort}/plan/goals/{open_goal}" in state["keep"]
    assert f"/cohorts/{cohort}/plan/goals/{done}" not in state["keep"]
    assert "/time/log" in state["keep"]
    assert set(state["balance"]) >= {"platform_minutes", "allowance_minutes", "web_minutes",
                                     "capped"}
    for url in state["keep"]:
        kept = me.get(url)
        assert kept.status_code == 200, url
        assert kept.headers.get(KEEP) == "keep", url


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin"])
def test_people_who_are_not_participants_keep_nothing(world, role_client, role):
    state = role_client(role).get("/sync/state").get_json()
    assert state["keep"] == []
    assert state["participant"] is False
    assert state["balance"] is None


def test_an_archived_cohort_keeps_nothing(app, world, role_client, own_goal):
    own_goal()
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert role_client("participant").get("/sync/state").get_json()["keep"] == []


def test_signed_out_state_is_a_401_problem(client):
    problem(client.get("/sync/state"), 401, "signed_out")


def test_unknown_sync_paths_are_problems_too(role_client):
    problem(role_client("participant").get("/sync/nothing"), 404, "not_found")
    problem(role_client("participant").put("/sync/check-ins"), 405, "method_not_allowed")


def test_state_takes_the_same_statements_with_many_goals(app, world, role_client, own_goal):
    me = role_client("participant")
    own_goal()
    me.get("/sync/state")
    with counting_queries(app) as few:
        me.get("/sync/state")
    for n in range(40):
        own_goal(title=f"Goal {n}")
    with counting_queries(app) as many:
        state = me.get("/sync/state").get_json()
    assert len(many) == len(few)
    goals = [url for url in state["keep"] if "/goals/" in url]
    assert len(goals) == 30  # the newest 30


# --- a shared device ------------------------------------------------------------------------


def test_signing_out_tells_the_browser_to_clear_what_it_kept(role_client):
    me = role_client("participant")
    response = post_form(me, "/logout")
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    first = me.get("/login").get_data(as_text=True)
    assert 'data-signed-out="1"' in first
    assert 'data-signed-out="1"' not in me.get("/login").get_data(as_text=True)


def test_a_failed_sign_out_clears_nothing(role_client):
    me = role_client("participant")
    response = me.post("/logout", data={})
    assert response.status_code == 400
    assert "Clear-Site-Data" not in response.headers


def test_a_background_fetch_to_keep_a_page_is_nobody_reading_it(app, world, role_client,
                                                                  own_goal):
    """The service worker refreshing kept pages: no platform time, and a message waiting to
    be read once is left for the page the person opens next."""
    goal = own_goal()
    me = role_client("participant")  # "Welcome back" is waiting
    page = f"/cohorts/{world['cohort']}/plan/goals/{goal}"
    with app.app_context():
        before = db.session.scalar(select(func.coalesce(func.sum(PlatformDay.seconds), 0)))
    fetched = me.get(page, headers={KEEP: "fetch"})
    assert fetched.status_code == 200
    assert fetched.headers.get(KEEP) == "keep"
    assert "Welcome back" not in fetched.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.coalesce(func.sum(PlatformDay.seconds), 0))) \
            == before
        assert db.session.scalar(select(func.count()).select_from(PlatformDay)) == 0
    assert "Welcome back" in me.get("/").get_data(as_text=True)


def test_the_offline_page_answers_errors_as_a_page_not_a_problem(client):
    response = client.post("/offline")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
