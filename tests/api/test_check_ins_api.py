"""/api/v1/check-ins: checking in on one's own goals through the API and listing them; their
minutes count as web time; and everything a client may send wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.extensions import db
from dap.plans import services
from dap.plans.models import CheckIn, GoalStatus, PlanGoal
from tests import factories
from tests.api.conftest import Api, all_pages, make_token, problem, write_goal

NOW = datetime(2026, 3, 11, 12, tzinfo=UTC)  # a Wednesday, noon in London
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _clock(frozen):
    """The clock stands still (autouse: before the world is made, so its dates are known)."""
    frozen(NOW)


# --- helpers ----------------------------------------------------------------------------------






def check_in_rows(app) -> list[tuple[int, int | None, int | None, str]]:
    with app.app_context():
        return [(c.goal_id, c.progress, c.minutes, c.note) for c in db.session.scalars(
            select(CheckIn).order_by(CheckIn.id))]


def check_in_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CheckIn))


def goal_of(app, goal_id: int) -> PlanGoal:
    with app.app_context():
        goal = db.session.get(PlanGoal, goal_id)
        db.session.expunge(goal)
        return goal




@pytest.fixture
def goal(app, world) -> int:
    """An active goal of the world's participant."""
    return write_goal(app, world["participant"], world["cohort"])


