"""Taking the skills baseline through the pages a participant uses: the invitation, one page
per area saved as you go, the open questions, sending, checkpoints opening and closing,
sharing with patrons, and every bad input the pages can be sent."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.baseline.models import Answer, Assessment, Checkpoint, CheckpointKind, Rating
from dap.cohorts.models import CohortRole, Membership
from dap.content.baseline import current_baseline
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from tests import factories
from tests.conftest import post_form


@pytest.fixture
def questionnaire(app):
    with app.app_context():
        baseline = current_baseline()
        assert baseline.is_available, baseline.problems
        return baseline


@pytest.fixture
def checkpoint_id(app, world):
    """The cohort's baseline checkpoint (made on first need)."""
    from dap.baseline.services import ensure_baseline_checkpoint
    from dap.cohorts.models import Cohort

    with app.app_context():
        cp = ensure_baseline_checkpoint(db.session.get(Cohort, world["cohort"]))
        db.session.commit()
        return cp.id


def area_path(world, checkpoint_id, slug, membership_id=None):
    who = f"people/{membership_id}/" if membership_id else ""
    return f"/cohorts/{world['cohort']}/{who}baseline/{checkpoint_id}/areas/{slug}"


def rate_all(client, world, checkpoint_id, baseline, value="3", skip=()):
    for slug, area in baseline.areas.items():
        data = {f"rating-{s.id}": value for s in area.statements if s.id not in skip}
        response = post_form(client, area_path(world, checkpoint_id, slug), data)
        assert response.status_code == 302, response.get_data(as_text=True)[:400]


def stored_ratings(app, world) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(Rating.statement_id, Rating.value).join(Assessment)
            .where(Assessment.user_id == world["participant"])).all()
        return dict(rows)


def submit_path(world, checkpoint_id):
    return f"/cohorts/{world['cohort']}/baseline/{checkpoint_id}/submit"


# --- the invitation ----------------------------------------------------------------------------


def test_invited_on_first_arrival_and_not_now_is_remembered(app, world, role_client):
    client = role_client("participant")
    plan = client.get(f"/cohorts/{world['cohort']}/plan").get_data(as_text=True)
    assert "Start with your skills baseline" in plan
    response = post_form(client, f"/cohorts/{world['cohort']}/baseline/skip")
    assert response.status_code == 302
    plan = client.get(f"/cohorts/{world['cohort']}/plan").get_data(as_text=True)
    assert "Start with your skills baseline" not in plan
    assert "My skills" in plan  # still reachable from the plan page
    with app.app_context():
        membership = db.session.get(Membership, world["participant_membership"])
        assert membership.baseline_skipped_at is not None


def test_invitation_gone_once_begun(app, world, role_client, checkpoint_id, questionnaire):
    client = role_client("participant")
    slug = next(iter(questionnaire.areas))
    statement = questionnaire.areas[slug].statements[0]
    post_form(client, area_path(world, checkpoint_id, slug), {f"rating-{statement.id}": "2"})
    plan = client.get(f"/cohorts/{world['cohort']}/plan").get_data(as_text=True)
    assert "Start with your skills baseline" not in plan
    assert "Carry on" in plan


def test_skip_needs_csrf_and_a_participant(world, role_client):
    client = role_client("participant")
    assert client.post(f"/cohorts/{world['cohort']}/baseline/skip").status_code == 400
    assert post_form(role_client("patron"),
                     f"/cohorts/{world['cohort']}/baseline/skip").status_code == 404


# --- taking it page by page ----------------------------------------------------------------------


