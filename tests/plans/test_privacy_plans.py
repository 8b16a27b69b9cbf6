"""Plans in "Download my data" and "Delete my account": a person's plans, goals, check-ins,
reviews, comments and suggestions are in their export (and nobody else's private plan data
is); deleting the account erases the words they wrote and keeps the numbers."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.accounts.privacy import COLLECTIONS, export_user_data
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole
from dap.content.library import current_library
from dap.extensions import db
from dap.plans import endorsements, review, services
from dap.plans import privacy as plan_privacy
from dap.plans.models import (
    CheckIn,
    GoalEndorsement,
    GoalStatus,
    GoalSuggestion,
    Plan,
    PlanComment,
    PlanGoal,
    PlanReview,
    ReviewStatus,
    SuggestionStatus,
    Visibility,
)
from dap.plans.privacy import NAMES
from tests import factories
from tests.accounts.test_privacy import counting_queries, read_export
from tests.conftest import post_form, sign_in

BASE = "https://dap.example"
FORMULA = "=HYPERLINK(\"http://evil.example\")"

#: words the world's participant (Alex) wrote in their plan
ALEX_WORDS = ("Run a poll on our intranet", "My team keeps asking what people think",
              "Ran it with 40 answers", "https://intranet.example/poll", "Too much for now",
              "Tried Forms for twenty minutes", "Off sick for a week",
              "Is the poll goal too ambitious?", "Thanks Pat, will do", FORMULA)
#: words the world's patron (Pat) wrote on Alex's and Bea's plans
PAT_WORDS = ("Looks achievable, go for it", "Nice idea, start small", "This one fits your team",
             "Pat on Bea's goal", "Well done on the finished goal")
#: another participant's private plan data, never in Alex's or Pat's export
BEA_PRIVATE = ("Bea's secret goal", "Bea's reason nobody sees", "Bea's private check-in note",
               "Bea answers her patron")


def _all_text(data: bytes) -> str:
    """Every file of an export zip, as one text."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    return "\n".join(archive.read(name).decode() for name in archive.namelist())


@pytest.fixture
def slugs(app) -> list[str]:
    with app.app_context():
        return sorted(current_library().goals)


@pytest.fixture
def plans_world(app, world, slugs):
    """Alex (the world's participant) with a full plan reviewed by Pat (the world's patron),
    who endorsed Alex's finished goal, and Bea, another participant Pat looks out for, with
    a goal she now keeps to herself.
    Returns ids: alex_goal, library_goal, dropped_goal, bea, bea_goal. (A request context:
    the review services render emails.)"""
    with app.test_request_context():
        cohort = db.session.get(Cohort, world["cohort"])
        alex = db.session.get(User, world["participant"])
        pat = db.session.get(User, world["patron"])
        sam = db.session.get(User, world["facilitator"])
        library = current_library()

        plan = services.plan_for(cohort, alex)
        own = services.write_goal(plan, actor=alex, title=ALEX_WORDS[0], why=ALEX_WORDS[1],
                                  visibility=Visibility.PRIVATE)
        adopted = services.adopt_goal(plan, library.goals[slugs[0]], actor=alex,
                                      why="Library why " + ALEX_WORDS[1])
        dropped = services.adopt_goal(plan, library.goals[slugs[1]], actor=sam)
        services.check_in(own, actor=alex, progress=40, minutes=20, note=ALEX_WORDS[5])
        services.check_in(own, actor=alex, progress=None, minutes=15, note=FORMULA)
        services.check_in(adopted, actor=sam, progress=60, minutes=30, note="Recorded by Sam")
        services.complete_goal(adopted, actor=alex, reflection=ALEX_WORDS[2],
                               evidence=[ALEX_WORDS[3]])
        services.set_status(dropped, status=GoalStatus.DROPPED, reason=ALEX_WORDS[4])
        services.pause_plan(plan, actor=alex, until=now_utc().date() + timedelta(days=3),
                            reason=ALEX_WORDS[6])

        asked = review.request_review(plan, actor=alex, reviewer=pat, message=ALEX_WORDS[7],
                                      base_url=BASE)
        review.comment(plan, author=pat, goal=own, body=PAT_WORDS[1])
        review.comment(plan, author=alex, goal=own, body=ALEX_WORDS[8])
        review.complete_review(asked, reviewer=pat, comment=PAT_WORDS[0], base_url=BASE)
        review.suggest_goal(plan, by=pat, library_goal=library.goals[slugs[2]], note=PAT_WORDS[2],
                            base_url=BASE)
        endorsements.endorse(adopted, author=pat, comment=PAT_WORDS[4], base_url=BASE)

        bea = factories.make_user(name="Bea Other")
        factories.add_member(cohort, bea, CohortRole.PARTICIPANT)
        factories.link_patron(cohort, pat, bea)
        bea_plan = services.plan_for(cohort, bea)
        secret = services.write_goal(bea_plan, actor=bea, title=BEA_PRIVATE[0], why=BEA_PRIVATE[1])
        services.check_in(secret, actor=bea, progress=10, minutes=25, note=BEA_PRIVATE[2])
        review.comment(bea_plan, author=pat, goal=secret, body=PAT_WORDS[3])
        review.comment(bea_plan, author=bea, goal=secret, body=BEA_PRIVATE[3])
        review.suggest_goal(bea_plan, by=pat, library_goal=library.goals[slugs[0]],
                            note="Pat's note to Bea", base_url=BASE)
        secret.visibility = Visibility.PRIVATE  # since Pat commented: Pat may not see it now
        db.session.commit()
        return {"alex_goal": own.id, "library_goal": adopted.id, "dropped_goal": dropped.id,
                "bea": bea.id, "bea_goal": secret.id}


