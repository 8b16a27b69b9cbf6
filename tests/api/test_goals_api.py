"""/api/v1/goals: listing, reading, adding and changing one's own goals through the API,
and everything a client may send wrong (types, shapes, sizes, cursors, other people's ids,
archived cohorts, read-only tokens)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.accounts.models import TokenScope, User
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.content.library import current_library
from dap.extensions import db
from dap.plans import services
from dap.plans.models import GoalStatus, PlanGoal
from tests import factories
from tests.api.conftest import Api, all_pages, make_token, problem, write_goal

NOW = datetime(2026, 3, 11, 12, tzinfo=UTC)  # a Wednesday, noon in London
TODAY = NOW.date()
#: the world's cohort runs from a week ago to 60 days ahead (tests/factories.make_cohort)
START, END = TODAY - timedelta(days=7), TODAY + timedelta(days=60)


@pytest.fixture(autouse=True)
def _clock(frozen):
    """The clock stands still (autouse: before the world is made, so its dates are known)."""
    frozen(NOW)


# --- helpers ----------------------------------------------------------------------------------






def goal_row(app, goal_id: int) -> PlanGoal:
    with app.app_context():
        goal = db.session.get(PlanGoal, goal_id)
        db.session.expunge(goal)
        return goal


def goal_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PlanGoal))


def archive(app, cohort_id: int) -> None:
    with app.app_context():
        db.session.get(Cohort, cohort_id).is_archived = True
        db.session.commit()


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")




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
        bea_goal = services.write_goal(services.plan_for(cohort, bea), actor=bea,
                                       title="Bea's secret goal")
        cal_goal = services.write_goal(services.plan_for(elsewhere, cal), actor=cal,
                                       title="Cal's secret goal")
        services.check_in(bea_goal, actor=bea, progress=10, minutes=None, note="Bea")
        services.check_in(cal_goal, actor=cal, progress=20, minutes=None, note="Cal")
        db.session.commit()
        ids = {"bea": bea.id, "cal": cal.id, "elsewhere": elsewhere.id,
               "bea_goal": bea_goal.id, "cal_goal": cal_goal.id}
        ids["bea_token"] = make_token(bea.id)
        ids["cal_token"] = make_token(cal.id)
    return ids


# --- adding a goal ----------------------------------------------------------------------------


def test_a_new_goal_round_trips_every_field_and_its_location(app, world, api, role_client):
    me = api("participant")
    sent = {"title": "Run a poll on our intranet", "why": "To hear from the quiet ones.\nAll of them.",
            "target_date": (TODAY + timedelta(days=30)).isoformat(), "visibility": "cohort",
            "cohort_id": world["cohort"]}
    response = me.post("/goals", json=sent)
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    goal = response.get_json()
    assert {k: goal[k] for k in sent} == sent
    assert goal["status"] == "active"
    assert goal["progress"] == 0
    assert goal["library_slug"] is None
    assert goal["reflection"] == ""
    assert goal["done_at"] is None
    assert datetime.fromisoformat(goal["created_at"]).replace(tzinfo=UTC) == NOW
    assert goal["url"].endswith(f"/cohorts/{world['cohort']}/plan/goals/{goal['id']}")

    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/goals/{goal['id']}")
    again = me.client.get(location, headers=me.headers())
    assert again.status_code == 200
    assert again.get_json() == goal
    assert me.get("/goals").get_json()["items"] == [goal]

    # saved for real: the plan page on the web shows it, and so does the goal's own page
    web = role_client("participant")
    assert "Run a poll on our intranet" in web.get(f"/cohorts/{world['cohort']}/plan").get_data(
        as_text=True)
    page = web.get(goal["url"].split("localhost", 1)[-1])
    assert page.status_code == 200
    assert "To hear from the quiet ones." in page.get_data(as_text=True)


def test_a_goal_with_only_a_title_gets_the_defaults(app, world, api):
    response = api("participant").post("/goals", json={"title": "Learn shortcuts"})
    assert response.status_code == 201, response.get_json()
    goal = response.get_json()
    assert goal["why"] == ""
    assert goal["target_date"] is None
    assert goal["visibility"] == "patrons"
    assert goal["cohort_id"] == world["cohort"]
    row = goal_row(app, goal["id"])
    assert (row.title, row.status, row.created_by_id) == ("Learn shortcuts", GoalStatus.ACTIVE,
                                                          world["participant"])


def test_without_a_cohort_the_goal_goes_to_the_newest_running_cohort(app, world, api):
    with app.app_context():
        me = db.session.get(User, world["participant"])
        newer = factories.make_cohort(name="Newer", start_date=TODAY - timedelta(days=1))
        newest_archived = factories.make_cohort(name="Archived", start_date=TODAY,
                                                is_archived=True)
        factories.add_member(newer, me, CohortRole.PARTICIPANT)
        factories.add_member(newest_archived, me, CohortRole.PARTICIPANT)
        db.session.commit()
        newer_id = newer.id
    client = api("participant")
    plain = client.post("/goals", json={"title": "Goes to the newest"})
    assert plain.status_code == 201, plain.get_json()
    assert plain.get_json()["cohort_id"] == newer_id
    named = client.post("/goals", json={"title": "Goes where I say",
                                        "cohort_id": world["cohort"]})
    assert named.status_code == 201, named.get_json()
    assert named.get_json()["cohort_id"] == world["cohort"]
    mine = client.get(f"/goals?cohort_id={newer_id}").get_json()["items"]
    assert [g["title"] for g in mine] == ["Goes to the newest"]


@pytest.mark.parametrize("title", [
    "Überzeugen lernen — naïve café", "学习新技能", "تعلم مهارة جديدة", "🚀 Ship it 🎉",
    "👩‍👩‍👧‍👦 family of four (one ZWJ sequence)", "e\u0301 combining accent",
    "<script>alert('x')</script> & \"quotes\"", "🚀" * 160,
])
def test_unicode_and_markup_titles_are_kept_exactly(app, world, api, role_client, title):
    client = api("participant")
    response = client.post("/goals", json={"title": title, "why": title})
    assert response.status_code == 201, response.get_json()
    goal_id = response.get_json()["id"]
    got = client.get(f"/goals/{goal_id}").get_json()
    assert (got["title"], got["why"]) == (title, title)
    assert goal_row(app, goal_id).title == title
    if title.startswith("<script>"):
        page = role_client("participant").get(f"/cohorts/{world['cohort']}/plan")
        html = page.get_data(as_text=True)
        assert "<script>alert('x')</script>" not in html
        assert "&lt;script&gt;" in html


def test_control_characters_and_edge_spaces_are_cleaned(api):
    client = api("participant")
    response = client.post("/goals", json={"title": "  Tidy\u0000 up\u0007  ",
                                           "why": "one\r\ntwo\rthree"})
    assert response.status_code == 201, response.get_json()
    goal = client.get(f"/goals/{response.get_json()['id']}").get_json()
    assert goal["title"] == "Tidy up"
    assert goal["why"] == "one\ntwo\nthree"


@pytest.mark.parametrize("target", [START, END + timedelta(days=365)])
def test_target_dates_at_the_edges_of_the_programme_are_accepted(api, target):
    response = api("participant").post("/goals", json={"title": "Edge",
                                                       "target_date": target.isoformat()})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["target_date"] == target.isoformat()


@pytest.mark.parametrize(("body", "field"), [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   \t\n "}, "title"),
    ({"title": "\u0000\u0001"}, "title"),
    ({"title": 42}, "title"),
    ({"title": 4.2}, "title"),
    ({"title": True}, "title"),
    ({"title": None}, "title"),
    ({"title": ["a goal"]}, "title"),
    ({"title": {"text": "a goal"}}, "title"),
    ({"title": "x" * 161}, "title"),
    ({"title": "🚀" * 161}, "title"),
    ({"title": "x" * 20_000}, "title"),
    ({"title": "Ok", "why": None}, "why"),
    ({"title": "Ok", "why": 7}, "why"),
    ({"title": "Ok", "why": "x" * 1001}, "why"),
    ({"title": "Ok", "target_date": "2026-02-30"}, "target_date"),
    ({"title": "Ok", "target_date": "tomorrow"}, "target_date"),
    ({"title": "Ok", "target_date": "11/04/2026"}, "target_date"),
    ({"title": "Ok", "target_date": ""}, "target_date"),
    ({"title": "Ok", "target_date": 20260411}, "target_date"),
    ({"title": "Ok", "target_date": ["2026-04-11"]}, "target_date"),
    ({"title": "Ok", "target_date": (START - timedelta(days=1)).isoformat()}, "target_date"),
    ({"title": "Ok", "target_date": "1900-01-01"}, "target_date"),
    ({"title": "Ok", "target_date": (END + timedelta(days=366)).isoformat()}, "target_date"),
    ({"title": "Ok", "target_date": "9999-12-31"}, "target_date"),
    ({"title": "Ok", "visibility": "public"}, "visibility"),
    ({"title": "Ok", "visibility": "PATRONS"}, "visibility"),
    ({"title": "Ok", "visibility": ""}, "visibility"),
    ({"title": "Ok", "visibility": None}, "visibility"),
    ({"title": "Ok", "visibility": 1}, "visibility"),
    ({"title": "Ok", "cohort_id": "1"}, "cohort_id"),
    ({"title": "Ok", "cohort_id": 1.0}, "cohort_id"),
    ({"title": "Ok", "cohort_id": 0}, "cohort_id"),
    ({"title": "Ok", "cohort_id": -1}, "cohort_id"),
    ({"title": "Ok", "cohort_id": 2**31}, "cohort_id"),
    ({"title": "Ok", "cohort_id": 10**30}, "cohort_id"),
    ({"title": "Ok", "cohort_id": [1]}, "cohort_id"),
    ({"title": "Ok", "colour": "blue"}, "colour"),
    ({"title": "Ok", "status": "done"}, "status"),
    ({"title": "Ok", "progress": 50}, "progress"),
    ({"title": "Ok", "participant_id": 1}, "participant_id"),
])
def test_bad_goal_members_are_422_naming_the_field_and_nothing_is_saved(app, world, api, body,
                                                                        field):
    response = api("participant").post("/goals", json=body)
    problem(response, 422, "validation_failed", field)
    assert goal_count(app) == 0


@pytest.mark.parametrize("raw", ["[]", "[{\"title\": \"A goal\"}]", "null", "\"A goal\"", "42",
                                 "true"])
def test_a_body_that_is_not_an_object_is_422(app, api, raw):
    response = api("participant").post("/goals", data=raw, content_type="application/json")
    body = problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "body"
    assert goal_count(app) == 0


@pytest.mark.parametrize("raw", [b"", b"title=A+goal", b"{title: 'A goal'}", b"{\"title\": \"A goal\"",
                                 b"{\"title\": \"A goal\",}", b"\xff\xfe{}", b"<goal>A goal</goal>",
                                 b"{\"title\": \"A goal\"} trailing"])
def test_a_body_that_is_not_json_is_400_invalid_json(app, api, raw):
    response = api("participant").post("/goals", data=raw, content_type="application/json")
    problem(response, 400, "invalid_json")
    assert goal_count(app) == 0


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml",
                                          "application/jsonx"])
def test_a_body_that_is_not_declared_json_is_415(app, api, content_type):
    kwargs = {"content_type": content_type} if content_type else {}
    response = api("participant").post("/goals", data=b'{"title": "A goal"}', **kwargs)
    problem(response, 415, "unsupported_media_type")
    assert goal_count(app) == 0


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8",
                                          "application/merge-patch+json"])
def test_json_with_a_charset_or_a_json_suffix_is_read(api, content_type):
    response = api("participant").post("/goals", data='{"title": "Déjà vu"}'.encode(),
                                       content_type=content_type)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "Déjà vu"


def test_a_100_kb_body_is_413_and_saves_nothing(app, api):
    response = api("participant").post("/goals", json={"title": "x" * 100_000})
    problem(response, 413, "too_large")
    assert goal_count(app) == 0


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin", "outsider"])
def test_people_without_a_plan_cannot_add_goals(app, world, api, role):
    client = api(role)
    unnamed = client.post("/goals", json={"title": "Not mine to add"})
    body = problem(unnamed, 422, "validation_failed", "cohort_id")
    assert body["errors"][0]["code"] == "no_cohort"
    named = client.post("/goals", json={"title": "Not mine to add", "cohort_id": world["cohort"]})
    problem(named, 404, "not_found")
    assert goal_count(app) == 0


def test_a_cohort_i_am_not_in_or_that_does_not_exist_is_404(app, world, api, others):
    client = api("participant")
    for cohort_id in (others["elsewhere"], 999_999, 2**31 - 1):
        problem(client.post("/goals", json={"title": "Sneaky", "cohort_id": cohort_id}), 404,
                "not_found")
    assert goal_count(app) == 2  # Bea's and Cal's only


# --- reading goals ----------------------------------------------------------------------------


def test_five_goals_come_in_pages_of_two_newest_first_each_once(app, world, api):
    made = [write_goal(app, world["participant"], world["cohort"], f"Goal {n}") for n in range(5)]
    client = api("participant")
    ids, cursors = all_pages(client, "/goals", 2)
    assert ids == sorted(made, reverse=True)
    assert len(cursors) == 3
    assert cursors[-1] is None
    assert all(cursors[:-1])
    whole = client.get("/goals?limit=5").get_json()
    assert [g["id"] for g in whole["items"]] == ids
    assert whole["next_cursor"] is None
    assert len(client.get("/goals").get_json()["items"]) == 5  # the default page holds 25


def test_a_goal_added_between_pages_does_not_shift_the_next_page(app, world, api):
    made = [write_goal(app, world["participant"], world["cohort"], f"Goal {n}") for n in range(4)]
    client = api("participant")
    first = client.get("/goals?limit=2").get_json()
    write_goal(app, world["participant"], world["cohort"], "Late arrival")
    second = client.get(f"/goals?limit=2&cursor={first['next_cursor']}").get_json()
    assert [g["id"] for g in first["items"] + second["items"]] == sorted(made, reverse=True)
    assert second["next_cursor"] is None


def test_filters_by_status_and_cohort(app, world, api):
    with app.app_context():
        me = db.session.get(User, world["participant"])
        second = factories.make_cohort(name="Second")
        factories.add_member(second, me, CohortRole.PARTICIPANT)
        db.session.commit()
        second_id = second.id
    active = write_goal(app, world["participant"], world["cohort"], "Active one")
    dropped = write_goal(app, world["participant"], world["cohort"], "Dropped one")
    done = write_goal(app, world["participant"], world["cohort"], "Done one")
    there = write_goal(app, world["participant"], second_id, "In the second cohort")
    with app.app_context():
        services.set_status(db.session.get(PlanGoal, dropped), status=GoalStatus.DROPPED,
                            reason="No time")
        services.complete_goal(db.session.get(PlanGoal, done), actor=db.session.get(
            User, world["participant"]), reflection="Went well", evidence=[])
        db.session.commit()
    client = api("participant")

    def ids(query: str) -> list[int]:
        response = client.get("/goals" + query)
        assert response.status_code == 200, response.get_json()
        return [g["id"] for g in response.get_json()["items"]]

    assert ids("") == [there, done, dropped, active]
    assert ids("?status=active") == [there, active]
    assert ids("?status=dropped") == [dropped]
    assert ids("?status=done") == [done]
    assert ids("?status=planned") == []
    assert ids(f"?cohort_id={world['cohort']}") == [done, dropped, active]
    assert ids(f"?cohort_id={second_id}&status=active") == [there]
    assert ids("?cohort_id=999999") == []
    assert ids(f"?status=active&cohort_id={second_id}&limit=1") == [there]


@pytest.mark.parametrize("cursor", [
    "garbage", "!!!!", "%00", "%C3%A9", "-1", "+5", "1.5", "1e3", "%201", "12345678901",
    b64("hello world"), b64("id:3"), "A" * 201, "0x1f", "%EF%BC%93", "",
])
def test_a_cursor_this_api_could_not_have_given_is_422(app, world, api, cursor):
    write_goal(app, world["participant"], world["cohort"])
    problem(api("participant").get(f"/goals?cursor={cursor}"), 422, "validation_failed",
            "cursor")


def test_a_cursor_of_digits_pages_from_below_that_id(app, world, api):
    """Any cursor the document allows is valid: 0 is below every id (an empty page);
    leading zeros are the same number."""
    made = [write_goal(app, world["participant"], world["cohort"], f"Goal {n}") for n in range(3)]
    client = api("participant")

    def ids(cursor: str) -> list[int]:
        response = client.get(f"/goals?cursor={cursor}")
        assert response.status_code == 200, response.get_json()
        return [g["id"] for g in response.get_json()["items"]]

    assert ids("0") == []
    assert ids(str(made[0])) == []
    assert ids(str(made[2])) == [made[1], made[0]]
    assert ids(f"000{made[2]}") == [made[1], made[0]]


@pytest.mark.parametrize("cursor", [str(2**31 - 1), str(2**31), "4294967296", "9999999999"])
def test_a_cursor_beyond_every_id_starts_from_the_newest(app, world, api, cursor):
    """Ten digits are allowed, so numbers beyond a database integer are valid cursors too."""
    made = [write_goal(app, world["participant"], world["cohort"], f"Goal {n}") for n in range(3)]
    response = api("participant").get(f"/goals?cursor={cursor}")
    assert response.status_code == 200, response.get_json()
    assert [g["id"] for g in response.get_json()["items"]] == sorted(made, reverse=True)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "limit=-1", "limit=1.5",
                                   "limit=", "limit=1e2", "limit=99999999999999999999"])
def test_a_limit_outside_1_to_100_is_422(api, query):
    problem(api("participant").get("/goals?" + query), 422, "validation_failed", "limit")


@pytest.mark.parametrize(("query", "field"), [
    ("status=finished", "status"), ("status=", "status"), ("status=DONE", "status"),
    ("cohort_id=abc", "cohort_id"), ("cohort_id=0", "cohort_id"), ("cohort_id=-3", "cohort_id"),
    (f"cohort_id={2**31}", "cohort_id"), ("owner=1", "owner"), ("participant_id=1", "participant_id"),
])
def test_bad_filters_are_422_naming_the_parameter(api, query, field):
    problem(api("participant").get("/goals?" + query), 422, "validation_failed", field)


def test_the_limit_edges_are_accepted(app, world, api):
    write_goal(app, world["participant"], world["cohort"])
    client = api("participant")
    for limit in (1, 100):
        response = client.get(f"/goals?limit={limit}")
        assert response.status_code == 200, response.get_json()
        assert len(response.get_json()["items"]) == 1


def test_other_peoples_goals_are_never_listed_and_are_404(app, world, api, others):
    mine = write_goal(app, world["participant"], world["cohort"], "My own goal")
    client = api("participant")
    listed = client.get("/goals?limit=100").get_json()["items"]
    assert [g["id"] for g in listed] == [mine]
    for goal_id in (others["bea_goal"], others["cal_goal"]):
        problem(client.get(f"/goals/{goal_id}"), 404, "not_found")
    assert client.get(f"/goals?cohort_id={others['elsewhere']}").get_json()["items"] == []
    # and the other way round: Bea sees hers only, never mine
    bea = Api(app.test_client(), others["bea_token"])
    assert [g["id"] for g in bea.get("/goals").get_json()["items"]] == [others["bea_goal"]]
    problem(bea.get(f"/goals/{mine}"), 404, "not_found")


@pytest.mark.parametrize("path", ["/goals/0", "/goals/999999", f"/goals/{2**31 - 1}",
                                  f"/goals/{2**31}", f"/goals/{2**32 + 1}", f"/goals/{2**63}",
                                  f"/goals/{10**30}", "/goals/-1", "/goals/abc", "/goals/1.0",
                                  "/goals/%F0%9F%9A%80"])
def test_goal_ids_that_are_not_mine_or_not_ids_are_404(app, world, api, path):
    write_goal(app, world["participant"], world["cohort"])
    problem(api("participant").get(path), 404, "not_found")


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin", "outsider"])
def test_people_without_a_plan_get_an_empty_list_and_404_for_a_participants_goal(
        app, world, api, role):
    goal_id = write_goal(app, world["participant"], world["cohort"], "Shared with patrons")
    client = api(role)
    response = client.get("/goals")
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_cursor": None}
    problem(client.get(f"/goals/{goal_id}"), 404, "not_found")
    problem(client.patch(f"/goals/{goal_id}", json={"title": "Hijacked"}), 404, "not_found")
    assert goal_row(app, goal_id).title == "Shared with patrons"


def test_a_removed_participant_no_longer_sees_their_goals(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"])
    with app.app_context():
        db.session.get(Membership, world["participant_membership"]).status = (
            MembershipStatus.REMOVED)
        db.session.commit()
    client = api("participant")
    assert client.get("/goals").get_json()["items"] == []
    problem(client.get(f"/goals/{goal_id}"), 404, "not_found")
    problem(client.patch(f"/goals/{goal_id}", json={"title": "Still mine?"}), 404, "not_found")
    problem(client.post("/goals", json={"title": "New", "cohort_id": world["cohort"]}), 404,
            "not_found")


# --- tokens -----------------------------------------------------------------------------------


def test_a_read_only_token_reads_but_cannot_write(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"], "Read me")
    reader = api("participant-read")
    assert reader.get("/goals").status_code == 200
    assert reader.get(f"/goals/{goal_id}").get_json()["title"] == "Read me"
    problem(reader.post("/goals", json={"title": "Nope"}), 403, "insufficient_scope")
    problem(reader.patch(f"/goals/{goal_id}", json={"title": "Nope"}), 403, "insufficient_scope")
    assert goal_count(app) == 1
    assert goal_row(app, goal_id).title == "Read me"


def test_without_a_valid_token_it_is_401(app, world, api):
    problem(api(None).get("/goals"), 401, "token_missing")
    problem(api(None).post("/goals", json={"title": "Anonymous"}), 401, "token_missing")
    forged = Api(app.test_client(), "dap_" + "x" * 40)
    problem(forged.get("/goals"), 401, "token_invalid")
    problem(forged.post("/goals", json={"title": "Forged"}), 401, "token_invalid")
    assert goal_count(app) == 0


def test_an_expired_token_cannot_add_a_goal(app, world, frozen):
    with app.app_context():
        secret = make_token(world["participant"], TokenScope.READ_WRITE,
                            expires_on=TODAY + timedelta(days=1))
    client = Api(app.test_client(), secret)
    assert client.get("/goals").status_code == 200
    frozen(NOW + timedelta(days=3))
    problem(client.post("/goals", json={"title": "Too late"}), 401, "token_expired")
    assert goal_count(app) == 0


# --- changing a goal --------------------------------------------------------------------------


def test_each_field_of_a_goal_can_be_changed_alone(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"], "First title",
                         why="First why", target_date=TODAY + timedelta(days=10))
    client = api("participant")
    target = (TODAY + timedelta(days=20)).isoformat()
    for change in ({"title": "Second title"}, {"why": "Second why"}, {"target_date": target},
                   {"visibility": "private"}):
        response = client.patch(f"/goals/{goal_id}", json=change)
        assert response.status_code == 200, response.get_json()
        for key, value in change.items():
            assert response.get_json()[key] == value
    goal = client.get(f"/goals/{goal_id}").get_json()
    assert (goal["title"], goal["why"], goal["target_date"], goal["visibility"]) == (
        "Second title", "Second why", target, "private")
    cleared = client.patch(f"/goals/{goal_id}", json={"target_date": None})
    assert cleared.status_code == 200
    assert client.get(f"/goals/{goal_id}").get_json()["target_date"] is None
    assert goal_row(app, goal_id).title == "Second title"


def test_an_empty_patch_changes_nothing(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"], "Keep me", why="Because")
    client = api("participant")
    before = client.get(f"/goals/{goal_id}").get_json()
    response = client.patch(f"/goals/{goal_id}", json={})
    assert response.status_code == 200
    assert response.get_json() == before


@pytest.mark.parametrize("member", ["title", "visibility", "status"])
def test_null_for_a_member_a_goal_must_have_is_refused(app, world, api, member):
    """As in a JSON merge patch, null would remove the member; a goal cannot be without
    these, so null is a 422 (and nothing else in the patch is applied)."""
    goal_id = write_goal(app, world["participant"], world["cohort"], "Keep me", why="Because")
    client = api("participant")
    response = client.patch(f"/goals/{goal_id}", json={member: None, "why": "Changed"})
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [member]
    goal = client.get(f"/goals/{goal_id}").get_json()
    assert (goal["title"], goal["why"], goal["visibility"], goal["status"]) == (
        "Keep me", "Because", "patrons", "active")


def test_a_goal_is_planned_started_dropped_revived_and_finished(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"])
    client = api("participant")

    def patch(body: dict) -> dict:
        response = client.patch(f"/goals/{goal_id}", json=body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == client.get(f"/goals/{goal_id}").get_json()
        return response.get_json()

    assert patch({"status": "planned"})["status"] == "planned"
    assert patch({"status": "active"})["status"] == "active"
    assert patch({"status": "dropped", "drop_reason": "Priorities changed 🤷"})["status"] == "dropped"
    assert goal_row(app, goal_id).drop_reason == "Priorities changed 🤷"
    assert patch({"status": "active"})["status"] == "active"
    assert goal_row(app, goal_id).drop_reason == ""
    done = patch({"status": "done", "reflection": "I learnt to ask — and to listen. ✅",
                  "evidence": ["https://example.org/poll", "  ", "http://intranet.example/r"]})
    assert done["status"] == "done"
    assert done["reflection"] == "I learnt to ask — and to listen. ✅"
    assert done["progress"] == 100
    assert datetime.fromisoformat(done["done_at"]).replace(tzinfo=UTC) == NOW
    row = goal_row(app, goal_id)
    assert row.evidence == [{"url": "https://example.org/poll"}, {"url": "http://intranet.example/r"}]
    assert row.done_by_id == world["participant"]
    assert client.get("/goals?status=done").get_json()["items"][0]["id"] == goal_id
    # a finished goal can be taken up again
    again = patch({"status": "active"})
    assert (again["status"], again["done_at"]) == ("active", None)


def test_finishing_a_finished_goal_is_409_already_done(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"])
    client = api("participant")
    first = client.patch(f"/goals/{goal_id}", json={"status": "done", "reflection": "First"})
    assert first.status_code == 200, first.get_json()
    problem(client.patch(f"/goals/{goal_id}", json={"status": "done", "reflection": "Second"}),
            409, "already_done")
    assert goal_row(app, goal_id).reflection == "First"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"status": "done"}, "reflection", None),
    ({"status": "done", "reflection": ""}, "reflection", None),
    ({"status": "done", "reflection": "  \n "}, "reflection", None),
    ({"status": "done", "reflection": None}, "reflection", None),
    ({"status": "done", "reflection": 5}, "reflection", None),
    ({"status": "done", "reflection": "x" * 4001}, "reflection", None),
    ({"status": "done", "reflection": "Ok", "evidence": ["javascript:alert(1)"]}, "evidence", None),
    ({"status": "done", "reflection": "Ok", "evidence": ["ftp://example.org/x"]}, "evidence", None),
    ({"status": "done", "reflection": "Ok", "evidence": ["example.org"]}, "evidence", None),
    ({"status": "done", "reflection": "Ok", "evidence": "https://example.org"}, "evidence", None),
    ({"status": "done", "reflection": "Ok", "evidence": [1]}, "evidence.0", None),
    ({"status": "done", "reflection": "Ok", "evidence": ["https://e.org/" + "x" * 490]},
     "evidence.0", None),
    ({"status": "done", "reflection": "Ok", "evidence": [f"https://e.org/{n}" for n in range(11)]},
     "evidence", None),
    ({"status": "dropped"}, "drop_reason", None),
    ({"status": "dropped", "drop_reason": "   "}, "drop_reason", None),
    ({"status": "dropped", "drop_reason": "x" * 301}, "drop_reason", None),
    ({"reflection": "Finished?"}, "status", "missing"),
    ({"drop_reason": "Bored"}, "status", "missing"),
    ({"evidence": ["https://example.org"]}, "status", "missing"),
    ({"status": "finished"}, "status", None),
    ({"status": "DONE"}, "status", None),
    ({"status": 1}, "status", None),
    ({"status": ["done"]}, "status", None),
    ({"title": ""}, "title", None),
    ({"title": "   "}, "title", None),
    ({"title": 7}, "title", None),
    ({"title": "x" * 161}, "title", None),
    ({"why": "x" * 1001}, "why", None),
    ({"why": ["why"]}, "why", None),
    ({"target_date": "soon"}, "target_date", None),
    ({"target_date": (START - timedelta(days=1)).isoformat()}, "target_date", None),
    ({"target_date": (END + timedelta(days=366)).isoformat()}, "target_date", None),
    ({"visibility": "everyone"}, "visibility", None),
    ({"progress": 50}, "progress", None),
    ({"cohort_id": 1}, "cohort_id", None),
    ({"title": "Sneaky new title", "reflection": "no status"}, "status", "missing"),
    ({"title": "Sneaky new title", "status": "dropped"}, "drop_reason", None),
    ({"title": "Sneaky new title", "status": "done", "reflection": " "}, "reflection", None),
])
def test_bad_changes_are_422_naming_the_field_and_change_nothing(app, world, api, body, field,
                                                                 code):
    goal_id = write_goal(app, world["participant"], world["cohort"], "Unchanged",
                         why="Why not", target_date=TODAY + timedelta(days=5))
    client = api("participant")
    before = client.get(f"/goals/{goal_id}").get_json()
    found = problem(client.patch(f"/goals/{goal_id}", json=body), 422, "validation_failed", field)
    if code:
        assert found["errors"][0]["code"] == code
    assert client.get(f"/goals/{goal_id}").get_json() == before
    row = goal_row(app, goal_id)
    assert (row.status, row.reflection, row.drop_reason, row.evidence) == (
        GoalStatus.ACTIVE, "", "", [])


def test_patch_bodies_that_are_not_json_objects_are_refused(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"], "Unchanged")
    client = api("participant")
    path = f"/goals/{goal_id}"
    problem(client.patch(path, data=b"{title: x}", content_type="application/json"), 400,
            "invalid_json")
    problem(client.patch(path, data=b"", content_type="application/json"), 400, "invalid_json")
    problem(client.patch(path, data=b'{"title": "X"}', content_type="text/plain"), 415,
            "unsupported_media_type")
    problem(client.patch(path, data=b"[]", content_type="application/json"), 422,
            "validation_failed", "body")
    problem(client.patch(path, json={"title": "y" * 100_000}), 413, "too_large")
    assert goal_row(app, goal_id).title == "Unchanged"


def test_changing_someone_elses_goal_is_404_and_changes_nothing(app, world, api, others):
    client = api("participant")
    for goal_id in (others["bea_goal"], others["cal_goal"], 999_999, 2**31 - 1):
        problem(client.patch(f"/goals/{goal_id}", json={"title": "Mine now",
                                                        "status": "dropped",
                                                        "drop_reason": "ha"}), 404, "not_found")
    for goal_id in (others["bea_goal"], others["cal_goal"]):
        row = goal_row(app, goal_id)
        assert row.status is GoalStatus.ACTIVE
        assert "secret goal" in row.title


@pytest.mark.parametrize("goal_id", [2**31, 2**32 + 1, 10**20])
def test_patching_a_goal_id_beyond_a_database_integer_is_404(app, world, api, goal_id):
    """Like GET: no goal has such an id. (Not 405: PATCH is allowed on a goal.)"""
    write_goal(app, world["participant"], world["cohort"])
    client = api("participant")
    client.get("/goals/1")  # a GET before, as a client reading then writing would
    problem(client.patch(f"/goals/{goal_id}", json={"title": "Huge"}), 404, "not_found")


def test_a_library_goal_keeps_its_title(app, world, api):
    with app.app_context():
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(db.session.get(Cohort, world["cohort"]), person)
        library_goal = current_library().goals[sorted(current_library().goals)[0]]
        goal_id = services.adopt_goal(plan, library_goal, actor=person).id
        db.session.commit()
        title, slug = library_goal.title, library_goal.slug
    client = api("participant")
    assert client.get(f"/goals/{goal_id}").get_json()["library_slug"] == slug
    body = problem(client.patch(f"/goals/{goal_id}", json={"title": "My own words",
                                                           "why": "Changed too?"}),
                   422, "validation_failed", "title")
    assert body["errors"][0]["code"] == "read_only"
    assert client.get(f"/goals/{goal_id}").get_json()["why"] == ""
    same = client.patch(f"/goals/{goal_id}", json={"title": title, "why": "It matters"})
    assert same.status_code == 200, same.get_json()
    assert (same.get_json()["title"], same.get_json()["why"]) == (title, "It matters")
    assert goal_row(app, goal_id).title == title


# --- archived cohorts -------------------------------------------------------------------------


def test_an_archived_cohorts_goals_are_read_only(app, world, api):
    goal_id = write_goal(app, world["participant"], world["cohort"], "From the archive")
    archive(app, world["cohort"])
    client = api("participant")
    assert [g["id"] for g in client.get("/goals").get_json()["items"]] == [goal_id]
    assert client.get(f"/goals/{goal_id}").get_json()["title"] == "From the archive"
    problem(client.post("/goals", json={"title": "New", "cohort_id": world["cohort"]}), 403,
            "cohort_archived")
    problem(client.patch(f"/goals/{goal_id}", json={"title": "Changed"}), 403, "cohort_archived")
    problem(client.patch(f"/goals/{goal_id}", json={"status": "done", "reflection": "Done"}),
            403, "cohort_archived")
    # no running cohort left to default to
    body = problem(client.post("/goals", json={"title": "New"}), 422, "validation_failed",
                   "cohort_id")
    assert body["errors"][0]["code"] == "no_cohort"
    assert goal_count(app) == 1
    row = goal_row(app, goal_id)
    assert (row.title, row.status) == ("From the archive", GoalStatus.ACTIVE)


def test_wrong_methods_are_405_problems(api, world):
    client = api("participant")
    response = client.client.delete("/api/v1/goals", headers=client.headers())
    problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_the_target_date_is_a_plain_date(api):
    """A date with a time or a zone is not a date."""
    for value in ("2026-04-01T00:00:00", "2026-04-01T00:00:00Z", "2026-4-1"):
        problem(api("participant").post("/goals", json={"title": "Ok", "target_date": value}),
                422, "validation_failed", "target_date")
    ok = api("participant").post("/goals", json={"title": "Ok", "target_date": "2026-04-01"})
    assert ok.status_code == 201


def test_a_null_title_is_refused_and_a_null_why_clears_it(api):
    client = api("participant")
    goal = client.post("/goals", json={"title": "Book a GP appointment online",
                                       "why": "Saves a phone queue"}).get_json()
    refused = client.patch(f"/goals/{goal['id']}", json={"title": None})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "title"
    cleared = client.patch(f"/goals/{goal['id']}", json={"why": None})
    assert cleared.status_code == 200
    assert cleared.get_json()["why"] == ""
    assert cleared.get_json()["title"] == "Book a GP appointment online"