def test_the_whole_baseline_saved_page_by_page_then_sent(app, world, role_client, checkpoint_id,
                                                         questionnaire):
    client = role_client("participant")
    slugs = list(questionnaire.areas)
    start = client.get(f"/cohorts/{world['cohort']}/baseline/{checkpoint_id}")
    assert start.status_code == 302
    assert start.location.endswith(f"/areas/{slugs[0]}")
    page = html.unescape(client.get(start.location).get_data(as_text=True))
    assert f"page 1 of {len(slugs) + 1}" in page
    for statement in questionnaire.areas[slugs[0]].statements:
        assert statement.text in page
    # the first page, then "finish later"
    first = {f"rating-{s.id}": "2" for s in questionnaire.areas[slugs[0]].statements}
    later = post_form(client, area_path(world, checkpoint_id, slugs[0]), {**first, "go": "later"})
    assert later.status_code == 302
    assert later.location.endswith("/baseline")
    # coming back goes on where it stopped
    again = client.get(f"/cohorts/{world['cohort']}/baseline/{checkpoint_id}")
    assert again.location.endswith(f"/areas/{slugs[1]}")
    # "save and continue" leads to the next area; the last area leads to the questions
    nxt = post_form(client, area_path(world, checkpoint_id, slugs[1]),
                    {f"rating-{s.id}": "4" for s in questionnaire.areas[slugs[1]].statements})
    assert nxt.location.endswith(f"/areas/{slugs[2]}")
    rate_all(client, world, checkpoint_id, questionnaire, value="3")
    assert len(stored_ratings(app, world)) == len(questionnaire.statements)
    questions = post_form(client, f"/cohorts/{world['cohort']}/baseline/{checkpoint_id}/questions", {
        "answer-needs": "Confidence with our Facebook page — and time to practise 🙂",
        "choice-barriers": ["time", "it-restrictions"],
        "answer-barriers": "YouTube is blocked on our laptops",
    })
    assert questions.status_code == 302
    assert questions.location.endswith("/review")
    review = client.get(questions.location).get_data(as_text=True)
    assert "Send my answers" in review
    sent = post_form(client, submit_path(world, checkpoint_id))
    assert sent.status_code == 302
    with app.app_context():
        assessment = db.session.scalars(select(Assessment)).one()
        assert assessment.submitted_at is not None
        assert assessment.recorded_by_id is None
        answers = {a.question_id: a for a in db.session.scalars(select(Answer))}
        assert answers["barriers"].choices == "time it-restrictions"
        assert answers["needs"].text.endswith("🙂")
    overview = client.get(f"/cohorts/{world['cohort']}/baseline").get_data(as_text=True)
    assert '<svg class="skills-chart-svg"' in overview
    assert "<table>" in overview
    assert "3.0" in overview


def test_partial_save_keeps_what_is_left_out(app, world, role_client, checkpoint_id, questionnaire):
    client = role_client("participant")
    slug, area = next(iter(questionnaire.areas.items()))
    a, b = area.statements[0].id, area.statements[1].id
    post_form(client, area_path(world, checkpoint_id, slug), {f"rating-{a}": "2", f"rating-{b}": "5"})
    post_form(client, area_path(world, checkpoint_id, slug), {f"rating-{a}": "4"})
    assert stored_ratings(app, world) == {a: 4, b: 5}
    page = client.get(area_path(world, checkpoint_id, slug)).get_data(as_text=True)
    assert re.search(rf'name="rating-{re.escape(b)}" id="[^"]+" value="5"[^>]* checked', page)


def test_sending_incomplete_is_explained_and_keeps_the_answers(app, world, role_client,
                                                                checkpoint_id, questionnaire):
    client = role_client("participant")
    last_area = list(questionnaire.areas.values())[-1]
    missing = last_area.statements[0].id
    rate_all(client, world, checkpoint_id, questionnaire, skip={missing})
    response = post_form(client, submit_path(world, checkpoint_id))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "not rated yet" in text
    assert f"{last_area.name} (1 of {len(last_area.statements)})" in text
    assert len(stored_ratings(app, world)) == len(questionnaire.statements) - 1
    with app.app_context():
        assert db.session.scalars(select(Assessment)).one().submitted_at is None
    # nothing at all yet: also explained
    other = role_client("facilitator")
    assert post_form(other, submit_path(world, checkpoint_id)).status_code == 404


@pytest.mark.parametrize("value", ["0", "6", "-1", "2.5", "three", "1e1", "٣", "9" * 5000, " "])
def test_ratings_off_the_scale_are_refused_and_nothing_is_lost(app, world, role_client,
                                                                checkpoint_id, questionnaire, value):
    client = role_client("participant")
    slug, area = next(iter(questionnaire.areas.items()))
    first, second = area.statements[0].id, area.statements[1].id
    post_form(client, area_path(world, checkpoint_id, slug), {f"rating-{first}": "2"})
    response = post_form(client, area_path(world, checkpoint_id, slug),
                         {f"rating-{first}": "5", f"rating-{second}": value})
    if value == " ":  # blank is "not answered", which is fine
        assert response.status_code == 302
        assert stored_ratings(app, world) == {first: 5}
        return
    assert response.status_code == 400
    assert "Choose one of the five points" in response.get_data(as_text=True)
    assert stored_ratings(app, world) == {first: 2}  # the page's other rating was not half-saved


