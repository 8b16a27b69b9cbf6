"""Success stories (marked by the author or a facilitator, featured on the cohort page,
shared with the organisation's other cohorts only with the author's consent), sharing a
finished goal in one click, volunteers and the contributors' view, editing comments and
closing reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.community.models import Post, PostKind, Report
from dap.extensions import db
from dap.plans.models import GoalStatus, Plan, PlanGoal
from tests import factories
from tests.community.test_feed import feed_path, post_id_of, share
from tests.conftest import post_form


def test_the_author_marks_a_story_the_facilitator_features_it_on_the_cohort_page(
        app, world, role_client, other_participant):
    author = role_client("participant")
    post_id = post_id_of(share(author, world, kind="reflection",
                               body="We ran a **door-to-door** survey and 40 people replied"))
    _, jordan = other_participant
    facilitator = role_client("facilitator")
    # only the author or a facilitator marks it; only a facilitator features it
    assert post_form(jordan, feed_path(world, f"/{post_id}/story")).status_code == 400
    assert post_form(facilitator, feed_path(world, f"/{post_id}/feature")).status_code == 400
    assert post_form(author, feed_path(world, f"/{post_id}/story")).status_code == 302
    assert post_form(author, feed_path(world, f"/{post_id}/feature")).status_code == 404
    assert post_form(facilitator, feed_path(world, f"/{post_id}/feature")).status_code == 302
    home = jordan.get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert "<strong>door-to-door</strong> survey" in home
    stories = jordan.get(f"/cohorts/{world['cohort']}/stories").get_data(as_text=True)
    assert "door-to-door" in stories
    # the patron's view of the cohort page does not carry the feed's stories
    patron_home = role_client("patron").get(f"/cohorts/{world['cohort']}/home")
    assert "door-to-door" not in patron_home.get_data(as_text=True)
    # unmarking ends the featuring too
    assert post_form(facilitator, feed_path(world, f"/{post_id}/story"),
                     {"story": "no"}).status_code == 302
    with app.app_context():
        found = db.session.get(Post, post_id)
        assert (found.story_at, found.featured_at) == (None, None)


def test_stories_reach_other_cohorts_only_with_the_authors_consent(app, world, role_client,
                                                                    login_as):
    author = role_client("participant")
    post_id = post_id_of(share(author, world, kind="story", body="Our petition got 300 names"))
    assert post_form(author, feed_path(world, f"/{post_id}/story")).status_code == 302
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        sibling = factories.make_cohort(cohort.organisation, name="Autumn cohort")
        stranger_org = factories.make_cohort(name="Another council's cohort")
        reader = factories.make_user(name="Reader Sibling")
        outsider = factories.make_user(name="Reader Elsewhere")
        factories.add_member(sibling, reader, CohortRole.PARTICIPANT)
        factories.add_member(stranger_org, outsider, CohortRole.PARTICIPANT)
        db.session.commit()
        sibling_id, other_id = sibling.id, stranger_org.id
        reader, outsider = db.session.get(factories.User, reader.id), db.session.get(
            factories.User, outsider.id)
    reader_client, outsider_client = login_as(reader), login_as(outsider)
    assert "300 names" not in reader_client.get(f"/cohorts/{sibling_id}/stories").get_data(
        as_text=True)
    # a facilitator cannot consent for the author
    assert post_form(role_client("facilitator"), feed_path(world, f"/{post_id}/share-across")
                     ).status_code == 400
    assert post_form(author, feed_path(world, f"/{post_id}/share-across")).status_code == 302
    shared = reader_client.get(f"/cohorts/{sibling_id}/stories").get_data(as_text=True)
    assert "300 names" in shared
    assert "Alex Participant" in shared
    assert reader_client.get(feed_path(world, f"/{post_id}")).status_code == 404  # not their feed
    assert "300 names" not in outsider_client.get(f"/cohorts/{other_id}/stories").get_data(
        as_text=True)
    assert post_form(author, feed_path(world, f"/{post_id}/share-across"),
                     {"shared": "no"}).status_code == 302
    assert "300 names" not in reader_client.get(f"/cohorts/{sibling_id}/stories").get_data(
        as_text=True)


def test_a_finished_goal_is_shared_in_one_click_once(app, world, role_client):
    with app.app_context():
        plan = Plan(cohort_id=world["cohort"], participant_id=world["participant"])
        db.session.add(plan)
        db.session.flush()
        done = PlanGoal(plan_id=plan.id, title="Run an online poll", status=GoalStatus.DONE,
                        reflection="Twelve colleagues voted in a day.",
                        done_at=datetime.now(UTC))
        active = PlanGoal(plan_id=plan.id, title="Start a blog")
        db.session.add_all([done, active])
        db.session.commit()
        done_id, active_id = done.id, active.id
    client = role_client("participant")
    path = f"/cohorts/{world['cohort']}/plan/goals/{done_id}/share"
    goal_page = client.get(f"/cohorts/{world['cohort']}/plan/goals/{done_id}").get_data(
        as_text=True)
    assert f'action="{path}"' in goal_page
    first = post_form(client, path)
    post_id = post_id_of(first)
    assert post_id_of(post_form(client, path)) == post_id  # again: the same post
    page = client.get(first.location).get_data(as_text=True)
    assert "I finished: Run an online poll" in page
    assert "Twelve colleagues voted in a day." in page
    with app.app_context():
        found = db.session.get(Post, post_id)
        assert (found.kind, found.goal_id) == (PostKind.STORY, done_id)
        assert found.story_at is not None
    unfinished = post_form(client, f"/cohorts/{world['cohort']}/plan/goals/{active_id}/share")
    assert unfinished.status_code == 400
    assert "Finish the goal first" in unfinished.get_data(as_text=True)
    # someone else's goal, a missing one, or without the form's token
    assert post_form(role_client("facilitator"), path).status_code == 404
    assert post_form(client, f"/cohorts/{world['cohort']}/plan/goals/999999/share").status_code == 404
    assert client.post(path).status_code == 400


def test_volunteers_and_the_contributors_view(app, world, role_client, other_participant):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_volunteer = True
        db.session.commit()
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    post_form(jordan, feed_path(world, f"/{post_id}/comments"), {"body": "Nice one"})
    assert post_form(jordan, feed_path(world, "/volunteer")).status_code == 302
    page = jordan.get(feed_path(world, "/contributors")).get_data(as_text=True)
    rows = re.findall(r'<tr><th scope="row">(.*?)</tr>', page, re.S)
    assert "Jordan Lee" in rows[0]
    assert "volunteer" in rows[0]  # volunteers first
    assert "Alex Participant" in rows[1]
    assert "<td>1</td><td>0</td><td>0</td>" in rows[1]  # one post, no story, no comment
    assert role_client("patron").get(feed_path(world, "/contributors")).status_code == 404
    assert post_form(role_client("facilitator"), feed_path(world, "/volunteer")).status_code == 404
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_volunteer = False
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.is_volunteer_sharer.is_(True))) == 1
    assert jordan.get(feed_path(world, "/contributors")).status_code == 404


def test_comments_are_edited_within_the_window_by_their_author(app, world, role_client, frozen,
                                                               other_participant):
    start = frozen(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    made = post_form(jordan, feed_path(world, f"/{post_id}/comments"), {"body": "Typo here"})
    comment_id = int(made.location.rsplit("comment-", 1)[1])
    path = feed_path(world, f"/{post_id}/comments/{comment_id}/edit")
    assert author.get(path).status_code == 404
    assert post_form(jordan, path, {"body": ""}).status_code == 400
    assert post_form(jordan, path, {"body": "Fixed"}).status_code == 302
    frozen(start + timedelta(hours=25))
    assert post_form(jordan, path, {"body": "Too late"}).status_code == 409
    assert "Fixed" in author.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)


def test_a_facilitator_closes_a_report_and_keeps_the_post(app, world, role_client,
                                                          other_participant):
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    post_form(jordan, feed_path(world, f"/{post_id}/report"), {"reason": "Not sure about this"})
    with app.app_context():
        report_id = db.session.scalars(select(Report.id)).one()
    path = feed_path(world, f"/reports/{report_id}/dismiss")
    assert post_form(jordan, path).status_code == 404
    assert post_form(role_client("facilitator"), path).status_code == 302
    assert post_form(role_client("facilitator"), path).status_code == 409
    assert jordan.get(feed_path(world, f"/{post_id}")).status_code == 200
