"""Endorsing finished goals through HTTP: a patron or facilitator endorses a done goal with a
short comment, the participant sees it and is told once (in-app and by email), endorsing
again edits, the author withdraws; who may endorse which goal (404 out of scope, 400 for a
goal not done, 403 in an archived cohort); the comment's length and characters; the plan
pages, the goal page, the printed plan and the patron home show endorsements in a fixed
number of queries; the audit log, the data export and account deletion."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts import people
from dap.cohorts.models import Cohort, CohortRole, PatronLink
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind, OutboxMessage
from dap.plans import services
from dap.plans.endorsements import COMMENT_MAX
from dap.plans.models import GoalEndorsement, GoalStatus, PlanGoal, Visibility
from tests import factories
from tests.accounts.test_privacy import read_export
from tests.conftest import counting_queries, post_form

TITLE = "Run a poll on our intranet"


# --- helpers --------------------------------------------------------------------------------------


def _plan_path(world, membership_id: int | None = None, cohort_id: int | None = None) -> str:
    return (f"/cohorts/{cohort_id or world['cohort']}/people/"
            f"{membership_id or world['participant_membership']}/plan")


def _goal_path(world, goal_id, **where) -> str:
    return f"{_plan_path(world, **where)}/goals/{goal_id}"


def _own_goal_path(world, goal_id) -> str:
    return f"/cohorts/{world['cohort']}/plan/goals/{goal_id}"


def _endorse(client, world, goal_id, comment: str = "Well done", **where):
    return post_form(client, _goal_path(world, goal_id, **where) + "/endorsement",
                     {"endorse-comment": comment})


def _withdraw(client, world, goal_id, **where):
    return post_form(client, _goal_path(world, goal_id, **where) + "/endorsement/withdraw")


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def _plain(page: str) -> str:
    """The page's main content as text: tags dropped, entities read, spaces collapsed."""
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    text = html.unescape(re.sub(r"<[^>]+>", " ", main.split(">", 1)[1]))
    return " ".join(text.split())


def _endorsements(app) -> list[tuple[int, int, str]]:
    """(goal id, author id, comment) of every endorsement, oldest first."""
    with app.app_context():
        return [(e.goal_id, e.author_id, e.comment) for e in db.session.scalars(
            select(GoalEndorsement).order_by(GoalEndorsement.id))]


def _notifications(app, user_id: int) -> list[tuple]:
    with app.app_context():
        return [(n.kind, n.title, n.body, n.link, n.sender_id) for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.id))]


def _outbox(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(m.to_addr, m.subject, m.kind) for m in db.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]


