"""Printable plans: one page per participant; a facilitator prints a whole cohort."""

from __future__ import annotations

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole
from dap.extensions import db
from dap.plans import services
from tests import factories
from tests.conftest import counting_queries


def add_participants_with_goals(app, cohort_id, count, goals_each=2):
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        for i in range(count):
            user = factories.make_user(name=f"Printed {i:03d}")
            factories.add_member(cohort, user, CohortRole.PARTICIPANT)
            plan = services.plan_for(cohort, user)
            for j in range(goals_each):
                services.write_goal(plan, actor=user, title=f"Goal {i}-{j}")
        db.session.commit()


def test_participant_prints_their_own_plan(app, world, role_client):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        user = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, user)
        services.write_goal(plan, actor=user, title="Answer a question online", why="Confidence")
        dropped = services.write_goal(plan, actor=user, title="Something I stopped")
        services.set_status(dropped, status=services.GoalStatus.DROPPED, reason="No time")
        db.session.commit()
    page = role_client("participant").get(f"/cohorts/{world['cohort']}/plan/print")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Digital Action Plan: Alex Participant" in body
    assert "Answer a question online" in body
    assert "Confidence" in body
    assert "Something I stopped" not in body  # dropped goals are not printed
    assert body.count('class="print-plan"') == 1


def test_facilitator_prints_every_participant_on_its_own_page(app, world, role_client):
    add_participants_with_goals(app, world["cohort"], 3)
    body = role_client("facilitator").get(f"/cohorts/{world['cohort']}/plans/print"
                                          ).get_data(as_text=True)
    assert body.count('class="print-plan"') == 4  # Alex and the three added
    assert "Printed 002" in body
    assert "Goal 2-1" in body
    assert "No goals yet." in body  # Alex has none


def test_print_stylesheet_puts_each_plan_on_a_page_and_hides_the_site(client):
    response = client.get("/static/css/app.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "@media print" in css
    assert "break-after: page" in css
    assert ".site-header, .site-footer" in css


def count_queries(app, client, path):
    with counting_queries(app) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_printing_a_cohort_takes_the_same_queries_for_5_or_50_participants(app, world,
                                                                             role_client):
    client = role_client("facilitator")
    path = f"/cohorts/{world['cohort']}/plans/print"
    add_participants_with_goals(app, world["cohort"], 5)
    small = count_queries(app, client, path)
    add_participants_with_goals(app, world["cohort"], 45, goals_each=3)
    large = count_queries(app, client, path)
    assert small == large
