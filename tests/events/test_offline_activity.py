"""Coming to an event is activity: it shows as a participant's latest activity on the
roster and ends their "silent" flag, as a check-in or logged web time does."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from dap.events.models import Event
from dap.extensions import db
from tests.conftest import post_form
from tests.events.conftest import T0

DURING = T0 + timedelta(days=5, hours=1, minutes=30)  # the event: Saturday 20 March, 10:30


def _roster_cell(facilitator, world, name: str) -> str:
    """The "Last activity" cell of ``name``'s row on the roster."""
    page = facilitator.get(f"/cohorts/{world['cohort']}/people").get_data(as_text=True)
    row = re.search(rf"<tr[^>]*>\s*<th scope=\"row\"><a [^>]*>{re.escape(name)}</a>.*?</tr>",
                    page, re.S)
    assert row, f"{name} is not on the roster"
    return re.findall(r"<td>(.*?)</td>", row.group(0), re.S)[-1]


def _names(app, clients) -> list[str]:
    from dap.accounts.models import User

    with app.app_context():
        return [db.session.get(User, c.user_id).name for c in clients]


def test_attending_ends_silence_and_a_no_show_does_not(
        app, world, schedule, participants, role_client, frozen):
    joined = frozen(T0 - timedelta(days=12))
    came, stayed_away = participants(2)
    came_name, away_name = _names(app, [came, stayed_away])
    facilitator = role_client("facilitator")
    assert schedule().status_code == 303
    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    # Answering an invitation is activity too (it ends a silence), so the one who will stay
    # away answered on the day they joined.
    post_form(stayed_away, f"/cohorts/{world['cohort']}/events/{event_id}/answer",
              {"answer": "yes"})
    frozen(T0)
    assert "silent 12 days" in _roster_cell(facilitator, world, came_name)  # the cohort: 10

    frozen(DURING)
    register = f"/cohorts/{world['cohort']}/events/{event_id}/attendance"
    assert post_form(facilitator, register, {f"mark-{came.user_id}": "walk_in",
                                             f"mark-{stayed_away.user_id}": "no_show"}
                     ).status_code == 303
    cell = _roster_cell(facilitator, world, came_name)
    assert "20 Mar" in cell
    assert "event" in cell
    assert "silent" not in cell
    away = _roster_cell(facilitator, world, away_name)
    assert f"{joined:%-d %b}" in away
    assert "event answer" in away  # the answer, not the no-show
    assert "silent 17 days" in away


def test_answering_an_invitation_ends_silence(app, world, schedule, participants,
                                              role_client, frozen):
    frozen(T0 - timedelta(days=12))
    (person,) = participants(1)
    (name,) = _names(app, [person])
    frozen(T0)
    facilitator = role_client("facilitator")
    assert "silent 12 days" in _roster_cell(facilitator, world, name)
    assert schedule().status_code == 303
    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    post_form(person, f"/cohorts/{world['cohort']}/events/{event_id}/answer", {"answer": "no"})
    cell = _roster_cell(facilitator, world, name)
    assert "event answer" in cell
    assert "silent" not in cell


def test_check_ins_and_web_time_count_too_and_the_latest_wins(
        app, world, schedule, participants, role_client, frozen, login_as):
    frozen(T0 - timedelta(days=30))
    (person,) = participants(1)
    (name,) = _names(app, [person])
    frozen(T0 - timedelta(days=2))
    assert post_form(person, f"/cohorts/{world['cohort']}/plan/goals/new",
                     {"title": "Try a spreadsheet"}).status_code in (302, 303)
    facilitator = role_client("facilitator")
    # adopting a goal is not yet doing it: still silent
    assert "silent" in _roster_cell(facilitator, world, name)

    from dap.plans.models import PlanGoal

    with app.app_context():
        goal_id = db.session.scalar(select(PlanGoal.id).order_by(PlanGoal.id.desc()))
    assert post_form(person, f"/cohorts/{world['cohort']}/plan/goals/{goal_id}/check-ins",
                     {"progress": "20", "minutes": "15", "note": "Made a budget"}
                     ).status_code in (302, 303)
    cell = _roster_cell(facilitator, world, name)
    assert "check-in" in cell
    assert "silent" not in cell
    frozen(T0)
    from dap.accounts.models import User

    with app.app_context():
        person = login_as(db.session.get(User, person.user_id))  # two days on: sign in again
    logged = post_form(person, "/time/log", {
        "kind": "tried", "title": "Tried a poll tool", "url": "https://example.org/poll",
        "minutes": "20", "note": "", "day": T0.date().isoformat()})
    assert logged.status_code == 303, logged.get_data(as_text=True)[:3000]
    assert "web time" in _roster_cell(facilitator, world, name)


def test_a_patron_or_facilitator_row_shows_no_activity(world, role_client):
    facilitator = role_client("facilitator")
    assert _roster_cell(facilitator, world, "Pat Patron").strip() == "—"


def test_a_paused_plan_is_not_silent(app, world, participants, role_client, frozen, login_as):
    frozen(T0 - timedelta(days=12))
    (person,) = participants(1)
    (name,) = _names(app, [person])
    frozen(T0)
    facilitator = role_client("facilitator")
    assert "silent 12 days" in _roster_cell(facilitator, world, name)
    from dap.accounts.models import User

    with app.app_context():
        me = login_as(db.session.get(User, person.user_id))  # twelve days on: sign in again
    assert post_form(me, f"/cohorts/{world['cohort']}/plan/pause",
                     {"until": "2027-03-30", "reason": "Annual leave"}).status_code == 302
    assert "silent" not in _roster_cell(facilitator, world, name)
