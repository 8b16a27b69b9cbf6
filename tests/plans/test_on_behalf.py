"""Someone else's plan through /cohorts/<id>/people/<membership>/plan: facilitators keep a
managed participant's plan for them (every record shows who made it), pause anyone's
plan; patrons read the goals shared with them and see "paused", not "silent"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts import people
from dap.cohorts.models import Cohort
from dap.content.library import current_library
from dap.extensions import db
from dap.plans import services
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal, Visibility
from tests import factories
from tests.conftest import post_form


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def managed(app, world):
    """A managed ("supported digital") participant of the world's cohort: their membership
    id and user id."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        facilitator = db.session.get(User, world["facilitator"])
        membership = people.create_managed_participant(cohort=cohort, actor=facilitator,
                                                       name="Morag Managed", team=None)
        db.session.commit()
        return {"membership": membership.id, "user": membership.user_id}


def _base(world, membership_id) -> str:
    return f"/cohorts/{world['cohort']}/people/{membership_id}/plan"


def _goals(app, user_id):
    with app.app_context():
        return [(g.title, g.status, g.created_by_id, g.done_by_id) for g in db.session.scalars(
            select(PlanGoal).join(Plan).where(Plan.participant_id == user_id)
            .order_by(PlanGoal.id))]


# --- a facilitator keeps a managed participant's plan -------------------------------------------