def _audit(app, action: str) -> list[tuple[int | None, int | None, dict]]:
    with app.app_context():
        return [(e.actor_id, e.subject_id, dict(e.details)) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def _email_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


def _goal(app, user_id: int, cohort_id: int, title: str = TITLE, *,
          visibility: Visibility = Visibility.PATRONS, done: bool = True) -> int:
    """A goal written into the person's plan in the cohort (finished unless ``done`` is
    False): its id."""
    with app.app_context():
        person = db.session.get(User, user_id)
        plan = services.plan_for(db.session.get(Cohort, cohort_id), person)
        goal = services.write_goal(plan, actor=person, title=title, visibility=visibility)
        if done:
            services.complete_goal(goal, actor=person, reflection="Ran it; 40 answers.",
                                   evidence=[])
        db.session.commit()
        return goal.id


@pytest.fixture
def done_goal(app, world):
    """``done_goal(title=…, visibility=…, done=…)`` → a goal of the world's participant."""

    def make(title: str = TITLE, **options) -> int:
        return _goal(app, world["participant"], world["cohort"], title, **options)

    return make


@pytest.fixture
def patron(role_client):
    return role_client("patron")


@pytest.fixture
def facilitator(role_client):
    return role_client("facilitator")


@pytest.fixture
def me(role_client):
    return role_client("participant")


def _signed_in(app, login_as, user_id: int):
    with app.app_context():
        return login_as(db.session.get(User, user_id))


# --- endorsing, editing, withdrawing --------------------------------------------------------------


def test_patron_endorses_a_done_goal_and_the_participant_sees_it_and_is_told(
        app, world, patron, me, done_goal):
    goal_id = done_goal()
    page = _page(patron, _goal_path(world, goal_id))
    assert "Endorse this goal" in page
    assert 'name="endorse-comment"' in page
    assert f'maxlength="{COMMENT_MAX}"' in page

    response = _endorse(patron, world, goal_id, "Well done — 40 answers is brilliant")
    assert response.status_code == 303
    assert response.headers["Location"] == _goal_path(world, goal_id) + "#endorsements"
    assert _endorsements(app) == [(goal_id, world["patron"], "Well done — 40 answers is brilliant")]
    assert f"You endorsed “{TITLE}”." in _page(patron, _goal_path(world, goal_id))

    line = "Endorsed by Pat Patron — “Well done — 40 answers is brilliant”"
    assert line in _plain(_page(me, _own_goal_path(world, goal_id)))
    assert line in _plain(_page(me, f"/cohorts/{world['cohort']}/plan"))
    assert line in _plain(_page(patron, _plan_path(world)))
    # the participant is told once, in the app and by email, with a link to their own goal
    assert _notifications(app, world["participant"]) == [(
        NotificationKind.ENDORSEMENT, f"Pat Patron endorsed your goal: {TITLE}",
        "Well done — 40 answers is brilliant",
        f"/cohorts/{world['cohort']}/plan/goals/{goal_id}#endorsements", world["patron"])]
    [(to, subject, kind)] = _outbox(app)
    assert (to, subject) == (_email_of(app, world["participant"]),
                             f"Pat Patron endorsed your goal: {TITLE}")
    assert kind.endswith("endorsement")
    assert f"Pat Patron endorsed your goal: {TITLE}" in _page(me, "/notifications")
    # audited without the words
    [(actor, subject, details)] = _audit(app, "goal.endorsed")
    assert (actor, subject, details["goal_id"]) == (world["patron"], world["participant"], goal_id)
    assert "brilliant" not in str(details)


def test_endorsing_again_edits_the_comment_and_tells_nobody_twice(app, world, patron, done_goal):
    goal_id = done_goal()
    assert _endorse(patron, world, goal_id, "Well done").status_code == 303
    page = _page(patron, _goal_path(world, goal_id))
    assert "Your endorsement" in page
    assert "Save my endorsement" in page
    assert re.search(r"<textarea[^>]*>\s*Well done</textarea>", page)

    response = _endorse(patron, world, goal_id, "Well done, and thanks for sharing the results")
    assert response.status_code == 303
    assert "Your endorsement is saved." in _page(patron, _goal_path(world, goal_id))
    assert _endorsements(app) == [(goal_id, world["patron"],
                                   "Well done, and thanks for sharing the results")]
    with app.app_context():
        endorsement = db.session.scalar(select(GoalEndorsement))
        assert endorsement.updated_at >= endorsement.created_at
    assert len(_notifications(app, world["participant"])) == 1
    assert len(_outbox(app)) == 1
    assert len(_audit(app, "goal.endorsed")) == 1


def test_the_author_withdraws_and_endorsing_again_does_not_tell_twice(
        app, world, patron, me, done_goal):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Nice one")
    assert "Withdraw my endorsement" in _page(patron, _goal_path(world, goal_id))
    assert "Withdraw my endorsement" not in _page(me, _own_goal_path(world, goal_id))

    response = _withdraw(patron, world, goal_id)
    assert response.status_code == 303
    assert response.headers["Location"] == _goal_path(world, goal_id) + "#endorsements"
    assert _endorsements(app) == []
    assert "Your endorsement is withdrawn." in _page(patron, _goal_path(world, goal_id))
    assert "Nice one" not in _page(me, _own_goal_path(world, goal_id))
    [(actor, subject, details)] = _audit(app, "goal.endorsement_withdrawn")
    assert (actor, subject, details["goal_id"]) == (world["patron"], world["participant"], goal_id)

    # withdrawing twice changes nothing
    assert _withdraw(patron, world, goal_id).status_code == 303
    assert "There was no endorsement of yours to withdraw." in _page(
        patron, _goal_path(world, goal_id))
    # endorsing again stores it again, but the participant was told already
    assert _endorse(patron, world, goal_id, "Nice one, again").status_code == 303
    assert _endorsements(app) == [(goal_id, world["patron"], "Nice one, again")]
    assert len(_notifications(app, world["participant"])) == 1
    assert len(_outbox(app)) == 1


def test_facilitator_endorses_any_goal_including_only_me_ones(
        app, world, facilitator, patron, me, done_goal):
    shared = done_goal("Start a team blog")
    private = done_goal("Quietly finished thing", visibility=Visibility.PRIVATE)
    assert _endorse(facilitator, world, shared, "Great work").status_code == 303
    assert _endorse(facilitator, world, private, "Well done, quietly").status_code == 303
    assert _endorse(patron, world, shared, "Agreed!").status_code == 303
    assert sorted(_endorsements(app)) == sorted([
        (shared, world["facilitator"], "Great work"),
        (private, world["facilitator"], "Well done, quietly"),
        (shared, world["patron"], "Agreed!")])
    titles = [n[1] for n in _notifications(app, world["participant"])]
    assert titles == ["Sam Facilitator endorsed your goal: Start a team blog",
                      "Sam Facilitator endorsed your goal: Quietly finished thing",
                      "Pat Patron endorsed your goal: Start a team blog"]

    mine = _plain(_page(me, f"/cohorts/{world['cohort']}/plan"))
    assert "Endorsed by Sam Facilitator — “Great work”" in mine
    assert "Endorsed by Pat Patron — “Agreed!”" in mine
    assert "Endorsed by Sam Facilitator — “Well done, quietly”" in mine
    # the patron reads the endorsements of the goals they see, never of "only me" ones
    theirs = _page(patron, _plan_path(world))
    assert "Endorsed by Sam Facilitator — “Great work”" in _plain(theirs)
    assert "Well done, quietly" not in theirs
    assert "Quietly finished" not in theirs


def test_an_empty_comment_is_an_endorsement_on_its_own(app, world, patron, me, done_goal):
    goal_id = done_goal()
    assert _endorse(patron, world, goal_id, "   ").status_code == 303
    assert _endorsements(app) == [(goal_id, world["patron"], "")]
    text = _plain(_page(me, _own_goal_path(world, goal_id)))
    assert "Endorsed by Pat Patron" in text
    assert "Endorsed by Pat Patron —" not in text
    [(_, title, body, _, _)] = _notifications(app, world["participant"])
    assert (title, body) == (f"Pat Patron endorsed your goal: {TITLE}", "")


@pytest.mark.parametrize("comment", [
    "Brilliant 🎉 — très bien! 你好 👍🏽",
    "<script>alert('x')</script> & <b>bold</b>",
    "x" * COMMENT_MAX,
])
def test_unicode_markup_and_the_longest_comment_are_kept_as_typed(
        app, world, patron, me, done_goal, comment):
    goal_id = done_goal()
    assert _endorse(patron, world, goal_id, comment).status_code == 303
    assert _endorsements(app) == [(goal_id, world["patron"], comment)]
    page = _page(me, _own_goal_path(world, goal_id))
    assert f"Endorsed by Pat Patron — “{comment}”" in _plain(page)
    assert "<script>alert" not in page


def test_browser_line_ends_count_as_one_character(app, world, patron, done_goal):
    goal_id = done_goal()
    comment = "a" * 139 + "\r\n" + "b" * 140  # 281 characters sent, 280 as typed
    assert _endorse(patron, world, goal_id, comment).status_code == 303
    assert _endorsements(app) == [(goal_id, world["patron"], "a" * 139 + "\n" + "b" * 140)]


@pytest.mark.parametrize("length", [COMMENT_MAX + 1, 10_000])
def test_a_too_long_comment_is_a_400_and_changes_nothing(app, world, patron, done_goal, length):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Keep this")
    response = _endorse(patron, world, goal_id, "y" * length)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"Use at most {COMMENT_MAX} characters (this has {length})." in page
    assert 'aria-invalid="true"' in page
    assert _endorsements(app) == [(goal_id, world["patron"], "Keep this")]
    assert len(_notifications(app, world["participant"])) == 1


def test_a_too_long_first_comment_stores_nothing_and_tells_nobody(app, world, patron, done_goal):
    goal_id = done_goal()
    assert _endorse(patron, world, goal_id, "z" * (COMMENT_MAX + 1)).status_code == 400
    assert _endorsements(app) == []
    assert _notifications(app, world["participant"]) == []
    assert _outbox(app) == []


def test_a_goal_not_done_is_a_400_with_a_message(app, world, patron, facilitator, done_goal):
    goal_id = done_goal(done=False)
    page = _page(patron, _goal_path(world, goal_id))
    assert "Endorse this goal" not in page
    for client in (patron, facilitator):
        response = _endorse(client, world, goal_id, "Too soon")
        assert response.status_code == 400
        assert "Only a finished goal can be endorsed" in response.get_data(as_text=True)
    assert _endorsements(app) == []
    assert _notifications(app, world["participant"]) == []


def test_a_goal_started_again_keeps_its_endorsements_which_can_be_withdrawn_not_edited(
        app, world, patron, me, done_goal):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Well done")
    with app.app_context():
        services.set_status(db.session.get(PlanGoal, goal_id), status=GoalStatus.ACTIVE,
                            reason="")
        db.session.commit()
    assert "Endorsed by Pat Patron — “Well done”" in _plain(_page(me, _own_goal_path(world, goal_id)))
    assert _endorse(patron, world, goal_id, "Edited").status_code == 400
    assert _endorsements(app) == [(goal_id, world["patron"], "Well done")]
    assert _withdraw(patron, world, goal_id).status_code == 303
    assert _endorsements(app) == []


# --- who may endorse which goal -------------------------------------------------------------------


def test_the_participant_cannot_endorse_their_own_goal(app, world, me, done_goal):
    goal_id = done_goal()
    page = _page(me, _own_goal_path(world, goal_id))
    assert "Endorse this goal" not in page
    assert "No endorsements yet." in page
    assert _endorse(me, world, goal_id).status_code == 404
    assert post_form(me, _own_goal_path(world, goal_id) + "/endorsement",
                     {"endorse-comment": "Me!"}).status_code == 404
    assert _withdraw(me, world, goal_id).status_code == 404
    assert _endorsements(app) == []


def test_a_patron_not_linked_to_the_participant_gets_404(app, world, login_as, done_goal):
    goal_id = done_goal()
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        other = factories.make_user(name="Nina Notlinked")
        factories.add_member(cohort, other, CohortRole.PATRON)
        db.session.commit()
        other_id = other.id
    client = _signed_in(app, login_as, other_id)
    assert _endorse(client, world, goal_id).status_code == 404
    assert _withdraw(client, world, goal_id).status_code == 404
    assert _endorsements(app) == []


@pytest.mark.parametrize("role", ["outsider", "admin"])
def test_outsiders_get_404_and_admins_may_endorse(app, world, role_client, done_goal, role):
    goal_id = done_goal()
    response = _endorse(role_client(role), world, goal_id)
    assert response.status_code == (404 if role == "outsider" else 303)


def test_an_ended_patron_link_is_a_404_and_the_endorsement_stays(app, world, patron, me,
                                                                  done_goal):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Before the link ended")
    with app.app_context():
        from dap.clock import now_utc

        db.session.get(PatronLink, world["patron_link"]).ended_at = now_utc()
        db.session.commit()
    assert _endorse(patron, world, goal_id, "After").status_code == 404
    assert _withdraw(patron, world, goal_id).status_code == 404
    assert _endorsements(app) == [(goal_id, world["patron"], "Before the link ended")]
    assert "Endorsed by Pat Patron — “Before the link ended”" in _plain(
        _page(me, _own_goal_path(world, goal_id)))


def test_an_only_me_goal_is_a_404_for_a_patron(app, world, patron, done_goal):
    goal_id = done_goal("Secret diary", visibility=Visibility.PRIVATE)
    assert _endorse(patron, world, goal_id, "Peek").status_code == 404
    assert _withdraw(patron, world, goal_id).status_code == 404
    assert _endorsements(app) == []
    assert _notifications(app, world["participant"]) == []
    # made private after the patron endorsed it: gone from their view, 404 to change it
    shared = done_goal("Shared at first")
    _endorse(patron, world, shared, "Seen it")
    with app.app_context():
        db.session.get(PlanGoal, shared).visibility = Visibility.PRIVATE
        db.session.commit()
    assert _endorse(patron, world, shared, "Changed").status_code == 404
    assert "Seen it" not in _page(patron, _plan_path(world))


def test_another_plans_or_cohorts_goal_and_unknown_ids_are_404(app, world, patron, done_goal):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        pat = db.session.get(User, world["patron"])
        # Bea, whom Pat also looks out for, in the same cohort
        bea = factories.make_user(name="Bea Other")
        bea_membership = factories.add_member(cohort, bea, CohortRole.PARTICIPANT)
        factories.link_patron(cohort, pat, bea)
        # Cal, whom Pat looks out for in another cohort
        second = factories.make_cohort(cohort.organisation, name="Second cohort")
        cal = factories.make_user(name="Cal Elsewhere")
        cal_membership = factories.add_member(second, cal, CohortRole.PARTICIPANT)
        factories.add_member(second, pat, CohortRole.PATRON)
        factories.link_patron(second, pat, cal)
        db.session.commit()
        ids = {"bea": bea.id, "bea_membership": bea_membership.id, "cal": cal.id,
               "cal_membership": cal_membership.id, "second": second.id}
    bea_goal = _goal(app, ids["bea"], world["cohort"], "Bea's goal")
    cal_goal = _goal(app, ids["cal"], ids["second"], "Cal's goal")
    # each is fine at its own address…
    assert _endorse(patron, world, bea_goal, membership_id=ids["bea_membership"]).status_code == 303
    assert _endorse(patron, world, cal_goal, membership_id=ids["cal_membership"],
                    cohort_id=ids["second"]).status_code == 303
    # …and a 404 at anyone else's plan, or in another cohort's address
    assert _endorse(patron, world, bea_goal).status_code == 404
    assert _endorse(patron, world, cal_goal).status_code == 404
    assert _endorse(patron, world, cal_goal, membership_id=ids["cal_membership"]).status_code == 404
    assert _endorse(patron, world, bea_goal, membership_id=ids["bea_membership"],
                    cohort_id=ids["second"]).status_code == 404
    assert _endorse(patron, world, 999_999).status_code == 404
    assert _withdraw(patron, world, 999_999).status_code == 404
    assert len(_endorsements(app)) == 2


@pytest.mark.parametrize("goal_id", ["abc", "-1", "0", "1.5", "99999999999999999999", "%20"])
def test_ids_that_are_not_goal_ids_are_404(app, world, patron, goal_id):
    assert _endorse(patron, world, goal_id).status_code == 404
    assert post_form(patron, f"/cohorts/abc/people/{world['participant_membership']}/plan"
                             f"/goals/1/endorsement").status_code == 404
    assert post_form(patron, f"/cohorts/{world['cohort']}/people/x/plan/goals/1/endorsement"
                     ).status_code == 404


def test_endorsing_without_a_csrf_token_is_a_400(app, world, patron, done_goal):
    goal_id = done_goal()
    response = patron.post(_goal_path(world, goal_id) + "/endorsement",
                           data={"endorse-comment": "No token"})
    assert response.status_code == 400
    _endorse(patron, world, goal_id, "With a token")
    assert patron.post(_goal_path(world, goal_id) + "/endorsement/withdraw").status_code == 400
    assert _endorsements(app) == [(goal_id, world["patron"], "With a token")]


def test_get_is_not_allowed_on_the_endorsement_addresses(world, patron, done_goal):
    goal_id = done_goal()
    assert patron.get(_goal_path(world, goal_id) + "/endorsement").status_code == 405
    assert patron.get(_goal_path(world, goal_id) + "/endorsement/withdraw").status_code == 405


def test_an_archived_cohort_refuses_endorsing_and_withdrawing(app, world, patron, me, done_goal):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Before the archive")
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    page = _page(patron, _goal_path(world, goal_id))
    assert "Endorsed by Pat Patron — “Before the archive”" in _plain(page)
    assert "Save my endorsement" not in page
    assert "Withdraw my endorsement" not in page
    for response in (_endorse(patron, world, goal_id, "After"), _withdraw(patron, world, goal_id)):
        assert response.status_code == 403
        assert "This cohort is archived: its plans are read-only." in response.get_data(
            as_text=True)
    assert _endorsements(app) == [(goal_id, world["patron"], "Before the archive")]
    # the patron home lists the goal without an action
    home = _page(patron, "/patron")
    assert TITLE in home
    assert "#endorse" not in home


def test_a_managed_participant_is_told_in_the_app_only(app, world, facilitator):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        sam = db.session.get(User, world["facilitator"])
        membership = people.create_managed_participant(cohort=cohort, actor=sam,
                                                       name="Morag Managed", team=None)
        plan = services.plan_for(cohort, membership.user)
        goal = services.write_goal(plan, actor=sam, title="Send an email")
        services.complete_goal(goal, actor=sam, reflection="Sent one to her son.", evidence=[])
        db.session.commit()
        ids = {"membership": membership.id, "user": membership.user_id, "goal": goal.id}
    response = _endorse(facilitator, world, ids["goal"], "Lovely", membership_id=ids["membership"])
    assert response.status_code == 303
    assert [n[1] for n in _notifications(app, ids["user"])] == [
        "Sam Facilitator endorsed your goal: Send an email"]
    assert _outbox(app) == []


# --- pages: plan, goal, print, patron home --------------------------------------------------------


def test_the_printed_plan_shows_endorsements(app, world, patron, me, facilitator, done_goal):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Well done")
    own = _plain(_page(me, f"/cohorts/{world['cohort']}/plan/print"))
    assert "Endorsed by Pat Patron — “Well done”" in own
    cohort = _plain(_page(facilitator, f"/cohorts/{world['cohort']}/plans/print"))
    assert "Endorsed by Pat Patron — “Well done”" in cohort


def test_plan_pages_take_the_same_queries_for_few_or_many_endorsed_goals(
        app, world, patron, me, facilitator, done_goal):
    def add(n: int) -> None:
        for i in range(n):
            goal_id = done_goal(f"Goal {i} {n}")
            _endorse(patron, world, goal_id, f"Patron on {i}")
            _endorse(facilitator, world, goal_id, f"Facilitator on {i}")

    def count(client, path: str) -> int:
        client.get(path)  # warm: anything a first request loads once
        with counting_queries(app) as statements:
            page = client.get(path).get_data(as_text=True)
        assert "Endorsed by Pat Patron" in _plain(page) or "endorsed</span>" in page
        return len(statements)

    pages = [(me, f"/cohorts/{world['cohort']}/plan"), (patron, _plan_path(world)),
             (facilitator, _plan_path(world)),
             (facilitator, f"/cohorts/{world['cohort']}/plans/print"), (patron, "/patron")]
    add(2)
    few = [count(client, path) for client, path in pages]
    add(8)
    many = [count(client, path) for client, path in pages]
    assert few == many


def test_the_patron_home_offers_endorse_next_to_done_goals(app, world, patron, done_goal):
    done_goal("Still going", done=False)
    done_goal("Secret finished", visibility=Visibility.PRIVATE)
    first = done_goal("First finished")
    second = done_goal("Second finished")
    home = _page(patron, "/patron")
    assert "Secret finished" not in home
    assert "Still going" not in home  # counted as active, not listed
    for goal_id in (first, second):
        assert f'href="{_goal_path(world, goal_id)}#endorse">Endorse' in home
    _endorse(patron, world, first, "Great")
    home = _page(patron, "/patron")
    card = home[home.index(">First finished</a>"):]
    card = card[:card.index("</li>")]
    assert "endorsed" in card
    assert f'href="{_goal_path(world, first)}#endorse">Edit' in card
    assert f'href="{_goal_path(world, second)}#endorse">Endorse' in home
    # the goal page the action leads to has the form where the anchor points
    assert 'id="endorse"' in _page(patron, _goal_path(world, second))


def test_the_patron_home_lists_the_three_newest_finished_goals(app, world, patron, done_goal):
    for n in range(5):
        done_goal(f"Finished number {n}")
    home = _plain(_page(patron, "/patron"))
    assert "0 active · 5 done" in home
    assert [n for n in range(5) if f"Finished number {n}" in home] == [2, 3, 4]
    assert "2 more finished on their plan." in home


# --- the data export and deleting an account ------------------------------------------------------


def test_the_export_holds_endorsements_given_and_received(app, world, patron, facilitator, me,
                                                          done_goal, role_client):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Well done")
    _endorse(facilitator, world, goal_id, "=HYPERLINK(\"http://evil.example\")")

    document, tables = read_export(me.get("/account/export").data)
    assert [(e["direction"], e["participant"], e["goal"], e["endorsed_by"], e["comment"])
            for e in document["goal_endorsements"]] == [
        ("to you", "Alex Participant", TITLE, "Pat Patron", "Well done"),
        ("to you", "Alex Participant", TITLE, "Sam Facilitator",
         "=HYPERLINK(\"http://evil.example\")")]
    assert tables["goal_endorsements"][1]["comment"].startswith("'=")
    assert document["goal_endorsements"][0]["created_at"]

    theirs, _ = read_export(patron.get("/account/export").data)
    assert [(e["direction"], e["participant"], e["goal"], e["comment"])
            for e in theirs["goal_endorsements"]] == [
        ("by you", "Alex Participant", TITLE, "Well done")]
    # a goal made "only me" since is not named to the patron
    with app.app_context():
        db.session.get(PlanGoal, goal_id).visibility = Visibility.PRIVATE
        db.session.commit()
    theirs, _ = read_export(patron.get("/account/export").data)
    assert theirs["goal_endorsements"][0]["goal"] == "a goal"
    # nobody else's
    others, _ = read_export(role_client("outsider").get("/account/export").data)
    assert others["goal_endorsements"] == []


def test_deleting_the_author_erases_their_comment_and_keeps_the_endorsement(
        app, world, patron, facilitator, me, done_goal):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Pat's words")
    _endorse(facilitator, world, goal_id, "Sam's words")
    response = post_form(patron, "/account/delete", {"password": factories.PASSWORD})
    assert response.status_code == 302
    assert _endorsements(app) == [(goal_id, world["patron"], ""),
                                  (goal_id, world["facilitator"], "Sam's words")]
    text = _plain(_page(me, _own_goal_path(world, goal_id)))
    assert "Endorsed by Deleted user" in text
    assert "Pat's words" not in text
    assert "Endorsed by Sam Facilitator — “Sam's words”" in text


def test_deleting_the_participant_keeps_what_others_said(app, world, patron, me, done_goal):
    goal_id = done_goal()
    _endorse(patron, world, goal_id, "Pat's words")
    assert post_form(me, "/account/delete", {"password": factories.PASSWORD}).status_code == 302
    assert _endorsements(app) == [(goal_id, world["patron"], "Pat's words")]