# --- export ---------------------------------------------------------------------------------


def test_every_plan_collection_is_in_the_zip_with_its_columns(app, world, plans_world, role_client):
    data = role_client("participant").get("/account/export").data
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {f"{name}.csv" for name in NAMES} <= names
    document, tables = read_export(data)
    readme = zipfile.ZipFile(io.BytesIO(data)).read("README.txt").decode()
    for name in NAMES:
        assert document[name], name
        assert all(list(row) == list(COLLECTIONS[name]) for row in document[name]), name
        assert list(tables[name][0]) == list(COLLECTIONS[name]), name
        assert len(tables[name]) == len(document[name]), name
        assert f"{name}.csv" in readme


def test_participant_export_holds_their_plan(app, world, plans_world, role_client, slugs):
    document, tables = read_export(role_client("participant").get("/account/export").data)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"]).name
        library = current_library()

    [plan] = document["plans"]
    assert (plan["cohort"], plan["state"], plan["days_per_week"], plan["pause_reason"],
            plan["paused_by"]) == (cohort, "active", 2, ALEX_WORDS[6], None)
    assert plan["paused_from"]
    assert plan["paused_until"]

    goals = {g["title"]: g for g in document["goals"]}
    assert set(goals) == {ALEX_WORDS[0], library.goals[slugs[0]].title,
                          library.goals[slugs[1]].title}
    own = goals[ALEX_WORDS[0]]
    assert (own["library_slug"], own["why"], own["visibility"], own["status"], own["progress"],
            own["added_by"]) == (None, ALEX_WORDS[1], "private", "active", 40, None)
    done = goals[library.goals[slugs[0]].title]
    assert (done["library_slug"], done["status"], done["progress"], done["reflection"],
            done["evidence"], done["done_by"]) == (slugs[0], "done", 100, ALEX_WORDS[2],
                                                   [ALEX_WORDS[3]], None)
    assert done["done_at"]
    dropped = goals[library.goals[slugs[1]].title]
    assert (dropped["status"], dropped["drop_reason"], dropped["added_by"]) == (
        "dropped", ALEX_WORDS[4], "Sam Facilitator")

    assert [(c["goal"], c["progress"], c["minutes"], c["note"], c["recorded_by"])
            for c in document["check_ins"]] == [
        (ALEX_WORDS[0], 40, 20, ALEX_WORDS[5], None),
        (ALEX_WORDS[0], None, 15, FORMULA, None),
        (library.goals[slugs[0]].title, 60, 30, "Recorded by Sam", "Sam Facilitator")]
    assert document["check_ins"][0]["local_date"]
    # CSV cells cannot run as formulas; JSON keeps the real text
    assert tables["check_ins"][1]["note"] == "'" + FORMULA
    assert tables["check_ins"][0]["minutes"] == "20"

    [asked] = document["plan_reviews"]
    assert (asked["your_role"], asked["participant"], asked["requested_by"], asked["reviewer"],
            asked["message"], asked["status"], asked["closed_by"], asked["comment"]) == (
        "your plan", "Alex Participant", "Alex Participant", "Pat Patron", ALEX_WORDS[7], "done",
        "Pat Patron", PAT_WORDS[0])
    assert [(c["author"], c["goal"], c["body"]) for c in document["plan_comments"]] == [
        ("Pat Patron", ALEX_WORDS[0], PAT_WORDS[1]), ("Alex Participant", ALEX_WORDS[0], ALEX_WORDS[8])]
    assert [(s["direction"], s["suggested_by"], s["library_slug"], s["note"], s["status"])
            for s in document["goal_suggestions"]] == [
        ("to you", "Pat Patron", slugs[2], PAT_WORDS[2], "open")]
    assert [(e["direction"], e["goal"], e["endorsed_by"], e["comment"])
            for e in document["goal_endorsements"]] == [
        ("to you", library.goals[slugs[0]].title, "Pat Patron", PAT_WORDS[4])]

    everything = _all_text(role_client("participant").get("/account/export").data)
    for secret in (*BEA_PRIVATE, PAT_WORDS[3], "Pat's note to Bea", "Bea Other"):
        assert secret not in everything, secret