def test_facilitator_writes_adopts_checks_in_and_finishes_for_a_managed_participant(
        app, world, role_client, managed):
    facilitator = role_client("facilitator")
    base = _base(world, managed["membership"])
    page = facilitator.get(base)
    assert page.status_code == 200
    assert "Morag Managed’s plan" in _text(page)
    assert "working on Morag Managed’s plan for them" in _text(page)

    new = facilitator.get(base + "/goals/new")
    assert new.status_code == 200
    assert "Add a goal for Morag Managed" in _text(new)
    response = post_form(facilitator, base + "/goals/new", {"title": "Email my manager"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(base + "/goals/")
    with app.app_context():
        slug = sorted(current_library().goals)[0]
    response = post_form(facilitator, base + "/adopt", {"pick-slug": slug, "pick-why": "For me"})
    assert response.status_code == 302

    goals = _goals(app, managed["user"])
    assert [g[1] for g in goals] == [GoalStatus.ACTIVE, GoalStatus.ACTIVE]
    assert {g[2] for g in goals} == {world["facilitator"]}  # recorded by the facilitator
    with app.app_context():
        goal_id = db.session.scalar(select(PlanGoal.id).where(PlanGoal.title == "Email my manager"))

    response = post_form(facilitator, f"{base}/goals/{goal_id}/check-ins",
                         {"progress": "40", "minutes": "20", "note": "Typed it together"})
    assert response.status_code == 302
    page = facilitator.get(f"{base}/goals/{goal_id}")
    assert "recorded by Sam Facilitator" in _text(page)
    assert "Added by" in _text(page)

    response = post_form(facilitator, f"{base}/goals/{goal_id}/done",
                         {"done-reflection": "Sent her first email on her own"})
    assert response.status_code == 302
    title, status, _, done_by = _goals(app, managed["user"])[0]
    assert (status, done_by) == (GoalStatus.DONE, world["facilitator"])
    page = facilitator.get(f"{base}/goals/{goal_id}")
    assert re.search(r"Done</dt><dd>.*recorded by Sam Facilitator", _text(page), re.S)

    with app.app_context():
        entry = db.session.scalar(select(CheckIn).where(CheckIn.goal_id == goal_id))
        assert entry.created_by_id == world["facilitator"]


def test_facilitator_edits_a_managed_participants_check_in_and_rhythm(app, world, role_client,
                                                                       managed):
    facilitator = role_client("facilitator")
    base = _base(world, managed["membership"])
    post_form(facilitator, base + "/goals/new", {"title": "Join a video call"})
    with app.app_context():
        goal_id = db.session.scalar(select(PlanGoal.id).where(PlanGoal.title == "Join a video call"))
    post_form(facilitator, f"{base}/goals/{goal_id}/check-ins", {"minutes": "10"})
    with app.app_context():
        entry_id = db.session.scalar(select(CheckIn.id).where(CheckIn.goal_id == goal_id))
    assert facilitator.get(f"{base}/check-ins/{entry_id}/edit").status_code == 200
    response = post_form(facilitator, f"{base}/check-ins/{entry_id}/edit", {"minutes": "25"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(CheckIn, entry_id).minutes == 25

    response = post_form(facilitator, base + "/rhythm",
                         {"days_per_week": "1", "rhythm_days": "2", "rhythm_time": "10:00",
                          "rhythm_minutes": "30"})
    assert response.status_code == 302
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.participant_id == managed["user"]))
        assert (plan.days_per_week, plan.rhythm_days, plan.rhythm_time) == (1, [2], "10:00")


def test_the_managed_participants_goal_ids_are_scoped_to_their_plan(app, world, role_client,
                                                                     managed, own_goal):
    """The world participant's goal through the managed participant's URL is a 404."""
    facilitator = role_client("facilitator")
    theirs = own_goal()
    base = _base(world, managed["membership"])
    assert facilitator.get(f"{base}/goals/{theirs}").status_code == 404
    assert post_form(facilitator, f"{base}/goals/{theirs}/check-ins",
                     {"minutes": "5"}).status_code == 404
    assert _goals(app, world["participant"])[0][1] is GoalStatus.ACTIVE


def test_a_facilitator_of_another_cohort_gets_404(app, world, managed, login_as):
    with app.app_context():
        other = factories.make_cohort(db.session.get(Cohort, world["cohort"]).organisation)
        stranger = factories.make_user(name="Other Facilitator", is_facilitator=True)
        factories.add_member(other, stranger, factories.CohortRole.FACILITATOR)
        db.session.commit()
        client = login_as(stranger)
    base = _base(world, managed["membership"])
    assert client.get(base).status_code == 404
    assert post_form(client, base + "/goals/new", {"title": "Sneaky"}).status_code == 404
    assert _goals(app, managed["user"]) == []


def test_patrons_and_facilitators_cannot_write_to_a_participant_who_has_their_own_login(
        app, world, role_client, own_goal):
    goal_id = own_goal()
    base = _base(world, world["participant_membership"])
    for role in ("facilitator", "patron", "admin"):
        client = role_client(role)
        assert client.get(f"{base}/goals/{goal_id}").status_code == 200
        assert post_form(client, f"{base}/goals/{goal_id}/check-ins",
                         {"minutes": "10"}).status_code == 403
        assert post_form(client, f"{base}/goals/{goal_id}/done",
                         {"done-reflection": "Not mine to say"}).status_code == 403
        assert post_form(client, base + "/goals/new", {"title": "Imposed"}).status_code == 403
        page = _text(client.get(base))
        assert "Check in<span" not in page
        assert "Add a goal" not in page
    with app.app_context():
        assert db.session.scalar(select(CheckIn.id)) is None
    assert len(_goals(app, world["participant"])) == 1


def test_a_removed_or_non_participant_membership_is_404(app, world, role_client, managed):
    facilitator = role_client("facilitator")
    with app.app_context():
        patron_membership = db.session.scalar(
            select(factories.Membership.id).where(
                factories.Membership.user_id == world["patron"]))
    assert facilitator.get(_base(world, patron_membership)).status_code == 404
    assert facilitator.get(_base(world, 2147483647)).status_code == 404
    assert facilitator.get(f"/cohorts/{world['cohort']}/people/abc/plan").status_code == 404
    with app.app_context():
        membership = db.session.get(factories.Membership, managed["membership"])
        people.remove_member(membership, actor=db.session.get(User, world["facilitator"]))
        db.session.commit()
    assert facilitator.get(_base(world, managed["membership"])).status_code == 404


def test_archived_cohorts_are_read_only_on_behalf_too(app, world, role_client, managed):
    facilitator = role_client("facilitator")
    base = _base(world, managed["membership"])
    post_form(facilitator, base + "/goals/new", {"title": "Before the end"})
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert facilitator.get(base).status_code == 200
    assert post_form(facilitator, base + "/goals/new", {"title": "After"}).status_code == 403
    assert post_form(facilitator, base + "/pause",
                     {"until": "2026-12-01", "reason": "Leave"}).status_code == 403
    assert [g[0] for g in _goals(app, managed["user"])] == ["Before the end"]


# --- pausing for someone ------------------------------------------------------------------------


def test_a_facilitator_pauses_a_participants_plan_and_it_is_audited(app, world, role_client,
                                                                     frozen):
    frozen(datetime(2026, 11, 18, 10, tzinfo=UTC))
    facilitator = role_client("facilitator")
    base = _base(world, world["participant_membership"])
    rhythm = facilitator.get(base + "/rhythm")
    assert rhythm.status_code == 200
    assert "Pausing for Alex Participant" in _text(rhythm)
    assert "Save the rhythm" not in _text(rhythm)  # not managed: their rhythm is theirs
    response = post_form(facilitator, base + "/pause",
                         {"until": "2026-11-30", "reason": "Sick leave"})
    assert response.status_code == 302
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.participant_id == world["participant"]))
        assert (plan.paused_until, plan.paused_by_id) == (date(2026, 11, 30), world["facilitator"])
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.paused"))
        assert event.actor_id == world["facilitator"]
        assert event.subject_id == world["participant"]

    # the participant sees it was paused for them, and can come back early
    me = role_client("participant")
    assert "paused by Sam Facilitator" in _text(me.get(f"/cohorts/{world['cohort']}/plan/rhythm"))
    # a patron sees "paused", not the reason, and cannot pause or resume
    patron = role_client("patron")
    page = _text(patron.get(base))
    assert "Paused" in page
    assert "not silent" in page
    assert "Sick leave" not in page
    assert post_form(patron, base + "/resume", {}).status_code == 403

    frozen(datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert post_form(facilitator, base + "/resume", {}).status_code == 302
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.participant_id == world["participant"]))
        assert not services.is_paused(plan)
        assert db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "plan.resumed")) is not None


