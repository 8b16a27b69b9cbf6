"""The weekly chart on a plan page: platform and web time for the last 8 weeks (Monday-based
in the cohort's time zone), seen by the participant, their patrons and facilitators, with the
figures as a table; web time only for managed participants; a flat query count; escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts import people
from dap.cohorts.models import Cohort, CohortRole
from dap.db import watch_statements
from dap.extensions import db
from dap.plans import services as plan_services
from dap.plans.models import CheckIn, PlanGoal
from dap.timecap.models import ActivityKind, PlatformDay, WebActivity
from dap.timecap.queries import weekly_history
from tests import factories

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday; London is on GMT
THIS_MONDAY = date(2026, 11, 16)


def _monday(weeks_back: int) -> date:
    return THIS_MONDAY - timedelta(weeks=weeks_back)


# --- arranging rows directly ----------------------------------------------------------------------


def _platform(user_id: int, day: date, seconds: int) -> dict:
    return {"user_id": user_id, "day": day, "seconds": seconds, "last_beat": 0}


def _web(user_id: int, cohort_id: int, day: date, minutes: int) -> dict:
    return {"user_id": user_id, "cohort_id": cohort_id, "kind": ActivityKind.READ,
            "title": "An article", "url": "", "minutes": minutes, "note": "",
            "local_date": day, "created_at": now_utc(), "created_by_id": user_id}


def _check_in(goal: PlanGoal, day: date, minutes: int | None) -> dict:
    return {"goal_id": goal.id, "plan_id": goal.plan_id, "local_date": day,
            "minutes": minutes, "progress": None, "note": "", "created_at": now_utc()}


@pytest.fixture
def seed(app):
    """``seed(platform=[…], web=[…], check_ins=[…])``: bulk-insert rows made by the helpers
    above (one statement per table)."""

    def add(platform=(), web=(), check_ins=()) -> None:
        with app.app_context():
            for model, rows in ((PlatformDay, platform), (WebActivity, web), (CheckIn, check_ins)):
                if rows:
                    db.session.execute(insert(model), list(rows))
            db.session.commit()

    return add


@pytest.fixture
def goal(app, world, own_goal, frozen):
    """A goal in the world participant's plan (for check-ins), the clock frozen at NOW."""
    frozen(NOW)
    goal_id = own_goal()
    with app.app_context():
        found = db.session.get(PlanGoal, goal_id)
        db.session.expunge(found)
        return found


@pytest.fixture
def weeks_of_time(app, world, seed, goal):
    """Eight weeks of the participant's time, and noise that must not count: a ninth week
    back, another participant, another cohort."""
    me, cohort = world["participant"], world["cohort"]
    with app.app_context():
        other_cohort = factories.make_cohort(name="Elsewhere").id
        db.session.commit()
    sunday_before = _monday(7) - timedelta(days=1)
    seed(
        platform=[
            _platform(me, _monday(8), 3000), _platform(me, sunday_before, 600),  # too old
            _platform(me, _monday(7), 1200),  # the oldest week shown: 20 min
            _platform(me, _monday(1), 659), _platform(me, THIS_MONDAY - timedelta(days=1), 1500),
            _platform(me, THIS_MONDAY, 300),  # this week: 5 min
            _platform(world["outsider"], THIS_MONDAY, 9999),
        ],
        web=[
            _web(me, cohort, _monday(8), 77),  # too old
            _web(me, cohort, _monday(7) + timedelta(days=3), 30),
            _web(me, cohort, THIS_MONDAY - timedelta(days=1), 40),  # Sunday: last week
            _web(me, cohort, THIS_MONDAY + timedelta(days=2), 20),
            _web(me, other_cohort, THIS_MONDAY, 300),  # another cohort's web time
            _web(world["outsider"], cohort, THIS_MONDAY, 100),
        ],
        check_ins=[
            _check_in(goal, _monday(8), 11),  # too old
            _check_in(goal, THIS_MONDAY - timedelta(days=1), 5),
            _check_in(goal, THIS_MONDAY, 10), _check_in(goal, THIS_MONDAY, None),
        ],
    )


