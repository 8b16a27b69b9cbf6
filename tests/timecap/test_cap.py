"""The cap: the weekly allowance from web time, pages sending a capped participant out to
Explore, what stays open, logging web time lifting the cap, exemptions, weeks in the
cohort's time zone (DST weeks of 167 and 169 hours), and the meter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Membership
from dap.extensions import db
from dap.plans import services as plan_services
from dap.timecap import services
from dap.timecap.models import PlatformDay
from tests.conftest import post_form

T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def low_cap(app, world):
    """The world cohort with a 1-minute grace and a 5-minute weekly cap."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes, cohort.platform_minutes_per_week = 1, 5
        cohort.start_date = date(2026, 9, 1)
        db.session.commit()


def _capped_tab(tab):
    me = tab()
    me.open(T0)
    me.beats(T0 + timedelta(seconds=30), 2)  # 60 s: the 1-minute grace is used
    return me


# --- the allowance ---------------------------------------------------------------------------


@pytest.mark.parametrize(("share", "cap", "grace", "web", "expected"), [
    (0.5, 60, 15, 0, 15),  # nothing logged: the grace
    (0.5, 60, 15, 30, 45),  # half and half: a minute on DAP per minute on the web
    (0.5, 60, 15, 100, 60),  # never beyond the weekly cap
    (0.25, 60, 0, 10, 30),  # a quarter on the web: three minutes per web minute
    (0.75, 60, 10, 30, 20),  # three quarters on the web: a third of a minute per web minute
    (0.5, 0, 15, 50, 0),  # a cap of 0
])
def test_the_allowance(share, cap, grace, web, expected):
    cohort = Cohort(web_share=share, platform_minutes_per_week=cap, grace_minutes=grace)
    assert services.allowance(cohort, web) == expected


# --- capped ------------------------------------------------------------------------------------


def test_a_capped_participant_is_sent_out_to_explore(world, tab, low_cap):
    me = _capped_tab(tab)
    for path in ("/", f"/cohorts/{world['cohort']}/plan", "/library/", f"/cohorts/{world['cohort']}/home"):
        response = me.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/time/explore"
    page = me.client.get("/time/explore").get_data(as_text=True)
    assert "Time to explore the web" in page
    assert "You have used this week’s time on DAP" in page
    assert 'class="bookmarklet" href="javascript:' in page
    assert "Log my web time" in page
    # the heartbeat says so, and the script goes to Explore
    assert me.beat(T0 + timedelta(seconds=90)).get_json()["capped"] is True


@pytest.mark.parametrize("path", ["/time/explore", "/time/log", "/account", "/account/export",
                                  "/time/log?url=https://example.org&title=Hi"])
def test_what_stays_open_while_capped(world, tab, low_cap, path):
    me = _capped_tab(tab)
    assert me.client.get(path).status_code == 200


def test_signing_out_works_while_capped(world, tab, low_cap):
    me = _capped_tab(tab)
    response = post_form(me.client, "/logout")
    assert response.status_code in (302, 303)
    assert me.client.get("/account").headers["Location"].startswith("/login")


def test_a_form_sent_while_capped_is_still_saved(app, world, tab, low_cap, own_goal):
    """The form was loaded while allowed: what was typed is kept; the next page is Explore."""
    goal_id = own_goal()
    me = _capped_tab(tab)
    response = me.client.post(f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/check-ins",
                              data={"csrf_token": me.token, "note": "Typed before the cap"})
    assert response.status_code == 302
    assert me.client.get(response.headers["Location"]).status_code == 303
    with app.app_context():
        from dap.plans.models import CheckIn

        assert db.session.scalar(select(CheckIn.note)) == "Typed before the cap"