def test_a_statement_of_another_area_or_an_unknown_area_is_refused(app, world, role_client,
                                                                   checkpoint_id, questionnaire):
    client = role_client("participant")
    slugs = list(questionnaire.areas)
    other = questionnaire.areas[slugs[1]].statements[0].id
    response = post_form(client, area_path(world, checkpoint_id, slugs[0]), {f"rating-{other}": "3"})
    assert response.status_code == 400
    assert stored_ratings(app, world) == {}
    assert client.get(area_path(world, checkpoint_id, "no-such-area")).status_code == 404
    assert post_form(client, area_path(world, checkpoint_id, "no-such-area"), {}).status_code == 404


def test_missing_csrf_token_is_refused(app, world, role_client, checkpoint_id, questionnaire):
    client = role_client("participant")
    slug, area = next(iter(questionnaire.areas.items()))
    response = client.post(area_path(world, checkpoint_id, slug),
                           data={f"rating-{area.statements[0].id}": "3"})
    assert response.status_code == 400
    assert stored_ratings(app, world) == {}


@pytest.mark.parametrize(("data", "message"), [
    ({"choice-barriers": ["time", "made-up"]}, "Choose from the options shown"),
    ({"answer-needs": "x" * 2001}, "at most 2000 characters"),
    ({"answer-barriers": "y" * 100_000, "choice-barriers": ["other"]}, "at most 2000 characters"),
])
def test_bad_answers_to_the_questions(app, world, role_client, checkpoint_id, data, message):
    client = role_client("participant")
    path = f"/cohorts/{world['cohort']}/baseline/{checkpoint_id}/questions"
    assert post_form(client, path, {"answer-needs": "kept"}).status_code == 302
    response = post_form(client, path, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Answer.text).where(Answer.question_id == "needs")).one() == "kept"


def test_only_one_choice_where_one_is_asked(app, world):
    from dap.baseline import services
    from dap.content.baseline import Baseline, Choice, Question
    from dap.errors import DomainError

    question = Question(id="how", kind="choices", text="How?",
                        choices=(Choice("a", "A"), Choice("b", "B")))
    with app.app_context():
        baseline = Baseline(questions={"how": question})
        assessment = Assessment(id=1)
        assessment.checkpoint = Checkpoint(kind=CheckpointKind.BASELINE)
        with pytest.raises(DomainError, match="Choose one option"):
            services.save_answers(assessment, baseline, {"how": ("", ["a", "b"])})


# --- checkpoints -------------------------------------------------------------------------------


def open_checkpoint(client, world, kind="midpoint", closes_on=""):
    return post_form(client, f"/cohorts/{world['cohort']}/baseline/checkpoints",
                     {"kind": kind, "closes_on": closes_on})


def test_facilitator_opens_a_checkpoint_and_participants_are_told(app, world, role_client,
                                                                   checkpoint_id):
    facilitator = role_client("facilitator")
    response = open_checkpoint(facilitator, world, closes_on="2099-01-31")
    assert response.status_code == 400  # more than a year ahead
    response = open_checkpoint(facilitator, world, closes_on="2000-01-31")
    assert response.status_code == 400
    assert "in the future" in response.get_data(as_text=True)
    response = open_checkpoint(facilitator, world, kind="baseline")
    assert response.status_code == 400
    response = open_checkpoint(facilitator, world, closes_on="not a date")
    assert response.status_code == 400
    day = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    assert open_checkpoint(facilitator, world, closes_on=day).status_code == 302
    again = open_checkpoint(facilitator, world)
    assert again.status_code == 400
    assert "already" in again.get_data(as_text=True)
    with app.app_context():
        told = db.session.scalars(select(Notification).where(
            Notification.kind == NotificationKind.CHECKPOINT_OPENED)).all()
        assert [n.user_id for n in told] == [world["participant"]]  # not the patron
        mid = db.session.scalars(select(Checkpoint).where(
            Checkpoint.kind == CheckpointKind.MIDPOINT)).one()
        assert mid.closes_at is not None
    plan = role_client("participant").get(f"/cohorts/{world['cohort']}/plan").get_data(as_text=True)
    assert "Mid-point checkpoint</strong> is open" in plan


