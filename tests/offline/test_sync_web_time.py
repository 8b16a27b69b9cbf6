"""Web time logged offline, sent later (POST /sync/web-activities), and what the cap makes
of entries that arrive: they are saved whatever the cap says (they were made away from
DAP), their answer carries the week's figures, and sending them is no platform time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.clock import now_utc
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.timecap.models import PlatformDay, WebActivity
from tests.offline.conftest import iso, problem


def entry(**fields) -> dict:
    return {"kind": "tried", "title": "A shared spreadsheet", "url": "https://example.org/sheet",
            "minutes": 30, "note": "Made a budget", "made_at": iso(now_utc()), **fields}


def activities(app) -> list[WebActivity]:
    with app.app_context():
        found = db.session.scalars(select(WebActivity).order_by(WebActivity.id)).all()
        db.session.expunge_all()
        return found


def platform_seconds(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(PlatformDay.seconds), 0)))


@pytest.fixture
def capped(app, world):
    """The world cohort with no grace: a participant who logged no web time is capped."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.grace_minutes, cohort.platform_minutes_per_week = 0, 60
        db.session.commit()


def test_queued_web_time_is_saved_once(app, device):
    phone = device()
    queued = entry()
    first = phone.web(queued, key="web-entry-1")
    again = phone.web(queued, key="web-entry-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    [saved] = activities(app)
    assert (saved.title, saved.minutes, saved.url, saved.note) == (
        "A shared spreadsheet", 30, "https://example.org/sheet", "Made a budget")
    assert first.get_json()["balance"]["web_minutes"] == 30


def test_the_day_is_the_day_it_was_made_in_the_cohorts_time_zone(app, world, device, frozen):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.timezone, cohort.start_date = "America/New_York", date(2026, 9, 1)
        db.session.commit()
    phone = device()
    frozen(datetime(2026, 11, 18, 15, 0, tzinfo=UTC))
    made = datetime(2026, 11, 18, 3, 30, tzinfo=UTC)  # 22:30 on the 17th in New York
    answer = phone.web(entry(made_at=iso(made))).get_json()
    assert answer["day"] == "2026-11-17"
    assert activities(app)[0].local_date == date(2026, 11, 17)


def test_a_day_given_wins_over_made_at(app, device):
    yesterday = (now_utc() - timedelta(days=1)).date()
    assert device().web(entry(day=yesterday.isoformat())).get_json()["day"] == \
        yesterday.isoformat()


def test_web_time_that_arrives_lifts_the_cap_at_once(app, device, capped):
    phone = device()
    state = phone.state().get_json()
    assert state["balance"]["capped"] is True
    answer = phone.web(entry(minutes=30)).get_json()
    assert answer["balance"]["capped"] is False
    assert answer["balance"]["allowance_minutes"] == 30


def test_check_ins_arrive_while_capped_and_say_so(app, device, own_goal, capped):
    goal = own_goal()
    response = device().check_in({"goal_id": goal, "note": "Read about passkeys",
                                  "made_at": iso(now_utc() - timedelta(minutes=30))})
    assert response.status_code == 201
    assert response.get_json()["balance"]["capped"] is True


def test_sending_is_no_platform_time(app, device, own_goal):
    phone = device()
    goal = own_goal()
    before = platform_seconds(app)
    phone.state()
    phone.web(entry())
    phone.check_in({"goal_id": goal, "minutes": 5, "made_at": iso(now_utc())})
    assert platform_seconds(app) == before


def test_only_participants_log_web_time(app, device):
    for role in ("patron", "facilitator", "admin"):
        problem(device(role).web(entry()), 403, "not_a_participant")
    assert activities(app) == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "browsed"}, "kind"), ({"kind": None}, "kind"), ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"), ({"minutes": 0}, "minutes"), ({"minutes": 601}, "minutes"),
    ({"minutes": "ten"}, "minutes"), ({"minutes": -5}, "minutes"),
    ({"url": "javascript:alert(1)"}, "url"), ({"url": "x" * 501}, "url"),
    ({"note": "x" * 1001}, "note"), ({"goal_id": 999_999}, "goal_id"),
    ({"day": "2026-02-30"}, "day"), ({"made_at": "soon"}, "made_at"),
    ({"made_at": "2026-11-18T10:00:00"}, "made_at"),
])
def test_bad_values_are_422_naming_the_field(app, device, fields, field):
    problem(device().web(entry(**fields)), 422, "validation_failed", field)
    assert activities(app) == []


def test_days_to_come_or_long_ago_are_refused(app, device):
    problem(device().web(entry(day=(now_utc() + timedelta(days=2)).date().isoformat())), 422,
            "validation_failed", "day")
    problem(device().web(entry(made_at=iso(now_utc() + timedelta(days=1)))), 422,
            "validation_failed", "made_at")
    problem(device().web(entry(made_at=iso(now_utc() - timedelta(days=20)))), 422,
            "validation_failed", "made_at")
    assert activities(app) == []


def test_an_archived_cohort_is_no_running_cohort(app, world, device):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    problem(device().web(entry()), 403, "not_a_participant")


def test_unicode_titles_arrive_intact(app, device):
    title = "Café 写作 — 🎨 Canva"
    assert device().web(entry(title=title)).status_code == 201
    assert activities(app)[0].title == title