def test_logging_web_time_lifts_the_cap_at_once(app, world, tab, low_cap):
    me = _capped_tab(tab)
    response = me.client.post("/time/log", data={
        "csrf_token": me.token, "kind": "read", "title": "A guide to writing for screens",
        "url": "https://example.org/guide", "minutes": "30"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = me.client.get("/")
    assert page.status_code == 200
    assert "That opens the platform again" in page.get_data(as_text=True)
    assert me.beat(T0 + timedelta(seconds=120)).get_json()["capped"] is False


def test_check_in_minutes_count_as_web_time(app, world, tab, low_cap, own_goal, frozen):
    frozen(T0)  # the check-in belongs to T0's week, whatever today's date is
    goal_id = own_goal()
    with app.app_context():
        from dap.plans.models import PlanGoal

        goal = db.session.get(PlanGoal, goal_id)
        plan_services.check_in(goal, actor=goal.plan.participant, progress=None, minutes=3,
                               note="")
        db.session.commit()
    me = _capped_tab(tab)  # 60 s used of 1 + 3 minutes
    assert me.client.get("/").status_code == 200
    figures = me.beat(T0 + timedelta(seconds=90)).get_json()
    assert (figures["web_minutes"], figures["allowance_minutes"]) == (3, 4)


def test_an_exempt_participant_is_never_capped(app, world, tab, low_cap):
    with app.app_context():
        membership = db.session.get(Membership, world["participant_membership"])
        services.set_exemption(membership, actor=db.session.get(User, world["facilitator"]),
                               exempt=True, reason="Screen reader user")
        db.session.commit()
    me = _capped_tab(tab)
    me.beats(T0 + timedelta(seconds=90), 20)
    assert me.client.get("/").status_code == 200
    assert "no cap for you" in me.client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin"])
def test_others_are_never_capped(world, tab, low_cap, role):
    them = tab(role)
    them.open(T0)
    them.client.post("/time/heartbeat", headers={"X-CSRFToken": them.token})
    for n in range(1, 20):
        them.frozen(T0 + timedelta(seconds=30 * n))
        assert them.client.get("/").status_code == 200
    assert "min on DAP" not in them.client.get("/").get_data(as_text=True)


# --- weeks ---------------------------------------------------------------------------------------


def _sunday_then_monday(tab, frozen, last_minute: datetime) -> None:
    """Use the week's minute in the last 90 s before local midnight (``last_minute`` is
    23:58:30 local), then beat at 00:00:00 local: Monday starts with 30 s, under the cap."""
    frozen(last_minute)
    me = tab()
    me.open(last_minute)
    me.beats(last_minute + timedelta(seconds=30), 2)
    assert me.client.get("/").status_code == 303  # capped late on Sunday
    me.beats(last_minute + timedelta(seconds=90), 1)  # 00:00:00 on Monday
    assert me.client.get("/").status_code == 200


def test_a_new_week_starts_on_monday_in_the_cohorts_time_zone(world, tab, frozen, low_cap):
    _sunday_then_monday(tab, frozen, datetime(2026, 11, 22, 23, 58, 30, tzinfo=UTC))


@pytest.mark.parametrize(("last_minute", "hours"), [
    # the week that ends after the clocks went back (25 October 2026): 169 hours; London is
    # on GMT again by Sunday night
    (datetime(2026, 10, 25, 23, 58, 30, tzinfo=UTC), 169),
    # the week that ends after the clocks went forward (28 March 2027): 167 hours; 23:58:30
    # in London is 22:58:30 UTC
    (datetime(2027, 3, 28, 22, 58, 30, tzinfo=UTC), 167),
])
def test_dst_weeks_end_at_local_midnight(app, world, tab, frozen, last_minute, hours):
    from dap.clock import week_bounds

    start, end = week_bounds(last_minute, "Europe/London")
    assert end - start == timedelta(hours=hours)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date = date(2026, 9, 1)
        cohort.end_date = date(2027, 6, 30)
        cohort.grace_minutes, cohort.platform_minutes_per_week = 1, 5
        db.session.commit()
    _sunday_then_monday(tab, frozen, last_minute)
    with app.app_context():
        days = dict(db.session.execute(select(PlatformDay.day, PlatformDay.seconds)).all())
    sunday = (last_minute + timedelta(hours=1 if hours == 167 else 0)).date()
    assert days == {sunday: 60, sunday + timedelta(days=1): 30}


# --- the meter -------------------------------------------------------------------------------------


def test_the_meter_shows_the_week_and_warns_at_80_percent(app, world, tab):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes, cohort.platform_minutes_per_week = 5, 60
        db.session.commit()
    me = tab()
    me.open(T0)
    page = me.client.get("/").get_data(as_text=True)
    assert 'id="time-meter"' in page
    assert ('<strong data-meter="platform">0</strong> of <span data-meter="allowance">5</span> '
            "min on DAP") in page
    assert 'src="/static/js/heartbeat.js"' in page
    me.beats(T0 + timedelta(seconds=30), 8)  # 4 minutes of 5: 80 %
    page = me.client.get("/").get_data(as_text=True)
    assert "time-meter-warn" in page
    assert "Nearly time to explore the web" in page


def test_the_meter_is_only_for_participants(world, role_client):
    page = role_client("facilitator").get("/").get_data(as_text=True)
    assert 'id="time-meter"' not in page
    assert "heartbeat.js" not in page


# --- exemptions by facilitators -----------------------------------------------------------


def _member_page(world) -> str:
    return f"/cohorts/{world['cohort']}/people/{world['participant_membership']}"


def test_a_facilitator_exempts_a_participant_with_a_reason_and_it_is_audited(app, world,
                                                                             role_client):
    from dap.audit.models import AuditEvent

    facilitator = role_client("facilitator")
    page = facilitator.get(_member_page(world)).get_data(as_text=True)
    assert "Platform time" in page
    assert "Exempt them from the cap" in page
    missing = post_form(facilitator, _member_page(world) + "/cap-exemption",
                        {"cap-exempt": "1", "cap-reason": "  "})
    assert missing.status_code == 400
    assert "Enter a reason" in missing.get_data(as_text=True)
    too_long = post_form(facilitator, _member_page(world) + "/cap-exemption",
                         {"cap-exempt": "1", "cap-reason": "r" * 201})
    assert too_long.status_code == 400
    response = post_form(facilitator, _member_page(world) + "/cap-exemption",
                         {"cap-exempt": "1", "cap-reason": "Uses a screen reader"})
    assert response.status_code == 302
    with app.app_context():
        membership = db.session.get(Membership, world["participant_membership"])
        assert (membership.cap_exempt, membership.cap_exempt_reason) == (
            True, "Uses a screen reader")
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "timecap.exempted"))
        assert event.actor_id == world["facilitator"]
        assert event.subject_id == world["participant"]
    page = facilitator.get(_member_page(world)).get_data(as_text=True)
    assert "Uses a screen reader" in page
    response = post_form(facilitator, _member_page(world) + "/cap-exemption", {"cap-exempt": "0"})
    assert response.status_code == 302
    with app.app_context():
        membership = db.session.get(Membership, world["participant_membership"])
        assert (membership.cap_exempt, membership.cap_exempt_reason) == (False, "")
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "timecap.exemption_ended")) is not None