def test_answering_a_closed_checkpoint_is_refused_and_keeps_the_answers(
        app, world, role_client, checkpoint_id, questionnaire):
    client = role_client("participant")
    slug, area = next(iter(questionnaire.areas.items()))
    post_form(client, area_path(world, checkpoint_id, slug), {f"rating-{area.statements[0].id}": "2"})
    facilitator = role_client("facilitator")
    close = f"/cohorts/{world['cohort']}/baseline/checkpoints/{checkpoint_id}/close"
    assert post_form(facilitator, close).status_code == 302
    assert post_form(facilitator, close).status_code == 409  # already closed
    response = post_form(client, area_path(world, checkpoint_id, slug),
                         {f"rating-{area.statements[0].id}": "5"})
    assert response.status_code == 409
    assert "has closed" in response.get_data(as_text=True)
    assert stored_ratings(app, world) == {area.statements[0].id: 2}
    questions = post_form(client, f"/cohorts/{world['cohort']}/baseline/{checkpoint_id}/questions",
                          {"answer-needs": "late"})
    assert questions.status_code == 409
    assert post_form(client, submit_path(world, checkpoint_id)).status_code == 409
    page = client.get(area_path(world, checkpoint_id, slug)).get_data(as_text=True)
    assert "can no longer be changed" in page
    assert "disabled" in page
    reopen = f"/cohorts/{world['cohort']}/baseline/checkpoints/{checkpoint_id}/reopen"
    assert post_form(facilitator, reopen, {"closes_on": "yesterday"}).status_code == 400
    assert post_form(facilitator, reopen).status_code == 302
    assert post_form(client, area_path(world, checkpoint_id, slug),
                     {f"rating-{area.statements[0].id}": "5"}).status_code == 302


def test_a_checkpoint_past_its_closing_time_is_closed(app, world, role_client, checkpoint_id,
                                                       questionnaire, frozen):
    with app.app_context():
        cp = db.session.get(Checkpoint, checkpoint_id)
        cp.closes_at = datetime.now(UTC) + timedelta(hours=2)
        db.session.commit()
    client = role_client("participant")
    slug, area = next(iter(questionnaire.areas.items()))
    frozen(datetime.now(UTC) + timedelta(hours=3))
    response = post_form(client, area_path(world, checkpoint_id, slug),
                         {f"rating-{area.statements[0].id}": "2"})
    assert response.status_code == 409
    assert stored_ratings(app, world) == {}


# --- whose assessment ------------------------------------------------------------------------------


def test_other_peoples_baseline_is_not_found(app, world, role_client, checkpoint_id, questionnaire):
    with app.app_context():
        from dap.cohorts.models import Cohort

        cohort = db.session.get(Cohort, world["cohort"])
        other = factories.make_user(name="Other Participant")
        other_membership = factories.add_member(cohort, other, CohortRole.PARTICIPANT)
        elsewhere = factories.make_cohort()
        factories.add_member(elsewhere, db.session.get(factories.User, world["participant"]),
                             CohortRole.PARTICIPANT)
        from dap.baseline.services import ensure_baseline_checkpoint

        foreign_cp = ensure_baseline_checkpoint(elsewhere).id
        db.session.commit()
        other_id = other_membership.id
    client = role_client("participant")
    slug = next(iter(questionnaire.areas))
    base = f"/cohorts/{world['cohort']}/people/{other_id}/baseline"
    assert client.get(base).status_code == 404
    assert post_form(client, f"{base}/{checkpoint_id}/areas/{slug}", {}).status_code == 404
    # a checkpoint of another cohort through this cohort's address
    assert client.get(area_path(world, foreign_cp, slug)).status_code == 404
    assert client.get(f"/cohorts/{world['cohort']}/baseline/999999").status_code == 404
    # people outside the cohort
    assert role_client("outsider").get(f"/cohorts/{world['cohort']}/baseline").status_code == 404


def test_patrons_see_the_summary_only_while_it_is_shared(app, world, role_client, checkpoint_id,
                                                         questionnaire):
    participant = role_client("participant")
    rate_all(participant, world, checkpoint_id, questionnaire, value="2")
    post_form(participant, f"/cohorts/{world['cohort']}/baseline/{checkpoint_id}/questions",
              {"answer-needs": "A private wish about my manager"})
    post_form(participant, submit_path(world, checkpoint_id))
    patron = role_client("patron")
    theirs = f"/cohorts/{world['cohort']}/people/{world['participant_membership']}/baseline"
    page = patron.get(theirs)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "skills-chart-svg" in text
    assert "private wish" not in text
    # a patron reads, never answers
    slug = next(iter(questionnaire.areas))
    assert post_form(patron, f"{theirs}/{checkpoint_id}/areas/{slug}", {}).status_code == 403
    assert post_form(participant, f"/cohorts/{world['cohort']}/baseline/sharing",
                     {"shared": "no"}).status_code == 302
    assert patron.get(theirs).status_code == 404
    plan = patron.get(f"/cohorts/{world['cohort']}/people/{world['participant_membership']}/plan")
    assert "/baseline" not in plan.get_data(as_text=True)
    assert post_form(participant, f"/cohorts/{world['cohort']}/baseline/sharing",
                     {"shared": "yes"}).status_code == 302
    assert patron.get(theirs).status_code == 200
    # the facilitator sees it either way, and may not answer for someone with an account
    facilitator = role_client("facilitator")
    assert facilitator.get(theirs).status_code == 200
    assert post_form(facilitator, f"{theirs}/{checkpoint_id}/areas/{slug}", {}).status_code == 403