def test_patron_export_holds_what_they_wrote_and_not_the_participants_private_data(
        app, world, plans_world, role_client, slugs):
    data = role_client("patron").get("/account/export").data
    document, tables = read_export(data)
    assert document["plans"] == document["goals"] == document["check_ins"] == []

    assert [(c["plan_of"], c["goal"], c["author"], c["body"]) for c in document["plan_comments"]] == [
        ("Alex Participant", "a goal", "Pat Patron", PAT_WORDS[1]),
        ("Bea Other", "a goal", "Pat Patron", PAT_WORDS[3])]
    assert [(r["your_role"], r["participant"], r["message"], r["comment"])
            for r in document["plan_reviews"]] == [
        ("reviewer", "Alex Participant", ALEX_WORDS[7], PAT_WORDS[0])]
    assert [(s["direction"], s["participant"], s["library_slug"], s["note"], s["status"])
            for s in document["goal_suggestions"]] == [
        ("by you", "Alex Participant", slugs[2], PAT_WORDS[2], "open"),
        ("by you", "Bea Other", slugs[0], "Pat's note to Bea", "open")]
    assert tables["plan_comments"][1]["body"] == PAT_WORDS[3]
    with app.app_context():
        finished = current_library().goals[slugs[0]].title
    assert [(e["direction"], e["participant"], e["goal"], e["comment"])
            for e in document["goal_endorsements"]] == [
        ("by you", "Alex Participant", finished, PAT_WORDS[4])]

    # Alex's "only me" goal and Bea's are never named; nobody else's words leak
    everything = _all_text(data)
    for secret in (*BEA_PRIVATE, ALEX_WORDS[0], ALEX_WORDS[1], ALEX_WORDS[5], ALEX_WORDS[8]):
        assert secret not in everything, secret


def test_a_goal_shared_with_patrons_is_named_in_the_patrons_export(app, plans_world, role_client):
    with app.app_context():
        db.session.get(PlanGoal, plans_world["alex_goal"]).visibility = Visibility.PATRONS
        db.session.commit()
    document, _ = read_export(role_client("patron").get("/account/export").data)
    assert document["plan_comments"][0]["goal"] == ALEX_WORDS[0]
    assert document["plan_comments"][1]["goal"] == "a goal"  # Bea's is still hers alone


def test_a_closed_suggestion_reads_closed_to_whoever_made_it(app, world, plans_world, role_client):
    with app.app_context():
        suggestion = db.session.scalar(select(GoalSuggestion).join(Plan).where(
            Plan.participant_id == world["participant"]))
        suggestion.status = SuggestionStatus.ADOPTED
        db.session.commit()
    mine, _ = read_export(role_client("participant").get("/account/export").data)
    theirs, _ = read_export(role_client("patron").get("/account/export").data)
    assert mine["goal_suggestions"][0]["status"] == "adopted"
    assert theirs["goal_suggestions"][0]["status"] == "closed"