@pytest.mark.parametrize("role", ["participant", "patron"])
def test_only_managers_exempt(app, world, role_client, role):
    client = role_client(role)
    response = post_form(client, _member_page(world) + "/cap-exemption",
                         {"cap-exempt": "1", "cap-reason": "Please"})
    assert response.status_code == 404
    with app.app_context():
        assert not db.session.get(Membership, world["participant_membership"]).cap_exempt


def test_patrons_and_facilitators_cannot_be_exempted(app, world, role_client):
    with app.app_context():
        patron_membership = db.session.scalar(
            select(Membership.id).where(Membership.user_id == world["patron"]))
    response = post_form(role_client("facilitator"),
                         f"/cohorts/{world['cohort']}/people/{patron_membership}/cap-exemption",
                         {"cap-exempt": "1", "cap-reason": "x"})
    assert response.status_code == 400
    assert "Only participants are capped" in response.get_data(as_text=True)


def test_a_script_asking_for_json_gets_a_problem_with_a_stable_code(world, tab, low_cap):
    me = _capped_tab(tab)
    response = me.client.get(f"/cohorts/{world['cohort']}/plan",
                             headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "platform_cap_reached"
    assert body["status"] == 403
    assert (body["platform_minutes"], body["allowance_minutes"]) == (1, 1)
    assert body["log_url"] == "/time/log"
    # a browser (HTML first) is redirected as before
    browser = me.client.get(f"/cohorts/{world['cohort']}/plan",
                            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 303