@pytest.fixture
def others(app, world):
    """Bea, a second participant of the world's cohort, and Cal, a participant of another
    cohort: each with a goal, a check-in and a read-write token."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        bea = factories.make_user(name="Bea Second")
        factories.add_member(cohort, bea, CohortRole.PARTICIPANT)
        elsewhere = factories.make_cohort(name="Elsewhere")
        cal = factories.make_user(name="Cal Elsewhere")
        factories.add_member(elsewhere, cal, CohortRole.PARTICIPANT)
        bea_goal = services.write_goal(services.plan_for(cohort, bea), actor=bea, title="Bea's")
        cal_goal = services.write_goal(services.plan_for(elsewhere, cal), actor=cal, title="Cal's")
        bea_in = services.check_in(bea_goal, actor=bea, progress=10, minutes=5, note="Bea's note")
        cal_in = services.check_in(cal_goal, actor=cal, progress=20, minutes=6, note="Cal's note")
        db.session.commit()
        ids = {"bea": bea.id, "cal": cal.id, "bea_goal": bea_goal.id, "cal_goal": cal_goal.id,
               "bea_check_in": bea_in.id, "cal_check_in": cal_in.id}
        ids["bea_token"] = make_token(bea.id)
    return ids


# --- checking in ------------------------------------------------------------------------------


def test_a_check_in_round_trips_every_field(app, world, api, goal, role_client):
    client = api("participant")
    sent = {"goal_id": goal, "progress": 40, "minutes": 25,
            "note": "Asked three colleagues — two said yes 🎉\nNext: the form."}
    response = client.post("/check-ins", json=sent)
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    entry = response.get_json()
    assert {k: entry[k] for k in sent} == sent
    assert entry["day"] == TODAY.isoformat()
    assert datetime.fromisoformat(entry["created_at"]).replace(tzinfo=UTC) == NOW
    listed = client.get("/check-ins").get_json()
    assert listed == {"items": [entry], "next_cursor": None}
    assert check_in_rows(app) == [(goal, 40, 25, sent["note"])]
    # the goal's progress follows, and the plan page shows the note
    assert client.get(f"/goals/{goal}").get_json()["progress"] == 40
    page = role_client("participant").get(f"/cohorts/{world['cohort']}/plan/goals/{goal}")
    assert "Asked three colleagues" in page.get_data(as_text=True)


@pytest.mark.parametrize("sent", [
    {"progress": 0}, {"progress": 100}, {"minutes": 1}, {"minutes": 600}, {"note": "Just a note"},
    {"progress": None, "minutes": 5}, {"progress": 7, "minutes": None, "note": ""},
])
def test_any_one_of_progress_minutes_or_a_note_is_enough(app, api, goal, sent):
    response = api("participant").post("/check-ins", json={"goal_id": goal, **sent})
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry["progress"] == sent.get("progress")
    assert entry["minutes"] == sent.get("minutes")
    assert entry["note"] == sent.get("note", "")
    assert check_in_count(app) == 1


def test_progress_zero_is_recorded_as_zero(app, api, goal):
    client = api("participant")
    client.post("/check-ins", json={"goal_id": goal, "progress": 60})
    assert client.post("/check-ins", json={"goal_id": goal, "progress": 0}).status_code == 201
    assert client.get(f"/goals/{goal}").get_json()["progress"] == 0


def test_a_check_in_starts_a_planned_goal_and_keeps_progress_without_a_new_figure(app, world, api):
    planned = write_goal(app, world["participant"], world["cohort"], status=GoalStatus.PLANNED)
    client = api("participant")
    assert client.get(f"/goals/{planned}").get_json()["status"] == "planned"
    client.post("/check-ins", json={"goal_id": planned, "progress": 30})
    client.post("/check-ins", json={"goal_id": planned, "note": "Only a note"})
    goal = client.get(f"/goals/{planned}").get_json()
    assert (goal["status"], goal["progress"]) == ("active", 30)


@pytest.mark.parametrize("note", ["学习 — 进步 ✓", "🚀🔥👩‍💻", "مرحبا", "<b>bold</b> & <i>", "x" * 1000])
def test_unicode_markup_and_the_longest_notes_come_back_intact(app, api, goal, note):
    client = api("participant")
    response = client.post("/check-ins", json={"goal_id": goal, "note": note})
    assert response.status_code == 201, response.get_json()
    assert client.get("/check-ins").get_json()["items"][0]["note"] == note
    assert check_in_rows(app)[0][3] == note


def test_a_note_is_trimmed_and_cleaned_of_control_characters(app, api, goal):
    response = api("participant").post("/check-ins", json={"goal_id": goal,
                                                           "note": "  a\u0000b\r\nc\u001b  "})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["note"] == "ab\nc"
    assert check_in_rows(app)[0][3] == "ab\nc"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "goal_id"),
    ({"progress": 10}, "goal_id"),
    ({"goal_id": None, "progress": 10}, "goal_id"),
    ({"goal_id": "GOAL", "progress": 10}, "goal_id"),
    ({"goal_id": 1.0, "progress": 10}, "goal_id"),
    ({"goal_id": 0, "progress": 10}, "goal_id"),
    ({"goal_id": -1, "progress": 10}, "goal_id"),
    ({"goal_id": 2**31, "progress": 10}, "goal_id"),
    ({"goal_id": 10**30, "progress": 10}, "goal_id"),
    ({"goal_id": [1], "progress": 10}, "goal_id"),
    ({"goal_id": {"id": 1}, "progress": 10}, "goal_id"),
    ({"goal_id": True, "progress": 10}, "goal_id"),
    ({"progress": -1}, "progress"),
    ({"progress": 101}, "progress"),
    ({"progress": "50"}, "progress"),
    ({"progress": 50.5}, "progress"),
    ({"progress": 50.0}, "progress"),
    ({"progress": True}, "progress"),
    ({"progress": [50]}, "progress"),
    ({"minutes": 0}, "minutes"),
    ({"minutes": -5}, "minutes"),
    ({"minutes": 601}, "minutes"),
    ({"minutes": "30"}, "minutes"),
    ({"minutes": 30.5}, "minutes"),
    ({"minutes": False}, "minutes"),
    ({"minutes": 10**20}, "minutes"),
    ({"note": None}, "note"),
    ({"note": 42}, "note"),
    ({"note": ["a note"]}, "note"),
    ({"note": "x" * 1001}, "note"),
    ({"note": "🚀" * 1001}, "note"),
    ({"note": "Fine", "day": "2026-03-10"}, "day"),
    ({"note": "Fine", "plan_id": 1}, "plan_id"),
    ({"note": "Fine", "created_by_id": 1}, "created_by_id"),
])
def test_bad_check_in_members_are_422_naming_the_field_and_nothing_is_saved(app, api, goal,
                                                                            body, field):
    body = {"goal_id": goal, **body} if "goal_id" not in body and field != "goal_id" else body
    problem(api("participant").post("/check-ins", json=body), 422, "validation_failed", field)
    assert check_in_count(app) == 0
    assert goal_of(app, goal).progress == 0


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   \n\t "}, {"note": "\u0000"},
                                  {"progress": None, "minutes": None, "note": ""}])
def test_an_empty_check_in_is_422_and_saves_nothing(app, api, goal, body):
    found = problem(api("participant").post("/check-ins", json={"goal_id": goal, **body}), 422,
                    "validation_failed", "note")
    assert "progress, minutes or a note" in found["errors"][0]["message"]
    assert check_in_count(app) == 0


@pytest.mark.parametrize("status", [GoalStatus.DONE, GoalStatus.DROPPED])
def test_a_finished_or_dropped_goal_takes_no_check_in_409(app, world, api, status):
    closed = write_goal(app, world["participant"], world["cohort"], status=status)
    found = problem(api("participant").post("/check-ins", json={"goal_id": closed, "minutes": 10}),
                    409, "goal_closed")
    assert "start it again" in found["detail"]
    assert check_in_count(app) == 0


def test_someone_elses_goal_is_not_one_of_mine(app, world, api, others):
    client = api("participant")
    for goal_id in (others["bea_goal"], others["cal_goal"], 999_999, 2**31 - 1):
        found = problem(client.post("/check-ins", json={"goal_id": goal_id, "progress": 99}),
                        422, "validation_failed", "goal_id")
        assert found["errors"][0]["code"] == "not_found"
    assert check_in_count(app) == 2  # Bea's and Cal's own only
    assert goal_of(app, others["bea_goal"]).progress == 10


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin", "outsider"])
def test_people_without_a_plan_cannot_check_in_on_a_participants_goal(app, api, goal, role):
    client = api(role)
    problem(client.post("/check-ins", json={"goal_id": goal, "progress": 50}), 422,
            "validation_failed", "goal_id")
    assert client.get("/check-ins").get_json() == {"items": [], "next_cursor": None}
    assert check_in_count(app) == 0


def test_a_removed_participant_can_neither_check_in_nor_list(app, world, api, goal):
    client = api("participant")
    assert client.post("/check-ins", json={"goal_id": goal, "note": "Before"}).status_code == 201
    with app.app_context():
        db.session.get(Membership, world["participant_membership"]).status = (
            MembershipStatus.REMOVED)
        db.session.commit()
    problem(client.post("/check-ins", json={"goal_id": goal, "note": "After"}), 422,
            "validation_failed", "goal_id")
    assert client.get("/check-ins").get_json()["items"] == []
    assert [row[3] for row in check_in_rows(app)] == ["Before"]


# --- bodies that are not JSON objects ---------------------------------------------------------


@pytest.mark.parametrize(("raw", "content_type", "status", "code"), [
    (b"", "application/json", 400, "invalid_json"),
    (b"goal_id=1&progress=5", "application/json", 400, "invalid_json"),
    (b"{'goal_id': GOAL}", "application/json", 400, "invalid_json"),
    (b'{"goal_id": GOAL, "progress": 5', "application/json", 400, "invalid_json"),
    # not standard JSON, but read as a number that is not a whole one
    (b'{"goal_id": GOAL, "progress": NaN}', "application/json", 422, "validation_failed"),
    (b'{"goal_id": GOAL, "minutes": Infinity}', "application/json", 422, "validation_failed"),
    (b"[]", "application/json", 422, "validation_failed"),
    (b"null", "application/json", 422, "validation_failed"),
    (b'"check in"', "application/json", 422, "validation_failed"),
    (b'{"goal_id": GOAL, "progress": 5}', "text/plain", 415, "unsupported_media_type"),
    (b"goal_id=1&progress=5", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b'{"goal_id": GOAL, "progress": 5}', None, 415, "unsupported_media_type"),
])
def test_bodies_that_are_not_json_objects_are_refused(app, api, goal, raw, content_type, status,
                                                      code):
    kwargs = {"content_type": content_type} if content_type else {}
    problem(api("participant").post("/check-ins", data=raw.replace(b"GOAL", str(goal).encode()),
                                    **kwargs), status, code)
    assert check_in_count(app) == 0


def test_a_100_kb_body_is_413_and_saves_nothing(app, api, goal):
    problem(api("participant").post("/check-ins", json={"goal_id": goal, "note": "n" * 100_000}),
            413, "too_large")
    assert check_in_count(app) == 0


# --- listing ----------------------------------------------------------------------------------


def test_five_check_ins_come_in_pages_of_two_newest_first_each_once(app, world, api, goal):
    client = api("participant")
    made = []
    for n in range(5):
        response = client.post("/check-ins", json={"goal_id": goal, "progress": n * 10})
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
    ids, cursors = all_pages(client, "/check-ins", 2)
    assert ids == made[::-1]
    assert len(cursors) == 3
    assert all(cursors[:-1])
    assert cursors[-1] is None
    exact = client.get("/check-ins?limit=5").get_json()
    assert [c["id"] for c in exact["items"]] == ids
    assert exact["next_cursor"] is None


def test_the_list_filters_by_goal_and_never_shows_others_check_ins(app, world, api, goal, others):
    second = write_goal(app, world["participant"], world["cohort"], "Second goal")
    client = api("participant")
    on_first = [client.post("/check-ins", json={"goal_id": goal, "minutes": m}).get_json()["id"]
                for m in (5, 10, 15)]
    on_second = [client.post("/check-ins", json={"goal_id": second, "note": n}).get_json()["id"]
                 for n in ("a", "b")]

    def ids(query: str = "") -> list[int]:
        response = client.get("/check-ins" + query)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["items"]]

    assert ids() == sorted(on_first + on_second, reverse=True)
    assert ids(f"?goal_id={goal}") == on_first[::-1]
    assert ids(f"?goal_id={second}&limit=1") == [on_second[-1]]
    assert ids(f"?goal_id={others['bea_goal']}") == []
    assert ids(f"?goal_id={others['cal_goal']}") == []
    assert ids("?goal_id=999999") == []
    assert others["bea_check_in"] not in ids("?limit=100")
    assert others["cal_check_in"] not in ids("?limit=100")
    # and Bea sees only hers
    bea = Api(app.test_client(), others["bea_token"])
    assert [c["id"] for c in bea.get("/check-ins").get_json()["items"]] == [others["bea_check_in"]]
    assert bea.get(f"/check-ins?goal_id={goal}").get_json()["items"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("limit=-2", "limit"),
    ("limit=2.5", "limit"), ("goal_id=abc", "goal_id"), ("goal_id=0", "goal_id"),
    ("goal_id=-1", "goal_id"), (f"goal_id={2**31}", "goal_id"), ("goal_id=", "goal_id"),
    ("cursor=garbage", "cursor"), ("cursor=-1", "cursor"), ("cursor=aWQ6Mw", "cursor"),
    ("cursor=12345678901", "cursor"), ("cursor=", "cursor"), ("progress=10", "progress"),
])
def test_bad_list_parameters_are_422_naming_the_parameter(api, world, query, field):
    problem(api("participant").get("/check-ins?" + query), 422, "validation_failed", field)


# --- tokens, archives and time ----------------------------------------------------------------


def test_a_read_only_token_lists_but_cannot_check_in(app, api, goal):
    assert api("participant").post("/check-ins", json={"goal_id": goal, "note": "Mine"}
                                   ).status_code == 201
    reader = api("participant-read")
    assert [c["note"] for c in reader.get("/check-ins").get_json()["items"]] == ["Mine"]
    problem(reader.post("/check-ins", json={"goal_id": goal, "note": "Nope"}), 403,
            "insufficient_scope")
    problem(api(None).post("/check-ins", json={"goal_id": goal, "note": "Nope"}), 401,
            "token_missing")
    problem(api(None).get("/check-ins"), 401, "token_missing")
    assert check_in_count(app) == 1


def test_an_archived_cohorts_check_ins_are_read_only(app, world, api, goal):
    client = api("participant")
    first = client.post("/check-ins", json={"goal_id": goal, "minutes": 20})
    assert first.status_code == 201
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    assert client.get("/check-ins").get_json()["items"] == [first.get_json()]
    assert client.get(f"/check-ins?goal_id={goal}").status_code == 200
    problem(client.post("/check-ins", json={"goal_id": goal, "minutes": 20}), 403,
            "cohort_archived")
    assert check_in_count(app) == 1


def test_check_in_minutes_count_as_this_weeks_web_time(app, api, goal):
    client = api("participant")
    assert client.get("/time").get_json()["web_minutes"] == 0
    for body in ({"minutes": 25}, {"minutes": 20, "progress": 10}, {"note": "no minutes"}):
        assert client.post("/check-ins", json={"goal_id": goal, **body}).status_code == 201
    time = client.get("/time").get_json()
    assert time["measured"] is True
    assert time["web_minutes"] == 45
    # a refused check-in adds nothing
    client.post("/check-ins", json={"goal_id": goal, "minutes": 601})
    assert client.get("/time").get_json()["web_minutes"] == 45


def test_check_ins_in_another_week_do_not_count_this_week(app, api, goal, frozen):
    client = api("participant")
    frozen(NOW - timedelta(days=7))
    assert client.post("/check-ins", json={"goal_id": goal, "minutes": 50}).status_code == 201
    frozen(NOW)
    assert client.post("/check-ins", json={"goal_id": goal, "minutes": 10}).status_code == 201
    assert client.get("/time").get_json()["web_minutes"] == 10
    days = [c["day"] for c in client.get("/check-ins").get_json()["items"]]
    assert days == [TODAY.isoformat(), (TODAY - timedelta(days=7)).isoformat()]