def test_export_query_count_does_not_grow_with_plan_rows(app, world, slugs):
    """5 check-ins (and one of everything) against 200 check-ins on many goals, in several
    cohorts, with many reviews, comments, suggestions and endorsements."""
    library_goals = list(slugs)

    def arrange(n_cohorts: int, n_goals: int, n_check_ins: int, n_reviews: int) -> int:
        with app.app_context():
            person = factories.make_user(name="Plans Person")
            patron = factories.make_user(name="Their Patron")
            for c in range(n_cohorts):
                cohort = factories.make_cohort()
                factories.add_member(cohort, person, CohortRole.PARTICIPANT)
                factories.add_member(cohort, patron, CohortRole.PATRON)
                plan = services.plan_for(cohort, person)
                goals = [services.write_goal(plan, actor=person, title=f"Goal {c}.{g}", why="why")
                         for g in range(n_goals)]
                goals.append(services.adopt_goal(plan, current_library().goals[library_goals[0]],
                                                 actor=patron))
                for i in range(n_check_ins // n_cohorts):
                    db.session.add(CheckIn(goal=goals[i % len(goals)], plan_id=plan.id,
                                           local_date=now_utc().date(), progress=i % 100,
                                           minutes=10, note=f"note {i}", created_by_id=patron.id))
                for i in range(n_reviews):
                    db.session.add_all([
                        PlanReview(plan=plan, requested_by_id=person.id, reviewer_id=patron.id,
                                   message=f"m{i}", status=ReviewStatus.DONE, closed_by_id=patron.id,
                                   comment=f"c{i}"),
                        PlanComment(plan=plan, goal=goals[i % len(goals)], author_id=patron.id,
                                    body=f"b{i}"),
                        PlanComment(plan=plan, author_id=person.id, body=f"a{i}"),
                        GoalSuggestion(plan=plan, library_slug=library_goals[i % len(library_goals)],
                                       suggested_by_id=patron.id, note=f"n{i}",
                                       status=SuggestionStatus.DISMISSED, closed_by_id=person.id),
                    ])
                db.session.add_all([GoalEndorsement(goal=goal, author_id=patron.id, comment="e")
                                    for goal in goals])
                services.pause_plan(plan, actor=patron, until=now_utc().date() + timedelta(days=1),
                                    reason="busy")
            db.session.commit()
            return person.id

    def queries_for(user_id: int) -> tuple[int, int, int]:
        with counting_queries(app) as statements, app.app_context():
            data = export_user_data(db.session.get(User, user_id))
        with app.app_context():
            user = db.session.get(User, user_id)
            with counting_queries(app) as plan_statements:
                plan_privacy.export_collections(user)
        document, _ = read_export(data)
        return len(statements), len(plan_statements), len(document["check_ins"])

    few = queries_for(arrange(n_cohorts=1, n_goals=1, n_check_ins=5, n_reviews=1))
    many = queries_for(arrange(n_cohorts=4, n_goals=10, n_check_ins=200, n_reviews=15))
    assert (few[2], many[2]) == (5, 200)
    assert few[0] == many[0]  # the whole export's bound is in tests/accounts/test_privacy.py
    assert few[1] == many[1] == len(NAMES)  # one query per plan collection


# --- deletion -------------------------------------------------------------------------------


def test_delete_page_says_plan_words_are_erased(role_client):
    page = role_client("participant").get("/account/delete").get_data(as_text=True)
    assert "What you wrote in plans is erased" in page
    assert "renamed “Goal”" in page
    assert "check-in days and minutes" in page


def _snapshot(app) -> dict:
    """Every plan row's columns, by table and id."""
    with app.app_context():
        return {
            model.__tablename__: {
                row.id: {c.key: getattr(row, c.key) for c in model.__table__.columns}
                for row in db.session.scalars(select(model))
            }
            for model in (Plan, PlanGoal, CheckIn, PlanReview, PlanComment, GoalSuggestion,
                          GoalEndorsement)
        }


def test_deleting_a_participant_erases_their_words_and_keeps_the_numbers(app, world, plans_world,
                                                                        role_client, slugs):
    before = _snapshot(app)
    response = post_form(role_client("participant"), "/account/delete",
                         {"password": factories.PASSWORD})
    assert response.status_code == 302
    after = _snapshot(app)

    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.participant_id == world["participant"]))
        assert plan.pause_reason == ""
        assert plan.paused_from is not None
        assert plan.paused_until is not None
        goals = {g.id: g for g in db.session.scalars(select(PlanGoal).where(PlanGoal.plan_id == plan.id))}
        own = goals[plans_world["alex_goal"]]
        assert (own.title, own.why, own.progress, own.status, own.visibility) == (
            "Goal", "", 40, GoalStatus.ACTIVE, Visibility.PRIVATE)
        done = goals[plans_world["library_goal"]]
        assert (done.title, done.why, done.reflection, done.evidence, done.progress, done.status) == (
            current_library().goals[slugs[0]].title, "", "", [], 100, GoalStatus.DONE)
        assert done.done_at is not None
        dropped = goals[plans_world["dropped_goal"]]
        assert (dropped.drop_reason, dropped.status) == ("", GoalStatus.DROPPED)
        check_ins = db.session.scalars(select(CheckIn).where(CheckIn.plan_id == plan.id)
                                       .order_by(CheckIn.id)).all()
        assert [(c.note, c.progress, c.minutes) for c in check_ins] == [
            ("", 40, 20), ("", None, 15), ("", 60, 30)]
        [asked] = db.session.scalars(select(PlanReview).where(PlanReview.plan_id == plan.id)).all()
        assert (asked.message, asked.status, asked.comment) == ("", ReviewStatus.DONE, PAT_WORDS[0])
        comments = db.session.scalars(select(PlanComment).where(PlanComment.plan_id == plan.id)
                                      .order_by(PlanComment.id)).all()
        assert [(c.author_id, c.body) for c in comments] == [
            (world["patron"], PAT_WORDS[1]), (world["participant"], "")]
        suggestion = db.session.scalar(select(GoalSuggestion).where(GoalSuggestion.plan_id == plan.id))
        assert (suggestion.note, suggestion.status) == (PAT_WORDS[2], SuggestionStatus.OPEN)

        # the only changes are to Alex's own words: Bea's plan and everyone's numbers untouched
        bea_plan = db.session.scalar(select(Plan.id).where(Plan.participant_id == plans_world["bea"]))
    erased = {"pause_reason", "title", "why", "drop_reason", "reflection", "evidence", "note",
              "message", "body"}
    for table, rows in before.items():
        assert set(after[table]) == set(rows), table
        for row_id, columns in rows.items():
            changed = {k for k, v in columns.items() if after[table][row_id][k] != v}
            assert changed <= erased, (table, row_id, changed)
            if columns.get("plan_id", row_id if table == "plans" else None) == bea_plan:
                assert not changed, (table, row_id, changed)