def test_pausing_on_behalf_refuses_bad_dates_with_a_message(app, world, role_client, frozen):
    frozen(datetime(2026, 11, 18, 10, tzinfo=UTC))
    facilitator = role_client("facilitator")
    base = _base(world, world["participant_membership"])
    for data, message in [
        ({"until": "2026-11-01", "reason": "Late"}, "today or a later day"),
        ({"until": "2027-06-01", "reason": "Long"}, "up to three months"),
        ({"until": "not a date", "reason": "x"}, "Not a valid date"),
        ({"until": "2026-11-30", "reason": ""}, "reason"),
        ({"until": "2026-11-30", "reason": "x" * 201}, "200"),
    ]:
        response = post_form(facilitator, base + "/pause", data)
        assert response.status_code == 400, data
        assert message in _text(response), (data, message)
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.participant_id == world["participant"]))
        assert plan is None or plan.paused_until is None


# --- what patrons see ---------------------------------------------------------------------------


def test_a_patron_reads_shared_goals_but_never_only_me_goals(app, world, role_client):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, person)
        shared = services.write_goal(plan, actor=person, title="Shared with patrons")
        cohort_wide = services.write_goal(plan, actor=person, title="Shared with everyone",
                                          visibility=Visibility.COHORT)
        private = services.write_goal(plan, actor=person, title="Just for me",
                                      visibility=Visibility.PRIVATE)
        entry = services.check_in(private, actor=person, progress=10, minutes=None, note="")
        db.session.commit()
        ids = (shared.id, cohort_wide.id, private.id, entry.id)
    patron = role_client("patron")
    base = _base(world, world["participant_membership"])
    page = _text(patron.get(base))
    assert "Shared with patrons" in page
    assert "Shared with everyone" in page
    assert "Just for me" not in page
    assert "reading Alex Participant’s plan as their patron" in page
    assert patron.get(f"{base}/goals/{ids[0]}").status_code == 200
    assert patron.get(f"{base}/goals/{ids[2]}").status_code == 404
    assert patron.get(f"{base}/print").status_code == 403
    # facilitators see every goal
    assert "Just for me" in _text(role_client("facilitator").get(base))


