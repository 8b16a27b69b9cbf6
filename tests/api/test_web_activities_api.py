"""/api/v1/web-activities: logging time spent learning on the wider web through the API, and
listing it; it counts towards the week's web minutes; and everything a client may send
wrong (minutes, days, addresses, goals, people who are not participants)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.extensions import db
from dap.plans import services
from dap.plans.models import GoalStatus
from dap.timecap.models import ActivityKind, WebActivity
from tests import factories
from tests.api.conftest import Api, all_pages, make_token, problem, write_goal

NOW = datetime(2026, 3, 11, 12, tzinfo=UTC)  # a Wednesday, noon in London
TODAY = NOW.date()
#: the world's cohort started a week ago (tests/factories.make_cohort)
START = TODAY - timedelta(days=7)


@pytest.fixture(autouse=True)
def _clock(frozen):
    """The clock stands still (autouse: before the world is made, so its dates are known)."""
    frozen(NOW)


# --- helpers ----------------------------------------------------------------------------------




def activity(**fields) -> dict:
    """A good body, with ``fields`` changed."""
    return {"kind": "read", "title": "An article on running polls", "minutes": 30, **fields}




def activity_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebActivity))


def activity_rows(app) -> list[WebActivity]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebActivity).order_by(WebActivity.id)))
        db.session.expunge_all()
        return rows


def set_start(app, cohort_id: int, start) -> None:
    with app.app_context():
        db.session.get(Cohort, cohort_id).start_date = start
        db.session.commit()




@pytest.fixture
def others(app, world):
    """Bea, a second participant of the world's cohort, and Cal, a participant of another
    cohort: each with a goal, a logged activity and a read-write token."""
    with app.app_context():
        from dap.timecap import services as timecap

        cohort = db.session.get(Cohort, world["cohort"])
        bea = factories.make_user(name="Bea Second")
        factories.add_member(cohort, bea, CohortRole.PARTICIPANT)
        elsewhere = factories.make_cohort(name="Elsewhere")
        cal = factories.make_user(name="Cal Elsewhere")
        factories.add_member(elsewhere, cal, CohortRole.PARTICIPANT)
        ids = {"bea": bea.id, "cal": cal.id}
        for name, person, where in (("bea", bea, cohort), ("cal", cal, elsewhere)):
            goal = services.write_goal(services.plan_for(where, person), actor=person,
                                       title=f"{name}'s goal")
            logged = timecap.log_web_activity(person, where, actor=person,
                                              kind=ActivityKind.MADE, title=f"{name}'s video",
                                              url="", minutes=40, goal_id=goal.id, note="",
                                              day=None)
            ids[f"{name}_goal"], ids[f"{name}_activity"] = goal.id, logged.id
        db.session.commit()
        ids["bea_token"] = make_token(bea.id)
    return ids


# --- logging ----------------------------------------------------------------------------------


def test_an_activity_round_trips_every_field(app, world, api):
    goal = write_goal(app, world["participant"], world["cohort"])
    client = api("participant")
    sent = {"kind": "tried", "title": "Tried Miro for a retro 🧩", "minutes": 45,
            "url": "https://miro.com/templates/retrospective/?ref=dap#top", "goal_id": goal,
            "note": "Good for remote teams.\nSticky notes!", "day": (TODAY - timedelta(days=2)).isoformat()}
    response = client.post("/web-activities", json=sent)
    assert response.status_code == 201, response.get_json()
    assert response.mimetype == "application/json"
    logged = response.get_json()
    assert {k: logged[k] for k in sent} == sent
    assert logged["cohort_id"] == world["cohort"]
    assert datetime.fromisoformat(logged["created_at"]).replace(tzinfo=UTC) == NOW
    assert client.get("/web-activities").get_json() == {"items": [logged], "next_cursor": None}
    [row] = activity_rows(app)
    assert (row.user_id, row.created_by_id, row.kind, row.minutes, row.goal_id) == (
        world["participant"], world["participant"], ActivityKind.TRIED, 45, goal)


def test_an_activity_with_only_what_is_required_gets_the_defaults(app, world, api):
    response = api("participant").post("/web-activities", json=activity())
    assert response.status_code == 201, response.get_json()
    logged = response.get_json()
    assert (logged["url"], logged["goal_id"], logged["note"], logged["day"]) == (
        "", None, "", TODAY.isoformat())


@pytest.mark.parametrize("kind", [k.value for k in ActivityKind])
def test_every_kind_is_accepted(app, api, world, kind):
    response = api("participant").post("/web-activities", json=activity(kind=kind))
    assert response.status_code == 201, response.get_json()
    assert api("participant").get("/web-activities").get_json()["items"][0]["kind"] == kind


@pytest.mark.parametrize("fields", [
    {"minutes": 1}, {"minutes": 600}, {"title": "t"}, {"title": "x" * 200}, {"title": "🎧" * 200},
    {"note": "n" * 1000}, {"url": "http://example.org"}, {"url": "HTTPS://EXAMPLE.ORG/A"},
    {"url": "https://例え.jp/パス?q=ü"}, {"url": "https://e.org/" + "p" * 486},
    {"day": TODAY.isoformat()}, {"day": START.isoformat()},
])
def test_values_at_the_edges_are_accepted(app, api, world, fields):
    response = api("participant").post("/web-activities", json=activity(**fields))
    assert response.status_code == 201, response.get_json()
    logged = response.get_json()
    for key, value in fields.items():
        assert logged[key] == value
    assert activity_count(app) == 1


@pytest.mark.parametrize("title", ["Überzeugen — ein Leitfaden", "学习笔记", "دليل التعلم",
                                   "👩‍💻 pair programming 🍐", "<img src=x onerror=alert(1)>"])
def test_unicode_and_markup_titles_come_back_intact(app, api, world, title):
    client = api("participant")
    response = client.post("/web-activities", json=activity(title=title, note=title))
    assert response.status_code == 201, response.get_json()
    listed = client.get("/web-activities").get_json()["items"][0]
    assert (listed["title"], listed["note"]) == (title, title)
    assert activity_rows(app)[0].title == title


def test_a_title_is_trimmed_and_cleaned_of_control_characters(app, api, world):
    response = api("participant").post("/web-activities",
                                       json=activity(title="  A\u0000 talk\u0007 ", url=" https://e.org "))
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["title"], response.get_json()["url"]) == ("A talk", "https://e.org")


@pytest.mark.parametrize(("fields", "field"), [
    ({"minutes": 0}, "minutes"),
    ({"minutes": -5}, "minutes"),
    ({"minutes": 601}, "minutes"),
    ({"minutes": "30"}, "minutes"),
    ({"minutes": 30.5}, "minutes"),
    ({"minutes": 30.0}, "minutes"),
    ({"minutes": None}, "minutes"),
    ({"minutes": True}, "minutes"),
    ({"minutes": [30]}, "minutes"),
    ({"minutes": 10**20}, "minutes"),
    ({"kind": "watched"}, "kind"),
    ({"kind": "READ"}, "kind"),
    ({"kind": ""}, "kind"),
    ({"kind": None}, "kind"),
    ({"kind": 1}, "kind"),
    ({"title": ""}, "title"),
    ({"title": "   \n "}, "title"),
    ({"title": "\u0000\u0008"}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "🎧" * 201}, "title"),
    ({"title": None}, "title"),
    ({"title": 42}, "title"),
    ({"title": ["a title"]}, "title"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "JavaScript:alert(document.cookie)"}, "url"),
    ({"url": " javascript:alert(1)"}, "url"),
    ({"url": "data:text/html,<script>alert(1)</script>"}, "url"),
    ({"url": "file:///etc/passwd"}, "url"),
    ({"url": "ftp://example.org/file"}, "url"),
    ({"url": "example.org/article"}, "url"),
    ({"url": "https://"}, "url"),
    ({"url": "//example.org"}, "url"),
    ({"url": "https://e.org/" + "p" * 487}, "url"),
    ({"url": None}, "url"),
    ({"url": 5}, "url"),
    ({"note": "x" * 1001}, "note"),
    ({"note": None}, "note"),
    ({"note": {"text": "hi"}}, "note"),
    ({"day": (TODAY + timedelta(days=1)).isoformat()}, "day"),
    ({"day": "2099-01-01"}, "day"),
    ({"day": (START - timedelta(days=1)).isoformat()}, "day"),
    ({"day": "2000-01-01"}, "day"),
    ({"day": "2026-02-30"}, "day"),
    ({"day": "yesterday"}, "day"),
    ({"day": ""}, "day"),
    ({"day": 20260310}, "day"),
    ({"day": "10/03/2026"}, "day"),
    ({"goal_id": "1"}, "goal_id"),
    ({"goal_id": 0}, "goal_id"),
    ({"goal_id": 2**31}, "goal_id"),
    ({"goal_id": 999_999}, "goal_id"),
    ({"goal_id": 1.5}, "goal_id"),
    ({"cohort_id": 1}, "cohort_id"),
    ({"user_id": 1}, "user_id"),
    ({"local_date": TODAY.isoformat()}, "local_date"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_members_are_422_naming_the_field_and_nothing_is_saved(app, api, world, fields,
                                                                   field):
    response = api("participant").post("/web-activities", json=activity(**fields))
    problem(response, 422, "validation_failed", field)
    assert activity_count(app) == 0


@pytest.mark.parametrize("missing", ["kind", "title", "minutes"])
def test_a_missing_required_member_is_422(app, api, world, missing):
    body = activity()
    del body[missing]
    problem(api("participant").post("/web-activities", json=body), 422, "validation_failed",
            missing)
    assert activity_count(app) == 0


def test_time_is_logged_up_to_14_days_back_and_no_further(app, api, world):
    set_start(app, world["cohort"], TODAY - timedelta(days=60))
    client = api("participant")
    ok = client.post("/web-activities", json=activity(day=(TODAY - timedelta(days=14)).isoformat()))
    assert ok.status_code == 201, ok.get_json()
    found = problem(client.post("/web-activities",
                                json=activity(day=(TODAY - timedelta(days=15)).isoformat())),
                    422, "validation_failed", "day")
    assert "14 days" in found["errors"][0]["message"]
    assert activity_count(app) == 1


def test_a_day_before_the_cohort_started_names_the_start(app, api, world):
    found = problem(api("participant").post("/web-activities", json=activity(
        day=(START - timedelta(days=1)).isoformat())), 422, "validation_failed", "day")
    assert "started on" in found["errors"][0]["message"]


@pytest.mark.parametrize("status", [GoalStatus.DONE, GoalStatus.DROPPED])
def test_a_finished_or_dropped_goal_is_refused(app, api, world, status):
    closed = write_goal(app, world["participant"], world["cohort"], status=status)
    problem(api("participant").post("/web-activities", json=activity(goal_id=closed)), 422,
            "validation_failed", "goal_id")
    assert activity_count(app) == 0


def test_someone_elses_goal_is_refused_and_their_activities_are_never_listed(app, api, world,
                                                                            others):
    client = api("participant")
    for goal_id in (others["bea_goal"], others["cal_goal"]):
        problem(client.post("/web-activities", json=activity(goal_id=goal_id)), 422,
                "validation_failed", "goal_id")
    assert activity_count(app) == 2  # Bea's and Cal's own
    mine = client.post("/web-activities", json=activity(title="Mine"))
    assert mine.status_code == 201
    listed = client.get("/web-activities?limit=100").get_json()["items"]
    assert [a["id"] for a in listed] == [mine.get_json()["id"]]
    bea = Api(app.test_client(), others["bea_token"])
    assert [a["id"] for a in bea.get("/web-activities").get_json()["items"]] == [
        others["bea_activity"]]


def test_a_goal_of_mine_in_another_cohort_is_refused(app, api, world):
    """The activity goes to the cohort whose cap applies; a goal of another plan of mine is
    not one it can serve."""
    with app.app_context():
        me = db.session.get(User, world["participant"])
        older = factories.make_cohort(name="Older", start_date=TODAY - timedelta(days=30))
        factories.add_member(older, me, CohortRole.PARTICIPANT)
        db.session.commit()
        older_id = older.id
    there = write_goal(app, world["participant"], older_id, "In the older cohort")
    problem(api("participant").post("/web-activities", json=activity(goal_id=there)), 422,
            "validation_failed", "goal_id")
    assert activity_count(app) == 0


@pytest.mark.parametrize("role", ["patron", "facilitator", "admin", "outsider"])
def test_only_participants_log_web_time(app, api, world, role):
    client = api(role)
    problem(client.post("/web-activities", json=activity()), 403, "not_a_participant")
    assert client.get("/web-activities").get_json() == {"items": [], "next_cursor": None}
    assert activity_count(app) == 0


def test_a_removed_participant_cannot_log_but_still_reads_what_they_logged(app, api, world):
    client = api("participant")
    assert client.post("/web-activities", json=activity(title="Before")).status_code == 201
    with app.app_context():
        db.session.get(Membership, world["participant_membership"]).status = (
            MembershipStatus.REMOVED)
        db.session.commit()
    problem(client.post("/web-activities", json=activity(title="After")), 403,
            "not_a_participant")
    assert [a["title"] for a in client.get("/web-activities").get_json()["items"]] == ["Before"]


def test_an_archived_cohort_takes_no_new_web_time_but_its_log_stays_readable(app, api, world):
    """An archived cohort is no longer running, so its participants are no longer measured:
    the refusal is ``not_a_participant`` (this API's web time has no ``cohort_id`` to name an
    archived cohort by)."""
    client = api("participant")
    first = client.post("/web-activities", json=activity(title="Logged in time"))
    assert first.status_code == 201
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    problem(client.post("/web-activities", json=activity(title="Too late")), 403,
            "not_a_participant")
    assert client.get("/web-activities").get_json()["items"] == [first.get_json()]
    assert activity_count(app) == 1


def test_with_a_running_and_an_archived_cohort_time_goes_to_the_running_one(app, api, world):
    with app.app_context():
        me = db.session.get(User, world["participant"])
        archived = factories.make_cohort(name="Archived newer", start_date=TODAY,
                                         is_archived=True)
        factories.add_member(archived, me, CohortRole.PARTICIPANT)
        db.session.commit()
    response = api("participant").post("/web-activities", json=activity())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["cohort_id"] == world["cohort"]


# --- bodies that are not JSON objects ---------------------------------------------------------


@pytest.mark.parametrize(("raw", "content_type", "status", "code"), [
    (b"", "application/json", 400, "invalid_json"),
    (b"kind=read&title=x&minutes=30", "application/json", 400, "invalid_json"),
    (b'{"kind": "read", "title": "x", "minutes": 30', "application/json", 400, "invalid_json"),
    (b'{"kind": "read", "title": "x", "minutes": 30,}', "application/json", 400, "invalid_json"),
    (b'{"kind": "read", "title": "\xff", "minutes": 30}', "application/json", 400, "invalid_json"),
    (b"[]", "application/json", 422, "validation_failed"),
    (b'[{"kind": "read", "title": "x", "minutes": 30}]', "application/json", 422,
     "validation_failed"),
    (b"30", "application/json", 422, "validation_failed"),
    (b'{"kind": "read", "title": "x", "minutes": 30}', "text/plain", 415,
     "unsupported_media_type"),
    (b"kind=read&title=x&minutes=30", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    (b'{"kind": "read", "title": "x", "minutes": 30}', None, 415, "unsupported_media_type"),
])
def test_bodies_that_are_not_json_objects_are_refused(app, api, world, raw, content_type, status,
                                                      code):
    kwargs = {"content_type": content_type} if content_type else {}
    problem(api("participant").post("/web-activities", data=raw, **kwargs), status, code)
    assert activity_count(app) == 0


def test_a_100_kb_body_is_413_and_saves_nothing(app, api, world):
    problem(api("participant").post("/web-activities", json=activity(note="n" * 100_000)), 413,
            "too_large")
    assert activity_count(app) == 0


# --- listing, tokens and time -----------------------------------------------------------------


def test_five_activities_come_in_pages_of_two_newest_first_each_once(app, api, world):
    client = api("participant")
    made = []
    for n in range(5):
        response = client.post("/web-activities", json=activity(title=f"Article {n}"))
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
    ids, cursors = all_pages(client, "/web-activities", 2)
    assert ids == made[::-1]
    assert len(cursors) == 3
    assert all(cursors[:-1])
    assert cursors[-1] is None
    exact = client.get("/web-activities?limit=5").get_json()
    assert [a["id"] for a in exact["items"]] == ids
    assert exact["next_cursor"] is None


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"),
    ("limit=", "limit"), ("cursor=garbage", "cursor"), ("cursor=-5", "cursor"),
    ("cursor=aWQ6Mw", "cursor"), ("cursor=99999999999", "cursor"), ("goal_id=1", "goal_id"),
    ("kind=read", "kind"),
])
def test_bad_list_parameters_are_422_naming_the_parameter(api, world, query, field):
    problem(api("participant").get("/web-activities?" + query), 422, "validation_failed", field)


def test_a_read_only_token_lists_but_cannot_log(app, api, world):
    assert api("participant").post("/web-activities", json=activity(title="Mine")
                                   ).status_code == 201
    reader = api("participant-read")
    assert [a["title"] for a in reader.get("/web-activities").get_json()["items"]] == ["Mine"]
    problem(reader.post("/web-activities", json=activity()), 403, "insufficient_scope")
    problem(api(None).post("/web-activities", json=activity()), 401, "token_missing")
    problem(api(None).get("/web-activities"), 401, "token_missing")
    assert activity_count(app) == 1


def test_logged_minutes_and_check_in_minutes_make_this_weeks_web_minutes(app, api, world):
    goal = write_goal(app, world["participant"], world["cohort"])
    client = api("participant")
    assert client.get("/time").get_json()["web_minutes"] == 0
    monday = TODAY - timedelta(days=TODAY.weekday())
    for fields in ({"minutes": 30}, {"minutes": 15, "day": monday.isoformat(), "goal_id": goal},
                   # last Sunday: last week
                   {"minutes": 100, "day": (monday - timedelta(days=1)).isoformat()}):
        assert client.post("/web-activities", json=activity(**fields)).status_code == 201
    assert client.post("/check-ins", json={"goal_id": goal, "minutes": 20}).status_code == 201
    time = client.get("/time").get_json()
    assert time["week_starts"] == monday.isoformat()
    assert time["web_minutes"] == 65
    # a refused activity adds nothing
    client.post("/web-activities", json=activity(minutes=601))
    client.post("/web-activities", json=activity(minutes="30"))
    assert client.get("/time").get_json()["web_minutes"] == 65
