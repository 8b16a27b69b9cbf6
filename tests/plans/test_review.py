"""Plan review through HTTP: asking a patron or facilitator to review a plan (draft → in
review → active), withdrawing, comments on the plan and its goals, marking it reviewed,
suggested library goals (adopted or dismissed), the reviewer's inbox, the emails each step
sends, and who may do what (404 out of scope, 403 in scope but not allowed)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts import people
from dap.cohorts.models import Cohort, CohortRole, PatronLink
from dap.content.library import current_library
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from dap.plans import services
from dap.plans.models import (
    GoalSuggestion,
    Plan,
    PlanComment,
    PlanGoal,
    PlanReview,
    PlanState,
    ReviewStatus,
    SuggestionStatus,
    Visibility,
)
from dap.plans.review import COMMENT_MAX, MESSAGE_MAX
from tests import factories
from tests.conftest import post_form


def _text(response) -> str:
    return response.get_data(as_text=True)


def _own(world) -> str:
    return f"/cohorts/{world['cohort']}/plan"


def _people(world, membership_id: int | None = None) -> str:
    return f"/cohorts/{world['cohort']}/people/{membership_id or world['participant_membership']}/plan"


def _slugs(app) -> list[str]:
    with app.app_context():
        return sorted(current_library().goals)


def _state(app, user_id: int) -> PlanState | None:
    with app.app_context():
        return db.session.scalar(select(Plan.state).where(Plan.participant_id == user_id))


def _reviews(app) -> list[tuple[ReviewStatus, int | None, str, str]]:
    with app.app_context():
        return [(r.status, r.reviewer_id, r.message, r.comment) for r in db.session.scalars(
            select(PlanReview).order_by(PlanReview.id))]


def _outbox(app) -> list[tuple[str, str, str]]:
    """(to, subject, kind) of every queued email, oldest first."""
    with app.app_context():
        return [(m.to_addr, m.subject, m.kind) for m in db.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]


def _emails_to(app, user_id: int) -> list[str]:
    with app.app_context():
        address = db.session.get(User, user_id).email
    return [subject for to, subject, _ in _outbox(app) if to == address]


def _comments(app) -> list[tuple[int | None, int, str]]:
    with app.app_context():
        return [(c.goal_id, c.author_id, c.body) for c in db.session.scalars(
            select(PlanComment).order_by(PlanComment.id))]


def _suggestions(app) -> list[tuple[str, SuggestionStatus, int | None]]:
    with app.app_context():
        return [(s.library_slug, s.status, s.goal_id) for s in db.session.scalars(
            select(GoalSuggestion).order_by(GoalSuggestion.id))]


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for event in events:
            db.session.expunge(event)
        return events


def _in_inbox(client, world, membership_id: int | None = None) -> bool:
    """Whether the client's /reviews lists a link to that participant's plan."""
    page = client.get("/reviews")
    assert page.status_code == 200
    return f'href="{_people(world, membership_id)}#review"' in _text(page)


def _signed_in(app, login_as, user_id: int):
    """A client signed in as that user (one sign-in per app context: ``g`` caches the user)."""
    with app.app_context():
        return login_as(db.session.get(User, user_id))


@pytest.fixture
def me(role_client):
    return role_client("participant")


@pytest.fixture
def patron(role_client):
    return role_client("patron")


@pytest.fixture
def facilitator(role_client):
    return role_client("facilitator")


@pytest.fixture
def with_goal(own_goal):
    """The world's participant has one goal (its id)."""
    return own_goal("Run a poll on our intranet")


def _ask(client, path: str, reviewer: int | str = "", message: str = ""):
    return post_form(client, path + "/review",
                     {"review-reviewer": str(reviewer), "review-message": message})


@pytest.fixture
def second_patron(app, world, login_as):
    """Another patron of the world's participant: (user id, signed-in client)."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        user = factories.make_user(name="Quinn Second-Patron")
        factories.add_member(cohort, user, CohortRole.PATRON)
        factories.link_patron(cohort, user, db.session.get(User, world["participant"]))
        db.session.commit()
        return user.id, login_as(user)


@pytest.fixture
def co_facilitator(app, world, login_as):
    """A second facilitator of the world's cohort: (user id, signed-in client)."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        user = factories.make_user(name="Cleo Co-facilitator", is_facilitator=True)
        factories.add_member(cohort, user, CohortRole.FACILITATOR)
        db.session.commit()
        return user.id, login_as(user)


