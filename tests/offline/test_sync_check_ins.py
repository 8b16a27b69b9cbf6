"""Check-ins made offline, sent by the device when it is back online (POST /sync/check-ins).

Each entry carries its own Idempotency-Key: a retried send never saves it twice. What the
server refuses is a problem with a stable code, so the device can explain it; nothing is
saved then.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.extensions import db
from dap.plans.models import CheckIn, GoalStatus
from tests import factories
from tests.api.conftest import write_goal
from tests.conftest import post_form
from tests.offline.conftest import iso, problem


@pytest.fixture
def goal(own_goal):
    return own_goal()


def body(goal: int, /, **fields) -> dict:
    return {"goal_id": goal, "progress": 40, "minutes": 20, "note": "Tried a shared doc",
            "made_at": iso(now_utc() - timedelta(hours=2)), **fields}


def stored(app) -> list[CheckIn]:
    with app.app_context():
        entries = db.session.scalars(select(CheckIn).order_by(CheckIn.id)).all()
        db.session.expunge_all()
        return entries


def test_a_queued_check_in_is_saved_when_it_was_made(app, world, device, goal):
    made = now_utc().replace(microsecond=0) - timedelta(hours=5)
    response = device().check_in(body(goal, made_at=iso(made)))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    [entry] = stored(app)
    assert answer["id"] == entry.id
    assert answer["goal_id"] == goal
    assert answer["goal_title"] == "Run a poll on our intranet"
    assert (entry.progress, entry.minutes, entry.note) == (40, 20, "Tried a shared doc")
    assert entry.created_at.replace(tzinfo=made.tzinfo) == made
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        assert entry.local_date == local_date(made, cohort.timezone)
    assert answer["local_date"] == entry.local_date.isoformat()
    assert answer["balance"]["web_minutes"] >= 20


def test_a_retried_send_saves_it_once_and_answers_the_same(app, device, goal):
    phone = device()
    entry = body(goal)
    first = phone.check_in(entry, key="4f1c6a2e-queued-1")
    again = phone.check_in(entry, key="4f1c6a2e-queued-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(stored(app)) == 1


def test_the_same_key_with_another_entry_is_refused(app, device, goal):
    phone = device()
    assert phone.check_in(body(goal), key="same-key").status_code == 201
    problem(phone.check_in(body(goal, note="Something else"), key="same-key"), 422,
            "idempotency_key_reused")
    assert len(stored(app)) == 1


def test_two_entries_with_their_own_keys_are_both_saved(app, device, goal):
    phone = device()
    assert phone.check_in(body(goal, note="one")).status_code == 201
    assert phone.check_in(body(goal, note="two")).status_code == 201
    assert [e.note for e in stored(app)] == ["one", "two"]


def test_without_an_idempotency_key_nothing_is_saved(app, device, goal):
    found = problem(device().check_in(body(goal), key=None), 428, "idempotency_key_required")
    assert "Idempotency-Key" in found["detail"]
    assert stored(app) == []


@pytest.mark.parametrize("key", ["", "a" * 256, "has space", "ключ"])
def test_a_malformed_key_is_refused(app, device, goal, key):
    response = device().check_in(body(goal), headers={"Idempotency-Key": key.encode().decode(
        "latin-1")}, key=None)
    problem(response, 400, "invalid_idempotency_key")
    assert stored(app) == []


def test_without_the_csrf_token_it_is_refused_with_a_code_the_script_knows(app, device, goal):
    phone = device()
    problem(phone.check_in(body(goal), token=None), 400, "csrf_failed")
    problem(phone.check_in(body(goal), token="not-the-token"), 400, "csrf_failed")
    assert stored(app) == []


def test_signed_out_it_is_a_401_problem_and_nothing_is_saved(app, device, goal):
    phone = device()
    post_form(phone.client, "/logout")
    response = phone.check_in(body(goal))
    assert response.status_code in (400, 401)  # no session: no CSRF token either
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] in ("signed_out", "csrf_failed")
    fresh = app.test_client()
    problem(fresh.get("/sync/state"), 401, "signed_out")
    assert stored(app) == []


def test_a_goal_finished_meanwhile_is_a_conflict_the_device_can_explain(app, world, device):
    closed = write_goal(app, world["participant"], world["cohort"], status=GoalStatus.DONE)
    found = problem(device().check_in(body(closed)), 409, "goal_closed")
    assert "start it again" in found["detail"]
    dropped = write_goal(app, world["participant"], world["cohort"], title="Dropped",
                         status=GoalStatus.DROPPED)
    problem(device().check_in(body(dropped)), 409, "goal_closed")
    assert stored(app) == []


def test_a_goal_deleted_or_someone_elses_is_not_found(app, world, device, own_goal):
    with app.app_context():
        other = factories.make_user(name="Another Participant")
        factories.add_member(db.session.get(Cohort, world["cohort"]), other,
                             CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
    theirs = own_goal(title="Someone else's goal", user=other_id)
    problem(device().check_in(body(theirs)), 404, "goal_not_found")
    problem(device().check_in(body(999_999)), 404, "goal_not_found")
    mine = own_goal()
    problem(device("patron").check_in(body(mine)), 404, "goal_not_found")
    problem(device("facilitator").check_in(body(mine)), 404, "goal_not_found")
    assert stored(app) == []


def test_an_archived_cohort_takes_nothing(app, world, device, goal):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    problem(device().check_in(body(goal)), 403, "cohort_archived")
    assert stored(app) == []


def test_a_removed_member_cannot_send_to_their_old_plan(app, world, device, goal):
    phone = device()
    with app.app_context():
        db.session.delete(db.session.get(Membership, world["participant_membership"]))
        db.session.commit()
    problem(phone.check_in(body(goal)), 404, "goal_not_found")
    assert stored(app) == []


@pytest.mark.parametrize(("shift", "message"), [
    (timedelta(hours=1), "still to come"),
    (timedelta(days=-15), "14 days"),
    (timedelta(days=-9), "programme started"),
])
def test_made_at_outside_what_is_believable_is_refused(app, device, goal, shift, message):
    found = problem(device().check_in(body(goal, made_at=iso(now_utc() + shift))), 422,
                    "validation_failed", "made_at")
    assert message in found["detail"]
    assert stored(app) == []


def test_a_device_clock_a_few_minutes_ahead_is_read_as_now(app, device, goal):
    before = now_utc()
    response = device().check_in(body(goal, made_at=iso(now_utc() + timedelta(minutes=4))))
    assert response.status_code == 201
    [entry] = stored(app)
    assert before.replace(tzinfo=None) <= entry.created_at.replace(tzinfo=None) <= \
        now_utc().replace(tzinfo=None)


@pytest.mark.parametrize("made_at", ["2026-12-01T10:00:00", "yesterday", "", None, 12345,
                                     "2026-13-01T10:00:00+00:00"])
def test_made_at_must_be_a_time_with_its_offset(app, device, goal, made_at):
    problem(device().check_in(body(goal, made_at=made_at)), 422, "validation_failed",
            "made_at")
    assert stored(app) == []


def test_made_at_is_required(app, device, goal):
    entry = body(goal)
    del entry["made_at"]
    problem(device().check_in(entry), 422, "validation_failed", "made_at")


@pytest.mark.parametrize(("fields", "field"), [
    ({"progress": 101}, "progress"), ({"progress": -1}, "progress"),
    ({"progress": "half"}, "progress"), ({"progress": True}, "progress"),
    ({"minutes": 0}, "minutes"), ({"minutes": 601}, "minutes"), ({"minutes": 1.5}, "minutes"),
    ({"note": "x" * 1001}, "note"), ({"goal_id": "abc"}, "goal_id"), ({"goal_id": 0}, "goal_id"),
    ({"goal_id": 2**40}, "goal_id"), ({"colour": "red"}, "colour"),
])
def test_bad_values_are_422_naming_the_field(app, device, goal, fields, field):
    problem(device().check_in(body(goal, **fields)), 422, "validation_failed", field)
    assert stored(app) == []


def test_an_empty_check_in_is_refused(app, device, goal):
    found = problem(device().check_in(body(goal, progress=None, minutes=None, note="")), 422,
                    "validation_failed", "note")
    assert "progress, minutes or a note" in found["detail"]


@pytest.mark.parametrize(("raw", "content_type", "status", "code"), [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"[]", "application/json", 422, "validation_failed"),
    (b"goal_id=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"", "application/json", 400, "invalid_json"),
])
def test_bodies_that_are_not_an_entry(app, device, goal, raw, content_type, status, code):
    problem(device().check_in(raw, headers={"Content-Type": content_type}), status, code)
    assert stored(app) == []


def test_a_huge_body_is_refused_without_reading_it_all(app, device, goal):
    response = device().check_in(body(goal, note="x" * 200_000))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert stored(app) == []


def test_unicode_notes_arrive_intact(app, device, goal):
    note = "Tried Zoom 🎉 with my team — über gut, 中文 ok"
    assert device().check_in(body(goal, note=note)).status_code == 201
    assert stored(app)[0].note == note


def test_a_planned_goal_becomes_active_as_on_the_web(app, world, device):
    planned = write_goal(app, world["participant"], world["cohort"], status=GoalStatus.PLANNED)
    assert device().check_in(body(planned, progress=10)).status_code == 201
    with app.app_context():
        from dap.plans.models import PlanGoal

        goal = db.session.get(PlanGoal, planned)
        assert (goal.status, goal.progress) == (GoalStatus.ACTIVE, 10)
