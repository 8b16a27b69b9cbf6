"""Logging web time through the form (Explore, the log page, the bookmarklet's prefill),
and every kind of bad input: refused with a message, nothing saved, what was typed kept."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.timecap.models import ActivityKind, WebActivity
from tests.conftest import post_form

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.fixture
def me(app, world, role_client, frozen):
    frozen(NOW)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date = date(2026, 11, 2)
        db.session.commit()
    return role_client("participant")


def _activities(app):
    with app.app_context():
        return [(a.kind, a.title, a.url, a.minutes, a.goal_id, a.local_date, a.note)
                for a in db.session.scalars(select(WebActivity).order_by(WebActivity.id))]


GOOD = {"kind": "tried", "title": "Tried a poll tool", "url": "https://example.org/poll",
        "minutes": "25", "note": "Made a poll for the team"}


def test_logging_web_time(app, world, me, own_goal):
    goal_id = own_goal()
    response = post_form(me, "/time/log", {**GOOD, "goal": str(goal_id), "day": "2026-11-17"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/time/explore"
    assert _activities(app) == [(ActivityKind.TRIED, "Tried a poll tool",
                                 "https://example.org/poll", 25, goal_id, date(2026, 11, 17),
                                 "Made a poll for the team")]
    page = me.get("/time/explore").get_data(as_text=True)
    assert "Logged 25 minutes on the web." in page
    assert "<dt>On the wider web</dt><dd>25 min</dd>" in page


def test_the_day_defaults_to_today_in_the_cohorts_time_zone(app, me):
    assert post_form(me, "/time/log", {**GOOD, "day": ""}).status_code == 303
    assert _activities(app)[0][5] == date(2026, 11, 18)


def test_the_bookmarklet_page_is_prefilled(me):
    page = me.get("/time/log?url=https://example.org/article&title=A+good+read").get_data(
        as_text=True)
    assert 'value="https://example.org/article"' in page
    assert 'value="A good read"' in page
    huge = me.get("/time/log?url=https://example.org/" + "a" * 5000 + "&title=" + "t" * 5000)
    assert huge.status_code == 200


@pytest.mark.parametrize(("changes", "message"), [
    ({"minutes": "-5"}, "Enter minutes from 1 to 600"),
    ({"minutes": "0"}, "Enter minutes from 1 to 600"),
    ({"minutes": "601"}, "Enter minutes from 1 to 600"),
    ({"minutes": ""}, "Enter minutes from 1 to 600"),
    ({"minutes": "ten"}, "Enter minutes as a whole number"),
    ({"minutes": "1e3"}, "Enter minutes as a whole number"),
    ({"minutes": "9" * 40}, "Enter minutes as a whole number"),
    ({"day": "2026-11-19"}, "still to come"),
    ({"day": "2026-11-01"}, "The programme started on 2 November 2026"),
    ({"day": "not a date"}, "Not a valid date"),
    ({"url": "javascript:alert(1)"}, "starting with https://"),
    ({"url": "JaVaScRiPt:alert(1)"}, "starting with https://"),
    ({"url": "data:text/html,hi"}, "starting with https://"),
    ({"url": "ftp://example.org/file"}, "starting with https://"),
    ({"url": "https://example.org/" + "a" * 500}, "at most 500 characters"),
    ({"title": ""}, "Enter what it was"),
    ({"title": "   "}, "Enter what it was"),
    ({"title": "t" * 201}, "at most 200 characters"),
    ({"note": "n" * 1001}, "at most 1000 characters"),
    ({"kind": "hacked"}, "Not a valid choice"),
    ({"goal": "abc"}, "Choose one of your goals"),
    ({"goal": "2147483647"}, "Choose one of your goals"),
])
def test_bad_input_is_refused_with_a_message(app, me, changes, message):
    response = post_form(me, "/time/log", {**GOOD, **changes})
    assert response.status_code == 400, changes
    page = response.get_data(as_text=True)
    assert message in page, (changes, message)
    assert _activities(app) == []
    if "title" not in changes:
        assert 'value="Tried a poll tool"' in page  # what was typed is kept


def test_a_day_more_than_two_weeks_ago_is_refused(app, world, me):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).start_date = date(2026, 9, 1)
        db.session.commit()
    response = post_form(me, "/time/log", {**GOOD, "day": "2026-11-03"})
    assert response.status_code == 400
    assert "within 14 days" in response.get_data(as_text=True)


def test_someone_elses_goal_is_refused(app, world, me, own_goal):
    from dap.accounts.models import User
    from tests import factories

    with app.app_context():
        other = factories.make_user(name="Other Participant")
        factories.add_member(db.session.get(Cohort, world["cohort"]), other,
                             factories.CohortRole.PARTICIPANT)
        db.session.commit()
        other_id = other.id
    theirs = own_goal(user=other_id)
    response = post_form(me, "/time/log", {**GOOD, "goal": str(theirs)})
    assert response.status_code == 400
    assert "Choose one of your goals" in response.get_data(as_text=True)
    assert _activities(app) == []
    with app.app_context():
        assert db.session.get(User, other_id) is not None


def test_unicode_is_kept(app, me):
    title = "Läste en guide om 可访问性 ✓"
    assert post_form(me, "/time/log", {**GOOD, "title": title}).status_code == 303
    assert _activities(app)[0][1] == title


def test_without_a_csrf_token_nothing_is_saved(app, me):
    response = me.post("/time/log", data=GOOD)
    assert response.status_code == 400
    assert _activities(app) == []


def test_an_archived_cohort_takes_no_more_web_time(app, world, me):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    # archived cohorts are not measured: nothing to log against
    assert me.get("/time/log").status_code == 404
    assert post_form(me, "/time/log", GOOD).status_code == 404


# --- taking back a mistaken entry ------------------------------------------------------------


def _log_one(app, me) -> int:
    assert post_form(me, "/time/log", GOOD).status_code == 303
    with app.app_context():
        return db.session.scalar(select(WebActivity.id))


def test_an_entry_is_listed_and_can_be_taken_back_for_24_hours(app, me, frozen):
    activity_id = _log_one(app, me)
    page = me.get("/time/explore").get_data(as_text=True)
    assert "Tried a poll tool" in page
    assert "Take back" in page
    frozen(datetime(2026, 11, 19, 9, 59, tzinfo=UTC))
    response = post_form(me, f"/time/activities/{activity_id}/delete")
    assert response.status_code == 303
    assert _activities(app) == []


def test_after_24_hours_an_entry_stays(app, me, frozen):
    activity_id = _log_one(app, me)
    frozen(datetime(2026, 11, 19, 10, 1, tzinfo=UTC))
    assert "Take back" not in me.get("/time/explore").get_data(as_text=True)
    response = post_form(me, f"/time/activities/{activity_id}/delete")
    assert response.status_code == 303
    assert "this entry is older" in me.get("/time/explore").get_data(as_text=True)
    assert len(_activities(app)) == 1


def test_someone_elses_entry_cannot_be_taken_back(app, world, me, login_as, role_client):
    activity_id = _log_one(app, me)
    with app.app_context():
        from tests import factories

        other = factories.make_user(name="Other Participant")
        factories.add_member(db.session.get(Cohort, world["cohort"]), other,
                             factories.CohortRole.PARTICIPANT)
        db.session.commit()
        them = login_as(other)
    assert post_form(them, f"/time/activities/{activity_id}/delete").status_code == 404
    assert post_form(role_client("facilitator"),
                     f"/time/activities/{activity_id}/delete").status_code == 404
    assert post_form(me, "/time/activities/2147483647/delete").status_code == 404
    assert post_form(me, "/time/activities/abc/delete").status_code == 404
    assert me.post(f"/time/activities/{activity_id}/delete").status_code == 400  # no CSRF
    assert len(_activities(app)) == 1