@pytest.fixture
def managed(app, world):
    """A managed ("supported digital") participant of the world's cohort, with one goal and
    the world's patron as their patron: {membership, user, goal}."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        facilitator = db.session.get(User, world["facilitator"])
        membership = people.create_managed_participant(cohort=cohort, actor=facilitator,
                                                       name="Morag Managed", team=None)
        factories.link_patron(cohort, db.session.get(User, world["patron"]), membership.user)
        plan = services.plan_for(cohort, membership.user)
        goal = services.write_goal(plan, actor=facilitator, title="Send an email")
        db.session.commit()
        return {"membership": membership.id, "user": membership.user_id, "goal": goal.id}


# --- asking for a review ---------------------------------------------------------------------------


def test_participant_asks_the_facilitators_and_the_plan_goes_in_review(
        app, world, me, facilitator, patron, with_goal):
    page = _text(me.get(_own(world)))
    assert "Not reviewed yet" in page
    assert "Ask for a review" in page
    assert '<label for="review-reviewer">Who should review it</label>' in page
    assert "Any facilitator of the cohort" in page
    assert "Pat Patron (your patron)" in page
    assert "Sam Facilitator (facilitator)" in page
    assert _state(app, world["participant"]) is PlanState.DRAFT

    response = _ask(me, _own(world), message="Is the poll goal too ambitious?")
    assert response.status_code == 303
    assert response.headers["Location"] == _own(world) + "#review"
    assert _state(app, world["participant"]) is PlanState.IN_REVIEW
    assert _reviews(app) == [(ReviewStatus.OPEN, None, "Is the poll goal too ambitious?", "")]
    page = _text(me.get(_own(world)))
    assert "The cohort’s facilitators were asked" in page
    assert "Withdraw the request" in page
    assert "Ask for a review</button>" not in page

    # one email, to the cohort's facilitator, with a link to the plan as they open it
    assert _emails_to(app, world["facilitator"]) == [
        "Alex Participant asks you to review their plan"]
    assert len(_outbox(app)) == 1
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body_text))
    assert f"/cohorts/{world['cohort']}/people/{world['participant_membership']}/plan#review" in body
    assert "Is the poll goal too ambitious?" in body

    # it is in the facilitator's inbox, not in the patron's
    inbox = _text(facilitator.get("/reviews"))
    assert "Alex Participant’s plan" in inbox
    assert f'href="{_people(world)}#review"' in inbox
    assert "Is the poll goal too ambitious?" in inbox
    assert not _in_inbox(patron, world)
    assert "Nothing is waiting for you" in _text(patron.get("/reviews"))
    # the dashboard says so, and the main menu leads there (not for the participant)
    assert "1 plan is waiting for your review" in _text(facilitator.get("/"))
    assert "waiting for your review" not in _text(patron.get("/"))
    assert 'href="/reviews"' in _text(patron.get("/"))
    assert 'href="/reviews"' not in _text(me.get("/"))

    # asking again while one is open is refused, and sends nothing more
    again = _ask(me, _own(world))
    assert again.status_code == 400
    assert "already under way" in _text(again)
    assert len(_reviews(app)) == 1
    assert len(_outbox(app)) == 1


def test_asking_for_a_review_needs_a_goal(app, world, me):
    page = _text(me.get(_own(world)))
    assert "Ask for a review" not in page
    response = _ask(me, _own(world))
    assert response.status_code == 400
    assert "Add at least one goal" in _text(response)
    assert _reviews(app) == []
    assert _outbox(app) == []


def test_a_named_patron_reviews_comments_and_marks_it_reviewed(
        app, world, me, patron, facilitator, with_goal):
    assert _ask(me, _own(world), reviewer=world["patron"]).status_code == 303
    assert _emails_to(app, world["patron"]) == ["Alex Participant asks you to review their plan"]
    assert _emails_to(app, world["facilitator"]) == []
    assert _in_inbox(patron, world)
    assert not _in_inbox(facilitator, world)

    page = _text(patron.get(_people(world)))
    assert "You were asked" in page
    assert "Mark as reviewed" in page
    goal_url = _people(world) + f"/goals/{with_goal}"
    response = post_form(patron, goal_url + "/comments",
                         {"goal-comment-body": "Try a two-question poll first."})
    assert response.status_code == 303
    assert response.headers["Location"] == goal_url + "#comments"
    assert "Try a two-question poll first." in _text(patron.get(goal_url))

    response = post_form(patron, _people(world) + "/review/done",
                         {"reviewed-comment": "A good, realistic plan.\nKeep it up!"})
    assert response.status_code == 303
    assert _state(app, world["participant"]) is PlanState.ACTIVE
    assert _reviews(app) == [(ReviewStatus.DONE, world["patron"], "",
                              "A good, realistic plan.\nKeep it up!")]
    assert _emails_to(app, world["participant"]) == ["Pat Patron has reviewed your plan"]

    page = _text(me.get(_own(world)))
    assert "Reviewed" in page
    assert "by Pat Patron" in page
    assert "A good, realistic plan.<br>\nKeep it up!" in page
    assert "Try a two-question poll first." in _text(me.get(_own(world) + f"/goals/{with_goal}"))
    # done: out of the inbox, and nothing more to mark
    assert not _in_inbox(patron, world)
    again = post_form(patron, _people(world) + "/review/done", {})
    assert again.status_code == 400
    assert "There is no review under way" in _text(again)
    assert len(_outbox(app)) == 2


def test_who_may_mark_a_plan_reviewed(app, world, me, patron, facilitator, second_patron,
                                      with_goal):
    assert _ask(me, _own(world), reviewer=world["patron"]).status_code == 303
    # the participant never marks their own plan reviewed, by either address
    assert post_form(me, _own(world) + "/review/done", {}).status_code == 403
    assert post_form(me, _people(world) + "/review/done", {}).status_code == 403
    # another patron of theirs, not the one asked
    _, other = second_patron
    assert post_form(other, _people(world) + "/review/done", {}).status_code == 403
    assert "Mark as reviewed" not in _text(other.get(_people(world)))
    assert _state(app, world["participant"]) is PlanState.IN_REVIEW
    # any facilitator of the cohort may, even when a patron was asked
    assert "Mark as reviewed" in _text(facilitator.get(_people(world)))
    response = post_form(facilitator, _people(world) + "/review/done", {})
    assert response.status_code == 303
    assert _reviews(app)[0][0] is ReviewStatus.DONE
    assert _state(app, world["participant"]) is PlanState.ACTIVE


def test_withdrawing_goes_back_to_draft_or_to_active(app, world, me, patron, facilitator,
                                                     with_goal):
    assert _ask(me, _own(world)).status_code == 303
    assert post_form(patron, _people(world) + "/review/withdraw", {}).status_code == 403
    assert post_form(facilitator, _people(world) + "/review/withdraw", {}).status_code == 403
    response = post_form(me, _own(world) + "/review/withdraw", {})
    assert response.status_code == 303
    assert _state(app, world["participant"]) is PlanState.DRAFT
    assert _reviews(app)[0][0] is ReviewStatus.WITHDRAWN
    assert not _in_inbox(facilitator, world)
    nothing = post_form(me, _own(world) + "/review/withdraw", {})
    assert nothing.status_code == 400
    assert "There is no review under way" in _text(nothing)

    # reviewed once: asking again then withdrawing leaves the plan active
    assert _ask(me, _own(world)).status_code == 303
    assert post_form(facilitator, _people(world) + "/review/done", {}).status_code == 303
    assert "Ask for another review" in _text(me.get(_own(world)))
    assert _ask(me, _own(world)).status_code == 303
    assert _state(app, world["participant"]) is PlanState.IN_REVIEW
    assert post_form(me, _own(world) + "/review/withdraw", {}).status_code == 303
    assert _state(app, world["participant"]) is PlanState.ACTIVE
    # each request emailed its facilitator once
    assert len(_emails_to(app, world["facilitator"])) == 3


@pytest.mark.parametrize(("reviewer", "why"), [
    ("999999", "unknown user"),
    ("abc", "not a number"),
    ("1e3", "not a whole number"),
    ("99999999999999999999", "too long"),
    ("outsider", "not a patron or facilitator of this participant"),
    ("participant", "the participant themselves"),
    ("admin", "an admin who is not a facilitator of the cohort"),
    ("invited", "someone invited, not yet a member"),
])
def test_asking_someone_not_in_the_list_is_refused(app, world, me, with_goal, reviewer, why):
    if reviewer == "invited":
        with app.app_context():
            reviewer = db.session.scalar(select(User.id).where(User.name == "Ivy Invited"))
    value = world.get(reviewer, reviewer)
    response = _ask(me, _own(world), reviewer=value, message="Please look — ünïcødé ✓")
    assert response.status_code == 400, why
    assert "Choose one of the patrons or facilitators in the list." in _text(response)
    # what was typed is still there
    assert "Please look — ünïcødé ✓" in _text(response)
    assert _reviews(app) == []
    assert _outbox(app) == []
    assert _state(app, world["participant"]) is PlanState.DRAFT


def test_an_ended_patron_link_is_no_longer_a_reviewer(app, world, me, patron, with_goal):
    assert _ask(me, _own(world), reviewer=world["patron"]).status_code == 303
    with app.app_context():
        link = db.session.get(PatronLink, world["patron_link"])
        people.end_patron_link(link, actor=db.session.get(User, world["participant"]))
        db.session.commit()
    assert not _in_inbox(patron, world)
    assert post_form(me, _own(world) + "/review/withdraw", {}).status_code == 303
    response = _ask(me, _own(world), reviewer=world["patron"])
    assert response.status_code == 400
    assert "Pat Patron" not in _text(me.get(_own(world)))


def test_review_message_limits(app, world, me, with_goal):
    too_long = "m" * (MESSAGE_MAX + 1)
    response = _ask(me, _own(world), message=too_long)
    assert response.status_code == 400
    assert f"Use at most {MESSAGE_MAX} characters" in _text(response)
    assert too_long in _text(response)
    assert _reviews(app) == []
    text = "Could you look at my goals? 🙏 日本語 \x00 «ok»"
    assert _ask(me, _own(world), message=text).status_code == 303
    assert _reviews(app)[0][2] == "Could you look at my goals? 🙏 日本語  «ok»"


def test_email_to_every_facilitator_but_not_to_people_without_an_address(
        app, world, facilitator, co_facilitator, managed):
    """A facilitator asks for a managed participant: the other facilitators hear of it
    (not the one who asked); the managed participant, who has no address, gets nothing."""
    co_id, co_client = co_facilitator
    base = _people(world, managed["membership"])
    assert "Ask for a review" in _text(facilitator.get(base))
    assert _ask(facilitator, base).status_code == 303
    assert _emails_to(app, co_id) == ["Morag Managed asks you to review their plan"]
    assert _emails_to(app, world["facilitator"]) == []
    assert len(_outbox(app)) == 1
    events = _audit(app, "plan.review_requested")
    assert [(e.actor_id, e.subject_id) for e in events] == [(world["facilitator"], managed["user"])]
    with app.app_context():
        assert "(Sam Facilitator asked for them.)" in db.session.scalar(
            select(OutboxMessage.body_text))

    assert _in_inbox(co_client, world, managed["membership"])
    assert post_form(co_client, base + "/suggestions",
                     {"suggest-slug": _slugs(app)[0]}).status_code == 303
    assert post_form(co_client, base + "/review/done",
                     {"reviewed-comment": "Well done"}).status_code == 303
    assert _state(app, managed["user"]) is PlanState.ACTIVE
    assert len(_outbox(app)) == 1  # nothing for the managed participant


def test_a_facilitator_does_not_ask_for_a_participant_who_has_their_own_access(
        app, world, facilitator, patron, with_goal):
    assert _ask(facilitator, _people(world)).status_code == 403
    assert _ask(patron, _people(world)).status_code == 403
    assert "Ask for a review" not in _text(facilitator.get(_people(world)))
    assert _reviews(app) == []


# --- comments ---------------------------------------------------------------------------------------


def test_reviewers_comment_and_the_participant_replies(app, world, me, patron, facilitator,
                                                       with_goal):
    assert post_form(patron, _people(world) + "/comments",
                     {"comment-body": "Lovely plan. <b>Bold</b> idea!"}).status_code == 303
    assert post_form(me, _own(world) + "/comments",
                     {"comment-body": "Thank you — merci, danke, спасибо 🙂"}).status_code == 303
    assert post_form(facilitator, _people(world) + "/comments",
                     {"comment-body": "Line one\r\nLine two"}).status_code == 303
    assert _comments(app) == [
        (None, world["patron"], "Lovely plan. <b>Bold</b> idea!"),
        (None, world["participant"], "Thank you — merci, danke, спасибо 🙂"),
        (None, world["facilitator"], "Line one\nLine two"),
    ]
    page = _text(me.get(_own(world)))
    assert "Lovely plan. &lt;b&gt;Bold&lt;/b&gt; idea!" in page
    assert "<b>Bold</b>" not in page
    assert "Thank you — merci, danke, спасибо 🙂" in page
    assert "Line one<br>\nLine two" in page
    assert "Reply</button>" in page
    # plan comments stay off the goal's page, and goal comments off the plan's
    assert "Lovely plan." not in _text(me.get(_own(world) + f"/goals/{with_goal}"))
    post_form(me, _own(world) + f"/goals/{with_goal}/comments",
              {"goal-comment-body": "I have drafted the questions."})
    assert "I have drafted the questions." not in _text(me.get(_own(world)))
    assert "I have drafted the questions." in _text(patron.get(
        _people(world) + f"/goals/{with_goal}"))


@pytest.mark.parametrize(("body", "message"), [
    ("", "Enter a comment."),
    ("   \n\t  ", "Enter a comment."),
    ("\x00\x01", "Enter a comment."),
    ("x" * (COMMENT_MAX + 1), f"Use at most {COMMENT_MAX} characters"),
])
def test_bad_comments_are_refused_and_kept_on_the_form(app, world, me, patron, with_goal,
                                                       body, message):
    for client, path, name in [
        (me, _own(world) + "/comments", "comment-body"),
        (patron, _people(world) + "/comments", "comment-body"),
        (me, _own(world) + f"/goals/{with_goal}/comments", "goal-comment-body"),
    ]:
        response = post_form(client, path, {name: body})
        assert response.status_code == 400, path
        assert message in _text(response)
        if len(body) > 100:
            assert body in _text(response)  # nothing typed is lost
    assert _comments(app) == []


def test_a_comment_of_exactly_the_limit_is_kept(app, world, patron):
    body = "é" * COMMENT_MAX
    assert post_form(patron, _people(world) + "/comments",
                     {"comment-body": body}).status_code == 303
    assert _comments(app)[0][2] == body


def test_comment_scope(app, world, me, patron, own_goal, login_as):
    private = own_goal("My secret goal")
    with app.app_context():
        db.session.get(PlanGoal, private).visibility = Visibility.PRIVATE
        cohort = db.session.get(Cohort, world["cohort"])
        other = factories.make_user(name="Olive Other")
        other_membership = factories.add_member(cohort, other, CohortRole.PARTICIPANT)
        plan = services.plan_for(cohort, other)
        others_goal = services.write_goal(plan, actor=other, title="Not yours").id
        db.session.commit()
        other_membership_id, other_id = other_membership.id, other.id
    other_client = _signed_in(app, login_as, other_id)
    outsider = _signed_in(app, login_as, world["outsider"])
    data = {"goal-comment-body": "Hello"}
    # a patron does not see "only me" goals, nor comment on them
    assert patron.get(_people(world) + f"/goals/{private}").status_code == 404
    assert post_form(patron, _people(world) + f"/goals/{private}/comments",
                     data).status_code == 404
    # the participant's goal ids only; another participant's goal is not found
    assert post_form(me, _own(world) + f"/goals/{others_goal}/comments", data).status_code == 404
    assert post_form(patron, _people(world) + f"/goals/{others_goal}/comments",
                     data).status_code == 404
    assert post_form(me, _own(world) + "/goals/abc/comments", data).status_code == 404
    # the patron of someone else, another participant, an outsider
    other_plan = _people(world, other_membership_id)
    assert post_form(patron, other_plan + "/comments", {"comment-body": "Hi"}).status_code == 404
    assert post_form(patron, other_plan + f"/goals/{others_goal}/comments",
                     data).status_code == 404
    assert post_form(other_client, _people(world) + "/comments",
                     {"comment-body": "Hi"}).status_code == 404
    assert post_form(outsider, _people(world) + "/comments",
                     {"comment-body": "Hi"}).status_code == 404
    assert post_form(outsider, _own(world) + "/comments", {"comment-body": "Hi"}).status_code == 404
    assert _comments(app) == []
    # the participant comments on their own private goal; facilitators see it
    assert post_form(me, _own(world) + f"/goals/{private}/comments", data).status_code == 303


# --- suggested goals ---------------------------------------------------------------------------------


def test_a_reviewer_suggests_a_goal_and_the_participant_adopts_it(app, world, me, facilitator):
    slug = _slugs(app)[0]
    with app.app_context():
        title = current_library().goals[slug].title
    page = _text(facilitator.get(_people(world)))
    assert "Suggest a library goal" in page
    assert f'value="{slug}"' in page
    response = post_form(facilitator, _people(world) + "/suggestions",
                         {"suggest-slug": slug, "suggest-note": "Fits your team's needs"})
    assert response.status_code == 303
    assert _suggestions(app) == [(slug, SuggestionStatus.OPEN, None)]
    assert _emails_to(app, world["participant"]) == [
        f"Sam Facilitator suggests a goal for your plan: {title}"]
    with app.app_context():
        assert f"/library/{slug}" in db.session.scalar(select(OutboxMessage.body_text))

    page = _text(me.get(_own(world)))
    assert title in page
    assert "Fits your team&#39;s needs" in page
    assert f'href="/library/{slug}">Add to my plan' in page
    assert "Dismiss" in page
    # the "Add to my plan" page, then the existing adopt form
    assert "Add to my plan" in _text(me.get(f"/library/{slug}"))
    adopted = post_form(me, _own(world) + "/adopt", {"slug": slug, "cohort": world["cohort"]})
    assert adopted.status_code == 302
    with app.app_context():
        goal_id = db.session.scalar(select(PlanGoal.id).where(PlanGoal.library_slug == slug))
    assert _suggestions(app) == [(slug, SuggestionStatus.ADOPTED, goal_id)]
    page = _text(me.get(_own(world)))
    assert "Dismiss<span" not in page
    assert "adopted" in page
    # the slug is in the plan: it cannot be suggested again
    again = post_form(facilitator, _people(world) + "/suggestions", {"suggest-slug": slug})
    assert again.status_code == 400
    assert "already in the plan" in _text(again)
    assert len(_outbox(app)) == 1


def test_suggestion_rules_and_bad_input(app, world, me, patron, facilitator):
    first, second = _slugs(app)[:2]
    assert post_form(patron, _people(world) + "/suggestions",
                     {"suggest-slug": first}).status_code == 303
    twice = post_form(facilitator, _people(world) + "/suggestions",
                      {"suggest-slug": first, "suggest-note": "Again"})
    assert twice.status_code == 400
    assert "already been suggested" in _text(twice)
    for slug in ["", "no-such-goal", "../etc/passwd", "ü" * 500]:
        response = post_form(facilitator, _people(world) + "/suggestions",
                             {"suggest-slug": slug, "suggest-note": "Kept note ✓"})
        assert response.status_code == 400, slug
        assert "Choose a goal from the library." in _text(response)
        assert "Kept note ✓" in _text(response)
    too_long = post_form(facilitator, _people(world) + "/suggestions",
                         {"suggest-slug": second, "suggest-note": "n" * 501})
    assert too_long.status_code == 400
    assert "Use at most 500 characters" in _text(too_long)
    # participants do not suggest to themselves
    assert post_form(me, _own(world) + "/suggestions", {"suggest-slug": second}).status_code == 403
    assert _suggestions(app) == [(first, SuggestionStatus.OPEN, None)]


def test_dismissing_a_suggestion(app, world, me, patron, facilitator, login_as):
    first, second = _slugs(app)[:2]
    post_form(facilitator, _people(world) + "/suggestions", {"suggest-slug": first})
    with app.app_context():
        suggestion_id = db.session.scalar(select(GoalSuggestion.id))
        cohort = db.session.get(Cohort, world["cohort"])
        other = factories.make_user(name="Olive Other")
        factories.add_member(cohort, other, CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
    other_client = _signed_in(app, login_as, other_id)
    path = _own(world) + f"/suggestions/{suggestion_id}/dismiss"
    assert post_form(patron, _people(world) + f"/suggestions/{suggestion_id}/dismiss",
                     {}).status_code == 403
    assert post_form(facilitator, _people(world) + f"/suggestions/{suggestion_id}/dismiss",
                     {}).status_code == 403
    assert post_form(other_client, path, {}).status_code == 404  # their own plan has no such
    assert post_form(me, _own(world) + "/suggestions/abc/dismiss", {}).status_code == 404
    assert post_form(me, _own(world) + "/suggestions/999999/dismiss", {}).status_code == 404
    assert me.post(path, data={}).status_code == 400  # no CSRF token
    assert post_form(me, path, {}).status_code == 303
    assert _suggestions(app) == [(first, SuggestionStatus.DISMISSED, None)]
    again = post_form(me, path, {})
    assert again.status_code == 400
    assert "already dismissed" in _text(again)
    # dismissed: it may be suggested again later
    assert post_form(facilitator, _people(world) + "/suggestions",
                     {"suggest-slug": first}).status_code == 303


def test_taking_up_a_dropped_goal_again_adopts_its_suggestion(app, world, me, facilitator):
    slug = _slugs(app)[0]
    assert post_form(me, _own(world) + "/adopt", {"slug": slug}).status_code == 302
    with app.app_context():
        goal_id = db.session.scalar(select(PlanGoal.id))
    assert post_form(me, _own(world) + f"/goals/{goal_id}/status",
                     {"status-status": "dropped", "status-reason": "Too soon"}).status_code == 302
    # dropped: it may be suggested
    assert post_form(facilitator, _people(world) + "/suggestions",
                     {"suggest-slug": slug}).status_code == 303
    assert post_form(me, _own(world) + f"/goals/{goal_id}/status",
                     {"status-status": "active"}).status_code == 302
    assert _suggestions(app) == [(slug, SuggestionStatus.ADOPTED, goal_id)]


def test_a_facilitator_dismisses_and_adopts_for_a_managed_participant(
        app, world, facilitator, managed):
    first, second = _slugs(app)[:2]
    base = _people(world, managed["membership"])
    for slug in (first, second):
        assert post_form(facilitator, base + "/suggestions",
                         {"suggest-slug": slug}).status_code == 303
    page = _text(facilitator.get(base))
    assert f'href="{base}/goals/new">Add it to the plan' in page
    with app.app_context():
        first_id = db.session.scalar(select(GoalSuggestion.id).where(
            GoalSuggestion.library_slug == first))
    assert post_form(facilitator, base + f"/suggestions/{first_id}/dismiss",
                     {}).status_code == 303
    assert [(e.actor_id, e.subject_id) for e in _audit(app, "plan.suggestion_dismissed")] == [
        (world["facilitator"], managed["user"])]
    assert post_form(facilitator, base + "/adopt", {"pick-slug": second}).status_code == 302
    statuses = {slug: status for slug, status, _ in _suggestions(app)}
    assert statuses == {first: SuggestionStatus.DISMISSED, second: SuggestionStatus.ADOPTED}
    assert _outbox(app) == []  # a managed participant has no address


# --- the inbox, archived cohorts, pages by role -----------------------------------------------------


def test_inbox_scope(app, world, me, role_client, co_facilitator, with_goal, login_as):
    assert _ask(me, _own(world)).status_code == 303
    # every facilitator of the cohort and admins (who manage every cohort)
    for client in (role_client("facilitator"), co_facilitator[1], role_client("admin")):
        assert _in_inbox(client, world)
    # a facilitator of another cohort, an outsider, the participant
    with app.app_context():
        elsewhere = factories.make_user(name="Elsa Elsewhere", is_facilitator=True)
        factories.add_member(factories.make_cohort(), elsewhere, CohortRole.FACILITATOR)
        db.session.commit()
        elsewhere_id = elsewhere.id
    elsewhere_client = _signed_in(app, login_as, elsewhere_id)
    for client in (elsewhere_client, role_client("outsider"), me):
        assert not _in_inbox(client, world)
    # archived cohorts drop out
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert not _in_inbox(role_client("facilitator"), world)


def test_archived_cohorts_are_read_only(app, world, me, patron, facilitator, with_goal):
    assert _ask(me, _own(world)).status_code == 303
    assert post_form(patron, _people(world) + "/comments",
                     {"comment-body": "Before archiving"}).status_code == 303
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    for client, path, data in [
        (me, _own(world) + "/review/withdraw", {}),
        (me, _own(world) + "/comments", {"comment-body": "Hi"}),
        (me, _own(world) + f"/goals/{with_goal}/comments", {"goal-comment-body": "Hi"}),
        (patron, _people(world) + "/comments", {"comment-body": "Hi"}),
        (facilitator, _people(world) + "/review/done", {}),
        (facilitator, _people(world) + "/suggestions", {"suggest-slug": _slugs(app)[0]}),
    ]:
        assert post_form(client, path, data).status_code == 403, path
    page = _text(me.get(_own(world)))
    assert "Before archiving" in page
    assert "Withdraw the request" not in page
    assert 'name="comment-body"' not in page
    assert _state(app, world["participant"]) is PlanState.IN_REVIEW
    assert len(_comments(app)) == 1


@pytest.mark.parametrize("role", ["participant", "patron", "facilitator", "admin"])
def test_the_plan_and_goal_pages_show_the_review_to_each_role(app, world, role_client, role,
                                                              with_goal):
    client = role_client(role)
    base = _own(world) if role == "participant" else _people(world)
    page = _text(client.get(base))
    assert '<h2 id="review-heading">Review</h2>' in page
    assert '<h2 id="comments-heading">Comments on the plan</h2>' in page
    assert ('<label for="comment-body">Add a comment</label>' in page)
    assert ("Suggest a library goal" in page) is (role != "participant")
    goal_page = _text(client.get(base + f"/goals/{with_goal}"))
    assert '<h2 id="goal-comments-heading">Comments</h2>' in goal_page
    assert '<label for="goal-comment-body">Add a comment</label>' in goal_page


def test_asking_again_and_again_is_rate_limited(app, world, me, with_goal):
    """Ask, withdraw, ask… emails the facilitators each time: 20 requests an hour at most."""
    for _ in range(20):
        assert _ask(me, _own(world)).status_code == 303
        assert post_form(me, _own(world) + "/review/withdraw", {}).status_code == 303
    assert _ask(me, _own(world)).status_code == 429
    assert len(_emails_to(app, world["facilitator"])) == 20


def test_a_patron_is_not_told_of_an_only_me_goal_by_the_suggestions(app, world, me, patron,
                                                                    facilitator):
    """The suggest list and the refusal would otherwise reveal a private library goal."""
    private_slug, shared_slug = _slugs(app)[:2]
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(cohort, person)
        library = current_library()
        services.adopt_goal(plan, library.goals[private_slug], actor=person,
                            visibility=Visibility.PRIVATE)
        services.adopt_goal(plan, library.goals[shared_slug], actor=person)
        db.session.commit()
    page = _text(patron.get(_people(world)))
    assert f'value="{private_slug}"' in page  # offered: the patron cannot see it is there
    assert f'value="{shared_slug}"' not in page
    assert post_form(patron, _people(world) + "/suggestions",
                     {"suggest-slug": private_slug}).status_code == 303
    refused = post_form(patron, _people(world) + "/suggestions", {"suggest-slug": shared_slug})
    assert refused.status_code == 400
    assert "already in the plan" in _text(refused)
    # a facilitator sees every goal, so is told
    told = post_form(facilitator, _people(world) + "/suggestions", {"suggest-slug": private_slug})
    assert told.status_code == 400
    # the participant sees the suggestion is for a goal they already have
    assert "Already in your plan." in _text(me.get(_own(world)))