def test_facilitator_records_for_a_managed_participant(app, world, role_client, checkpoint_id,
                                                       questionnaire):
    with app.app_context():
        from dap.cohorts.models import Cohort

        cohort = db.session.get(Cohort, world["cohort"])
        managed = factories.make_user(name="Mo Managed", is_managed=True)
        membership = factories.add_member(cohort, managed, CohortRole.PARTICIPANT)
        db.session.commit()
        membership_id, managed_id = membership.id, managed.id
    facilitator = role_client("facilitator")
    slug, area = next(iter(questionnaire.areas.items()))
    path = area_path(world, checkpoint_id, slug, membership_id)
    assert "answering for Mo Managed" in facilitator.get(path).get_data(as_text=True)
    response = post_form(facilitator, path, {f"rating-{area.statements[0].id}": "1"})
    assert response.status_code == 302
    with app.app_context():
        assessment = db.session.scalars(select(Assessment)).one()
        assert assessment.user_id == managed_id
        assert assessment.recorded_by_id == world["facilitator"]


def test_suggested_goals_are_for_the_weakest_areas(app, world, role_client, checkpoint_id,
                                                   questionnaire):
    client = role_client("participant")
    slugs = list(questionnaire.areas)
    rate_all(client, world, checkpoint_id, questionnaire, value="4")
    weakest = slugs[3]
    post_form(client, area_path(world, checkpoint_id, weakest),
              {f"rating-{s.id}": "1" for s in questionnaire.areas[weakest].statements})
    post_form(client, submit_path(world, checkpoint_id))
    page = client.get(f"/cohorts/{world['cohort']}/baseline").get_data(as_text=True)
    section = page.split('id="suggested-heading"')[1].split("</section>")[0]
    assert questionnaire.areas[weakest].name in section
    assert section.count("<h3>") == 1  # only one area is below "confident"
    assert "/library/" in section


def test_unavailable_questionnaire_is_a_clear_503(app, world, role_client, monkeypatch):
    from dap.baseline import views
    from dap.content.baseline import Baseline

    monkeypatch.setattr(views, "current_baseline",
                        lambda: Baseline(problems=[("baseline.md", "broken")]))
    response = role_client("participant").get(f"/cohorts/{world['cohort']}/baseline")
    assert response.status_code == 503
    assert "not available" in response.get_data(as_text=True)


def test_two_starts_at_once_make_one_assessment(app, world, checkpoint_id):
    from dap.accounts.models import User
    from dap.baseline import services

    with app.app_context():
        cp = db.session.get(Checkpoint, checkpoint_id)
        person = db.session.get(User, world["participant"])
        first = services.start(cp, person, actor=person)
        second = services.start(cp, person, actor=person)
        db.session.commit()
        assert first.id == second.id
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_a_checkpoint_opened_twice_at_once_is_opened_once(app, world, monkeypatch):
    """The second of two facilitators opening the same checkpoint at the same moment (its
    check passed before the first one's row existed) is told, not shown an error page."""
    from dap.accounts.models import User
    from dap.baseline import services
    from dap.cohorts.models import Cohort
    from dap.errors import DomainError

    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        actor = db.session.get(User, world["facilitator"])
        db.session.add(Checkpoint(cohort_id=cohort.id, kind=CheckpointKind.MIDPOINT))
        db.session.flush()
        real = services.checkpoints_of
        # the first one's row not yet seen by the second's check
        monkeypatch.setattr(services, "checkpoints_of", lambda c: [real(c)[0]])
        with pytest.raises(DomainError, match="a moment ago"):
            services.open_checkpoint(cohort, CheckpointKind.MIDPOINT, actor=actor)
        assert db.session.scalar(select(func.count()).select_from(Checkpoint).where(
            Checkpoint.kind == CheckpointKind.MIDPOINT)) == 1