def test_a_patron_of_someone_else_gets_404(app, world, login_as, managed):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        other_patron = factories.make_user(name="Not Their Patron")
        factories.add_member(cohort, other_patron, factories.CohortRole.PATRON)
        db.session.commit()
        client = login_as(other_patron)
    assert client.get(_base(world, world["participant_membership"])).status_code == 404
    assert client.get(_base(world, managed["membership"])).status_code == 404


def test_a_participant_reaching_their_own_plan_by_the_people_url_gets_their_plan(
        app, world, role_client):
    me = role_client("participant")
    page = me.get(_base(world, world["participant_membership"]))
    assert page.status_code == 200
    assert "<h1>My plan</h1>" in _text(page)


# --- the next suggested step --------------------------------------------------------------------


def _next_step(page: str) -> str:
    match = re.search(r'id="next-heading">Next step</h2>\s*<p>(.*?)</p>', page, re.S)
    assert match, "no next step on the page"
    return match.group(1)


def test_the_next_step_follows_the_plan(app, world, role_client, frozen):
    frozen(datetime(2026, 11, 18, 10, tzinfo=UTC))  # a Wednesday
    me = role_client("participant")
    url = f"/cohorts/{world['cohort']}/plan"
    assert "Choose a first goal" in _next_step(_text(me.get(url)))

    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, person)
        library_goal = current_library().goals[sorted(current_library().goals)[0]]
        adopted = services.adopt_goal(plan, library_goal, actor=person)
        db.session.commit()
        adopted_id, first_try = adopted.id, library_goal.challenges[0].text
    step = _next_step(_text(me.get(url)))
    assert f"Check in on “{library_goal.title}”" in step.replace("&#8220;", "“").replace(
        "&#8221;", "”")
    assert "a few minutes today starts this week" in step
    assert first_try[:30].replace("'", "&#39;") in step

    with app.app_context():
        goal = db.session.get(PlanGoal, adopted_id)
        services.check_in(goal, actor=goal.plan.participant, progress=100, minutes=10, note="")
        db.session.commit()
    assert "is at 100%: mark it done" in _next_step(_text(me.get(url)))

    with app.app_context():
        goal = db.session.get(PlanGoal, adopted_id)
        services.complete_goal(goal, actor=goal.plan.participant, reflection="Did it",
                               evidence=[])
        db.session.commit()
    assert "Every goal is done" in _next_step(_text(me.get(url)))