#: week starting → (on DAP, allowed on DAP, on the web), this week first. The cohort's
#: defaults: 15 minutes of grace, a minute on DAP per web minute, 60 at most.
EXPECTED = [
    ("Mon 16 Nov 2026 (this week)", "5", "45", "30"),
    ("Mon 9 Nov 2026", "35", "60", "45"),  # (659 + 1500) s; 40 + 5 web minutes
    ("Mon 2 Nov 2026", "0", "15", "0"),
    ("Mon 26 Oct 2026", "0", "15", "0"),
    ("Mon 19 Oct 2026", "0", "15", "0"),
    ("Mon 12 Oct 2026", "0", "15", "0"),
    ("Mon 5 Oct 2026", "0", "15", "0"),
    ("Mon 28 Sep 2026", "20", "45", "30"),
]


# --- reading the page ---------------------------------------------------------------------------


def _text(response) -> str:
    return response.get_data(as_text=True)


def _cells(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _table(page: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """The chart's table: its column headers and its rows of cell texts."""
    table = re.search(r'<details class="time-chart-figures">.*?</details>', page, re.S).group(0)
    head = [_cells(c) for c in re.findall(r'<th scope="col">(.*?)</th>', table, re.S)]
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    rows = [tuple(_cells(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S))
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return head, rows


def _svg(page: str) -> str:
    return re.search(r'<svg class="time-chart-svg".*?</svg>', page, re.S).group(0)


def _member_plan(world, membership: int | None = None) -> str:
    return (f"/cohorts/{world['cohort']}/people/"
            f"{membership or world['participant_membership']}/plan")


def _own_plan(world) -> str:
    return f"/cohorts/{world['cohort']}/plan"


# --- who sees it, with which figures -----------------------------------------------------------


@pytest.mark.parametrize(("role", "own", "whose"), [
    ("participant", True, "Your"),
    ("participant", False, "Your"),
    ("patron", False, "Alex Participant’s"),
    ("facilitator", False, "Alex Participant’s"),
    ("admin", False, "Alex Participant’s"),
])
def test_the_chart_and_its_table_show_the_last_8_weeks(world, role_client, weeks_of_time,
                                                      role, own, whose):
    response = role_client(role).get(_own_plan(world) if own else _member_plan(world))
    assert response.status_code == 200
    page = _text(response)
    assert "Time this week and before" in page
    head, rows = _table(page)
    assert head == ["Week starting", "On DAP", "Allowed on DAP", "On the wider web"]
    assert rows == EXPECTED
    assert "21 Sep" not in page  # nine weeks back
    assert f"<caption>{whose} minutes on DAP and on the wider web" in page
    assert "Show the figures as a table" in page

    svg = _svg(page)
    assert 'role="img"' in svg
    assert 'aria-labelledby="time-chart-title time-chart-desc"' in svg
    assert f"{whose} time on DAP and on the wider web, last 8 weeks</title>" in svg
    assert ("This week: 5 minutes on DAP of 45 allowed, and 30 minutes on the web. Over the 8 "
            "weeks: 60 minutes on DAP and 105 on the web.") in svg
    assert svg.count("time-chart-bar time-chart-platform") == 8
    assert svg.count("time-chart-bar time-chart-web") == 8
    assert svg.count('fill="url(#time-chart-stripes)"') == 8  # the web bars are striped
    assert svg.count('class="time-chart-allowance"') == 8
    labels = re.findall(r'class="time-chart-label"[^>]*>([^<]*)<', svg)
    assert labels == ["28 Sep", "5 Oct", "12 Oct", "19 Oct", "26 Oct", "2 Nov", "9 Nov",
                      "This week"]
    values = re.findall(r'class="time-chart-value"[^>]*>([^<]*)<', svg)
    assert values[-4:] == ["35", "45", "5", "30"]  # last week and this week, DAP then web


def test_the_tallest_bar_sets_the_scale(world, role_client, weeks_of_time):
    svg = _svg(_text(role_client("participant").get(_own_plan(world))))
    ticks = re.findall(r'class="time-chart-axis"[^>]*>([^<]*)<', svg)
    assert ticks == ["0 min", "15 min", "30 min", "45 min", "60 min"]
    heights = [float(h) for h in re.findall(
        r'time-chart-bar time-chart-platform"[^>]*height="([\d.]+)"', svg)]
    assert heights[0] == pytest.approx(184 * 20 / 60, abs=0.1)
    assert heights[2] == 0


@pytest.mark.parametrize("who", ["outsider", "other patron", "other participant"])
def test_others_get_404(app, world, login_as, weeks_of_time, who):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        if who == "outsider":
            user = db.session.get(User, world["outsider"])
        else:
            user = factories.make_user(name="Another")
            role = CohortRole.PATRON if who == "other patron" else CohortRole.PARTICIPANT
            factories.add_member(cohort, user, role)
            if who == "other patron":
                someone = factories.make_user()
                factories.add_member(cohort, someone, CohortRole.PARTICIPANT)
                factories.link_patron(cohort, user, someone)
        db.session.commit()
        client = login_as(user)
    response = client.get(_member_plan(world))
    assert response.status_code == 404
    assert "time-chart" not in _text(response)


# --- weeks in the cohort's time zone ------------------------------------------------------------


@pytest.mark.parametrize(("timezone", "at", "this_monday", "rows"), [
    # Sunday evening in UTC is Monday morning in Auckland: a new week there
    ("Pacific/Auckland", datetime(2026, 11, 22, 20, 0, tzinfo=UTC), date(2026, 11, 23),
     [("Mon 23 Nov 2026 (this week)", "2"), ("Mon 16 Nov 2026", "10")]),
    # Monday early in UTC is still Sunday evening in Los Angeles: the same week (and the
    # 23rd, still to come there, is not in it)
    ("America/Los_Angeles", datetime(2026, 11, 23, 3, 0, tzinfo=UTC), date(2026, 11, 16),
     [("Mon 16 Nov 2026 (this week)", "10"), ("Mon 9 Nov 2026", "0")]),
])
def test_weeks_start_on_monday_in_the_cohorts_time_zone(app, world, role_client, frozen, seed,
                                                        timezone, at, this_monday, rows):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).timezone = timezone
        db.session.commit()
    frozen(at)
    me = world["participant"]
    seed(platform=[_platform(me, date(2026, 11, 22), 600), _platform(me, date(2026, 11, 23), 120)])
    page = _text(role_client("participant").get(_own_plan(world)))
    _, table = _table(page)
    assert [(week, dap) for week, dap, *_ in table[:2]] == rows
    assert f"Weeks start on Monday ({timezone} time)" in page
    with app.app_context():
        weeks = weekly_history(me, db.session.get(Cohort, world["cohort"]))
    assert [w.monday for w in weeks] == [this_monday - timedelta(weeks=7 - n) for n in range(8)]


# --- managed participants are never measured ----------------------------------------------------


def test_a_managed_participants_chart_shows_web_time_only(app, world, role_client, frozen, seed):
    frozen(NOW)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        membership = people.create_managed_participant(
            cohort=cohort, actor=db.session.get(User, world["facilitator"]),
            name="Morag Managed", team=None)
        user_id = membership.user_id
        plan = plan_services.plan_for(cohort, membership.user)
        goal = plan_services.write_goal(plan, actor=db.session.get(User, world["facilitator"]),
                                        title="Video call my grandson")
        db.session.commit()
        db.session.refresh(goal)
        db.session.expunge(goal)
        membership_id = membership.id
    seed(platform=[_platform(user_id, THIS_MONDAY, 1800)],  # never shown
         web=[_web(user_id, world["cohort"], THIS_MONDAY, 25)],
         check_ins=[_check_in(goal, _monday(1), 15)])
    page = _text(role_client("facilitator").get(_member_plan(world, membership_id)))
    assert "Morag Managed takes part without an account of their own" in page
    assert "time on DAP is never measured for them" in page
    head, rows = _table(page)
    assert head == ["Week starting", "On the wider web"]
    assert rows[:2] == [("Mon 16 Nov 2026 (this week)", "25"), ("Mon 9 Nov 2026", "15")]
    svg = _svg(page)
    assert "Morag Managed’s time on the wider web, last 8 weeks</title>" in svg
    assert "time-chart-platform" not in svg
    assert "time-chart-allowance" not in svg
    assert svg.count("time-chart-bar time-chart-web") == 8
    assert "30" not in re.findall(r'class="time-chart-value"[^>]*>([^<]*)<', svg)


# --- a fixed number of queries --------------------------------------------------------------------


class Queries:
    """Counts the statements sent to the database inside ``with``."""

    def __init__(self, app) -> None:
        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _count(self, statement: str) -> None:
        self.count += 1

    def __enter__(self) -> Queries:
        self._stop = watch_statements(self.engine, self._count)
        return self

    def __exit__(self, *exc) -> None:
        self._stop()


def _rows(world, goal: PlanGoal, count: int, offset: int = 0) -> dict:
    """``count`` rows of the participant's time in the last 8 weeks (and before), over all
    three sources: about a tenth platform days, three tenths check-ins, the rest web time."""
    me, cohort = world["participant"], world["cohort"]
    days = count // 10
    rows = {
        "platform": [_platform(me, THIS_MONDAY - timedelta(days=offset + n), 30)
                     for n in range(days)],
        "check_ins": [_check_in(goal, THIS_MONDAY - timedelta(days=n % 70), 1)
                      for n in range(count * 3 // 10)],
    }
    rows["web"] = [_web(me, cohort, THIS_MONDAY - timedelta(days=n % 70), 1)
                   for n in range(count - days - len(rows["check_ins"]))]
    return rows


def _web_in_window(rows: dict) -> int:
    first = _monday(7)
    return sum(r["minutes"] for r in rows["web"] + rows["check_ins"] if r["local_date"] >= first)


def test_the_query_count_stays_flat_for_10_or_1000_rows(app, world, role_client, seed, goal):
    client = role_client("participant")
    few = _rows(world, goal, 10)
    seed(**few)
    with Queries(app) as small:
        assert client.get(_own_plan(world)).status_code == 200
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        with Queries(app) as history:
            weeks = weekly_history(world["participant"], cohort)
    assert history.count == 3  # one query per source
    assert sum(w.web_minutes for w in weeks) == _web_in_window(few)

    many = _rows(world, goal, 990, offset=1)
    seed(**many)
    with Queries(app) as large:
        page = _text(client.get(_own_plan(world)))
    assert large.count == small.count
    _, rows = _table(page)
    assert sum(int(row[3]) for row in rows) == _web_in_window(few) + _web_in_window(many)
    print(f"queries: weekly_history {history.count}, plan page {small.count} (10 rows) "
          f"and {large.count} (1,000 rows)")


# --- nothing interpolated unescaped -------------------------------------------------------------


def test_the_chart_escapes_the_participants_name(app, world, role_client, frozen):
    frozen(NOW)
    name = '<script>alert("x")</script> & <b>Bo</b>'
    with app.app_context():
        db.session.get(User, world["participant"]).name = name
        db.session.commit()
    page = _text(role_client("patron").get(_member_plan(world)))
    svg = _svg(page)
    assert "<script" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Bo&lt;/b&gt;’s time" in svg
    assert name not in page
    _, rows = _table(page)
    assert len(rows) == 8
