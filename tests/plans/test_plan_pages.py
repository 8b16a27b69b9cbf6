"""The participant's plan through HTTP: adopting and writing goals, check-ins, editing them
for 24 hours, finishing, dropping, ordering, the streak, and scope (404 for others)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole
from dap.content.library import current_library
from dap.extensions import db
from dap.plans import services
from dap.plans.models import CheckIn, GoalStatus, PlanGoal
from tests import factories
from tests.conftest import post_form


def _slug(app) -> str:
    with app.app_context():
        return sorted(current_library().goals)[0]


def _goal(app, goal_id: int) -> PlanGoal:
    with app.app_context():
        goal = db.session.get(PlanGoal, goal_id)
        db.session.expunge(goal)
        return goal


def _check_ins(app, goal_id: int) -> list[tuple[int | None, int | None, str]]:
    with app.app_context():
        return [(c.progress, c.minutes, c.note) for c in db.session.scalars(
            select(CheckIn).where(CheckIn.goal_id == goal_id).order_by(CheckIn.id))]


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def me(role_client):
    return role_client("participant")


# --- adopting and writing goals ----------------------------------------------------------------


def test_participant_adopts_a_library_goal_from_its_page(app, world, me):
    slug = _slug(app)
    page = me.get(f"/library/{slug}")
    assert page.status_code == 200
    assert "Add to my plan" in _text(page)
    assert f'name="cohort" value="{world["cohort"]}"' in _text(page)

    response = post_form(me, f"/cohorts/{world['cohort']}/plan/adopt",
                         {"slug": slug, "cohort": world["cohort"], "why": "Listen better",
                          "visibility": "cohort"})
    assert response.status_code == 302
    match = re.fullmatch(rf"/cohorts/{world['cohort']}/plan/goals/(\d+)",
                         response.headers["Location"])
    assert match
    goal = _goal(app, int(match.group(1)))
    assert goal.library_slug == slug
    assert goal.why == "Listen better"
    assert goal.visibility.value == "cohort"
    assert goal.created_by_id == world["participant"]

    page = me.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Try it on the web" in _text(page)
    assert f"/library/{slug}" in _text(page)
    plan = me.get(f"/cohorts/{world['cohort']}/plan")
    assert goal.title in _text(plan)
    assert "<progress" in _text(plan)
    assert "This goal is in your plan" in _text(me.get(f"/library/{slug}"))


def test_adopting_the_same_goal_twice_is_refused(app, world, me):
    slug = _slug(app)
    path = f"/cohorts/{world['cohort']}/plan/adopt"
    assert post_form(me, path, {"slug": slug}).status_code == 302
    again = post_form(me, path, {"slug": slug})
    assert again.status_code == 400
    assert "already in your plan" in _text(again)
    with app.app_context():
        assert len(db.session.scalars(select(PlanGoal)).all()) == 1


def test_adopting_an_unknown_goal_is_404(world, me):
    response = post_form(me, f"/cohorts/{world['cohort']}/plan/adopt", {"slug": "no-such-goal"})
    assert response.status_code == 404


def test_library_page_offers_a_cohort_choice_to_people_in_several_cohorts(app, world, me):
    with app.app_context():
        other = factories.make_cohort(name="Second cohort")
        factories.add_member(other, db.session.get(User, world["participant"]),
                             CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
    slug = _slug(app)
    page = _text(me.get(f"/library/{slug}"))
    assert '<label for="cohort">Cohort</label>' in page
    assert "Second cohort" in page
    # the form posts to the first cohort's address; choosing another hands the POST on
    data = {"slug": slug, "cohort": other_id}
    response = post_form(me, f"/cohorts/{world['cohort']}/plan/adopt", data)
    assert response.status_code == 307
    assert response.headers["Location"] == f"/cohorts/{other_id}/plan/adopt"
    # a browser repeats the POST at the new address (the test client's 307 does not)
    assert post_form(me, response.headers["Location"], data).status_code == 302
    with app.app_context():
        goal = db.session.scalar(select(PlanGoal))
        assert goal.plan.cohort_id == other_id


def test_library_goal_page_still_works_for_non_participants(app, world, role_client):
    page = role_client("patron").get(f"/library/{_slug(app)}")
    assert page.status_code == 200
    assert "Add to my plan" not in _text(page)


def test_writing_an_own_goal(app, world, me):
    path = f"/cohorts/{world['cohort']}/plan/goals/new"
    assert me.get(path).status_code == 200
    empty = post_form(me, path, {"title": "  ", "visibility": "patrons"})
    assert empty.status_code == 400
    assert "Enter a title" in _text(empty)
    response = post_form(me, path, {"title": "Run a poll", "why": "Hear from residents",
                                    "visibility": "private"})
    assert response.status_code == 302
    assert "Run a poll" in _text(me.get(f"/cohorts/{world['cohort']}/plan"))


@pytest.mark.parametrize(("when", "message"), [
    (lambda c: c.start_date - timedelta(days=1), "on or after the cohort starts"),
    (lambda c: c.end_date + timedelta(days=3 * 365), "too far ahead"),
])
def test_target_dates_outside_the_programme_are_refused(app, world, me, when, message):
    with app.app_context():
        day = when(db.session.get(Cohort, world["cohort"]))
    response = post_form(me, f"/cohorts/{world['cohort']}/plan/goals/new",
                         {"title": "Run a poll", "target_date": day.isoformat()})
    assert response.status_code == 400
    assert message in _text(response)


def test_a_target_date_that_is_not_a_date_is_a_400(world, me):
    response = post_form(me, f"/cohorts/{world['cohort']}/plan/goals/new",
                         {"title": "Run a poll", "target_date": "next tuesday"})
    assert response.status_code == 400


def test_editing_a_goal(app, world, me, own_goal):
    goal_id = own_goal()
    path = f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"
    response = post_form(me, path, {"edit-title": "Run two polls", "edit-why": "More voices",
                                    "edit-visibility": "patrons"})
    assert response.status_code == 302
    assert _goal(app, goal_id).title == "Run two polls"
    bad = post_form(me, path, {"edit-title": "", "edit-visibility": "patrons"})
    assert bad.status_code == 400
    assert _goal(app, goal_id).title == "Run two polls"


# --- check-ins ---------------------------------------------------------------------------------


def test_three_check_ins_show_on_the_plan(app, world, me, own_goal):
    goal_id = own_goal()
    path = f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/check-ins"
    for progress, minutes in ((20, 10), (50, 15), (70, 20)):
        response = post_form(me, path, {"progress": progress, "minutes": minutes,
                                        "note": f"Tried it at {progress}"})
        assert response.status_code == 302, _text(response)[:300]
    plan = _text(me.get(f"/cohorts/{world['cohort']}/plan"))
    assert 'value="70"' in plan
    assert "70% done" in plan
    assert re.search(r"Minutes this week</dt><dd>45</dd>", plan)
    assert re.search(r"Check-ins this week</dt><dd>3</dd>", plan)
    page = _text(me.get(f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"))
    assert page.index("Tried it at 70") < page.index("Tried it at 20")  # newest first
    assert 'inputmode="numeric"' in page


@pytest.mark.parametrize(("data", "message"), [
    ({"progress": "-1"}, "Progress is a percentage from 0 to 100"),
    ({"progress": "101"}, "Progress is a percentage from 0 to 100"),
    ({"progress": "abc"}, "Enter progress as a whole number"),
    ({"minutes": "0"}, "Minutes must be at least 1"),
    ({"minutes": "-5"}, "Minutes must be at least 1"),
    ({"minutes": "601"}, "At most 600 minutes"),
    ({"minutes": "lots"}, "Enter minutes as a whole number"),
    ({"minutes": "99999999999999999999"}, "Enter minutes as a whole number"),
    ({"progress": "", "minutes": "", "note": "  "}, "Add progress, minutes or a note"),
])
def test_bad_check_ins_are_400_with_a_message(app, world, me, own_goal, data, message):
    goal_id = own_goal()
    response = post_form(me, f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/check-ins", data)
    assert response.status_code == 400
    assert message in _text(response)
    assert _check_ins(app, goal_id) == []


def test_a_check_in_can_be_edited_for_24_hours_only(app, world, me, own_goal, frozen):
    start = frozen(datetime.now(UTC).replace(microsecond=0))
    goal_id = own_goal()
    post_form(me, f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/check-ins",
              {"progress": "30", "minutes": "20", "note": "first go"})
    with app.app_context():
        entry_id = db.session.scalar(select(CheckIn.id))
    edit = f"/cohorts/{world['cohort']}/plan/check-ins/{entry_id}/edit"
    assert 'value="30"' in _text(me.get(edit))
    assert "Edit<span" in _text(me.get(f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"))

    frozen(start + timedelta(hours=23))
    response = post_form(me, edit, {"progress": "40", "minutes": "25", "note": "corrected"})
    assert response.status_code == 302
    assert _check_ins(app, goal_id) == [(40, 25, "corrected")]
    assert _goal(app, goal_id).progress == 40

    frozen(start + timedelta(hours=25))
    late = post_form(me, edit, {"progress": "90", "minutes": "5", "note": "too late"})
    assert late.status_code == 409
    assert "changed for 24 hours" in _text(late)
    assert _check_ins(app, goal_id) == [(40, 25, "corrected")]
    assert _goal(app, goal_id).progress == 40
    assert "Edit<span" not in _text(me.get(f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"))


def test_a_check_in_recorded_by_someone_else_says_who(app, world, me, own_goal):
    goal_id = own_goal()
    with app.app_context():
        goal = db.session.get(PlanGoal, goal_id)
        services.check_in(goal, actor=db.session.get(User, world["facilitator"]), progress=10,
                          minutes=None, note="")
        db.session.commit()
    page = _text(me.get(f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"))
    assert "recorded by Sam Facilitator" in page


# --- done, status, order -----------------------------------------------------------------------


def test_marking_a_goal_done_needs_a_reflection(app, world, me, own_goal):
    goal_id = own_goal()
    path = f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/done"
    bad = post_form(me, path, {"done-reflection": " "})
    assert bad.status_code == 400
    assert "Enter a few words" in _text(bad)
    assert _goal(app, goal_id).status is GoalStatus.ACTIVE
    response = post_form(me, path, {"done-reflection": "Ran a poll; 40 replies.",
                                    "done-evidence-0": "https://example.org/poll",
                                    "done-evidence-1": "", "done-evidence-2": ""})
    assert response.status_code == 302
    goal = _goal(app, goal_id)
    assert goal.status is GoalStatus.DONE
    assert goal.progress == 100
    assert goal.evidence == [{"url": "https://example.org/poll"}]
    page = _text(me.get(f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"))
    assert "100% done" in page
    assert "Ran a poll; 40 replies." in page


def test_evidence_must_be_web_addresses(app, world, me, own_goal):
    goal_id = own_goal()
    response = post_form(me, f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/done",
                         {"done-reflection": "Done", "done-evidence-0": "javascript:alert(1)"})
    assert response.status_code == 400
    assert "is not a web address" in _text(response)


def test_dropping_a_goal_needs_a_reason(app, world, me, own_goal):
    goal_id = own_goal()
    path = f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/status"
    bad = post_form(me, path, {"status-status": "dropped", "status-reason": ""})
    assert bad.status_code == 400
    assert "Enter a short reason" in _text(bad)
    assert post_form(me, path, {"status-status": "done"}).status_code == 400
    ok = post_form(me, path, {"status-status": "dropped", "status-reason": "Team changed"})
    assert ok.status_code == 302
    goal = _goal(app, goal_id)
    assert goal.status is GoalStatus.DROPPED
    assert goal.drop_reason == "Team changed"


def test_moving_goals(app, world, me, own_goal):
    first, second = own_goal("First"), own_goal("Second")
    path = f"/cohorts/{world['cohort']}/plan/goals/{second}/move"
    assert post_form(me, path, {"direction": "up"}).status_code == 303
    plan = _text(me.get(f"/cohorts/{world['cohort']}/plan"))
    assert plan.index(">Second<") < plan.index(">First<")
    assert post_form(me, path, {"direction": "sideways"}).status_code == 400
    assert _goal(app, first).position == 2


def test_empty_plan_points_to_the_library_and_own_goals(world, me):
    page = _text(me.get(f"/cohorts/{world['cohort']}/plan"))
    assert "Find a goal in the library" in page
    assert "Write your own goal" in page


def test_my_plan_is_linked_from_the_cohort_page_and_dashboard(world, me):
    link = f'/cohorts/{world["cohort"]}/plan"'
    assert link in _text(me.get(f"/cohorts/{world['cohort']}/home"))
    assert link in _text(me.get("/"))


# --- scope ---------------------------------------------------------------------------------------


def test_another_participants_goal_and_check_in_are_404(app, world, me, own_goal):
    with app.app_context():
        other = factories.make_user(name="Other Participant")
        factories.add_member(db.session.get(Cohort, world["cohort"]), other,
                             CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
    their_goal = own_goal("Theirs", user=other_id)
    with app.app_context():
        services.check_in(db.session.get(PlanGoal, their_goal),
                          actor=db.session.get(User, other_id), progress=5, minutes=None,
                          note="")
        db.session.commit()
        their_entry = db.session.scalar(select(CheckIn.id))
    base = f"/cohorts/{world['cohort']}/plan"
    assert me.get(f"{base}/goals/{their_goal}").status_code == 404
    assert me.get(f"{base}/check-ins/{their_entry}/edit").status_code == 404
    for suffix, data in (("", {"edit-title": "Mine now"}), ("/check-ins", {"progress": "9"}),
                         ("/done", {"done-reflection": "x"}),
                         ("/status", {"status-status": "planned"}),
                         ("/move", {"direction": "up"})):
        assert post_form(me, f"{base}/goals/{their_goal}{suffix}", data).status_code == 404
    assert post_form(me, f"{base}/check-ins/{their_entry}/edit",
                     {"progress": "99"}).status_code == 404
    assert _check_ins(app, their_goal) == [(5, None, "")]
    assert _goal(app, their_goal).title == "Theirs"


@pytest.mark.parametrize(("role", "status"), [("patron", 404), ("facilitator", 404),
                                          ("admin", 404), ("anonymous", 302)])
def test_only_the_participant_sees_the_plan_page(world, role_client, role, status):
    response = role_client(role).get(f"/cohorts/{world['cohort']}/plan")
    assert response.status_code == status


# --- streak --------------------------------------------------------------------------------------


def test_the_plan_page_shows_a_three_week_streak(app, world, me, frozen, own_goal):
    goal_id = own_goal()
    today = now_utc().date()
    monday = today - timedelta(days=today.weekday())
    for weeks_ago in (3, 2, 1):
        for offset in (1, 3):  # Tuesday and Thursday
            day = monday - timedelta(weeks=weeks_ago) + timedelta(days=offset)
            frozen(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
            with app.app_context():
                services.check_in(db.session.get(PlanGoal, goal_id),
                                  actor=db.session.get(User, world["participant"]),
                                  progress=None, minutes=15, note="")
                db.session.commit()
    frozen(datetime(today.year, today.month, today.day, 12, tzinfo=UTC))
    page = _text(me.get(f"/cohorts/{world['cohort']}/plan"))
    assert re.search(r"Streak</dt><dd>3 weeks</dd>", page)
    assert re.search(r"Days this week</dt><dd>0 of 2</dd>", page)