def test_next_step_rules(app, world):
    """The rules behind the suggestion, on plain objects (no queries)."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        plan = Plan(cohort=cohort, days_per_week=2, participant_id=world["participant"])
        today = date(2026, 11, 18)
        week = services.WeekSummary(days_active=1, check_ins=1, minutes=10)
        old = PlanGoal(id=1, title="Old", status=GoalStatus.ACTIVE, progress=20, position=1)
        fresh = PlanGoal(id=2, title="Fresh", status=GoalStatus.ACTIVE, progress=20,
                         position=2)
        library = current_library()

        def step(goals, last_days=None, week=week):
            return services.next_step(plan, goals, last_days=last_days or {}, week=week,
                                      library=library, today=today)

        # the goal left alone longest comes first, and the days left this week are counted
        result = step([old, fresh], {1: date(2026, 11, 2), 2: date(2026, 11, 17)})
        assert result.goal is old
        assert "1 more day this week" in result.text
        # an overdue target beats rhythm
        fresh.target_date = today - timedelta(days=1)
        assert step([old, fresh]).goal is fresh
        assert "passed its target" in step([old, fresh]).text
        # the target met this week: try something new
        met = services.WeekSummary(days_active=2, check_ins=3, minutes=40)
        fresh.target_date = None
        assert "target is met" in step([old, fresh], {1: today, 2: today}, week=met).text
        # only planned goals: start one
        later = PlanGoal(id=3, title="Later", status=GoalStatus.PLANNED, progress=0, position=1)
        assert step([later]).text.startswith("Start “Later”")
        # everything dropped: back to the library
        dropped = PlanGoal(id=4, title="Gone", status=GoalStatus.DROPPED, progress=0, position=1)
        assert step([dropped]).place == "library"
        # paused: nothing to do
        plan.paused_from, plan.paused_until = today, today + timedelta(days=3)
        assert step([old]).place == "rhythm"
        db.session.rollback()


# --- timeline pages -----------------------------------------------------------------------------


def test_a_long_timeline_comes_in_pages(app, world, role_client, own_goal, frozen):
    goal_id = own_goal()
    start = datetime(2026, 10, 1, 9, tzinfo=UTC)
    with app.app_context():
        goal = db.session.get(PlanGoal, goal_id)
        for n in range(45):
            frozen(start + timedelta(hours=n * 7))
            services.check_in(goal, actor=goal.plan.participant, progress=None, minutes=5,
                              note=f"entry {n:02d}")
        db.session.commit()
    me = role_client("participant")
    url = f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"
    first = _text(me.get(url))
    seen = re.findall(r"entry (\d\d)", first)
    assert seen == [f"{n:02d}" for n in range(44, 24, -1)]
    older = re.search(r'href="([^"]*before=(\d+)[^"]*)">Older check-ins', first)
    assert older
    assert "Newest check-ins" not in first
    second = _text(me.get(older.group(1).replace("&amp;", "&")))
    assert re.findall(r"entry (\d\d)", second) == [f"{n:02d}" for n in range(24, 4, -1)]
    assert "Newest check-ins" in second
    third_link = re.search(r'href="([^"]*before=\d+[^"]*)">Older check-ins', second).group(1)
    third = _text(me.get(third_link.replace("&amp;", "&")))
    assert re.findall(r"entry (\d\d)", third) == ["04", "03", "02", "01", "00"]
    assert "Older check-ins" not in third


@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "99999999999", "1.5", "２"])
def test_a_bad_timeline_cursor_is_404(app, world, role_client, own_goal, cursor):
    goal_id = own_goal()
    me = role_client("participant")
    response = me.get(f"/cohorts/{world['cohort']}/plan/goals/{goal_id}?before={cursor}")
    assert response.status_code == 404


def test_a_cursor_from_another_goal_is_404(app, world, role_client, own_goal):
    first, second = own_goal("First"), own_goal("Second")
    with app.app_context():
        goal = db.session.get(PlanGoal, second)
        entry = services.check_in(goal, actor=goal.plan.participant, progress=None, minutes=5,
                                  note="")
        db.session.commit()
        entry_id = entry.id
    me = role_client("participant")
    assert me.get(f"/cohorts/{world['cohort']}/plan/goals/{first}?before={entry_id}"
                  ).status_code == 404


# --- ways in ------------------------------------------------------------------------------------


def test_patrons_find_their_participants_plans_with_paused_shown(app, world, role_client,
                                                                 frozen):
    frozen(datetime(2026, 11, 18, 10, tzinfo=UTC))
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        person = db.session.get(User, world["participant"])
        services.pause_plan(services.plan_for(cohort, person), actor=person,
                            until=date(2026, 11, 25), reason="Leave")
        db.session.commit()
    patron = role_client("patron")
    link = f'href="/cohorts/{world["cohort"]}/people/{world["participant_membership"]}/plan"'
    for url in ("/", f"/cohorts/{world['cohort']}/home"):
        page = _text(patron.get(url))
        assert link in page, url
        assert "paused until 25 Nov" in page, url
    frozen(datetime(2026, 11, 26, 10, tzinfo=UTC))
    assert "paused until" not in _text(patron.get("/"))


def test_the_member_page_leads_facilitators_to_the_plan(app, world, role_client, managed):
    facilitator = role_client("facilitator")
    page = _text(facilitator.get(f"/cohorts/{world['cohort']}/people/{managed['membership']}"))
    assert f'href="{_base(world, managed["membership"])}"' in page
    assert "Keep their plan" in page