def test_deleting_a_patron_erases_what_they_wrote_on_anyones_plan(app, world, plans_world,
                                                                 role_client):
    before = _snapshot(app)
    response = post_form(role_client("patron"), "/account/delete", {"password": factories.PASSWORD})
    assert response.status_code == 302
    after = _snapshot(app)

    with app.app_context():
        comments = db.session.scalars(select(PlanComment).order_by(PlanComment.id)).all()
        assert [c.body for c in comments] == ["", ALEX_WORDS[8], "", BEA_PRIVATE[3]]
        [asked] = db.session.scalars(select(PlanReview)).all()
        assert (asked.message, asked.comment, asked.status) == (ALEX_WORDS[7], "", ReviewStatus.DONE)
        notes = db.session.scalars(select(GoalSuggestion.note).order_by(GoalSuggestion.id)).all()
        assert notes == ["", ""]
        [endorsement] = db.session.scalars(select(GoalEndorsement)).all()
        assert (endorsement.author_id, endorsement.comment) == (world["patron"], "")
    # Alex's and Bea's own goals, check-ins and plans are untouched
    for table in ("plans", "plan_goals", "check_ins"):
        assert after[table] == before[table], table


def test_deletion_runs_the_same_statements_for_5_or_200_check_ins(app, world):
    def arrange(n: int) -> tuple[str, int]:
        with app.app_context():
            cohort = factories.make_cohort()
            person = factories.make_user(name="Deleting Person")
            factories.add_member(cohort, person, CohortRole.PARTICIPANT)
            plan = services.plan_for(cohort, person)
            goal = services.write_goal(plan, actor=person, title="Mine", why="why")
            db.session.add_all([CheckIn(goal=goal, plan_id=plan.id, local_date=now_utc().date(),
                                        minutes=5, note=f"note {i}") for i in range(n)])
            db.session.commit()
            return person.email, plan.id

    def statements_for(n: int) -> int:
        email, plan_id = arrange(n)
        client = app.test_client()
        assert sign_in(client, email).status_code == 302
        with counting_queries(app) as statements:
            assert post_form(client, "/account/delete",
                             {"password": factories.PASSWORD}).status_code == 302
        with app.app_context():
            notes = db.session.scalars(select(CheckIn.note).where(CheckIn.plan_id == plan_id)).all()
            assert notes == [""] * n
        return len(statements)

    assert statements_for(5) == statements_for(200)
