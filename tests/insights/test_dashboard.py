"""The cohort dashboard's figures, checked by hand against ``story`` (tests/insights/
conftest.py, where its table is): the funnel, the roster's measures and the channel table,
each in a fixed number of queries."""

from __future__ import annotations

from fractions import Fraction as F  # noqa: N817 - keeps the expected tables readable

from dap.accounts.models import User
from dap.cohorts.models import Cohort, Team
from dap.community.models import Post, PostKind
from dap.events.models import AttendanceMark, Event
from dap.extensions import db
from dap.insights import channels, dashboard
from dap.insights.activity import Channel
from dap.plans.models import GoalStatus
from tests import factories
from tests.conftest import counting_queries
from tests.insights.conftest import NOW, D, H, Story


def facts(story, **kwargs) -> dashboard.CohortFacts:
    return dashboard.cohort_facts(db.session.get(Cohort, story["cohort"]), now=NOW, **kwargs)


def counts(row: dashboard.FunnelRow) -> list[int]:
    return [stage.count for stage in row.stages]


def test_the_funnel_for_everyone_and_per_team(app, story):
    with app.app_context():
        rows = dashboard.funnel(facts(story))
    # invited, joined, baseline, first goal, active in 14 days, finished a goal
    assert [(row.label, counts(row)) for row in rows] == [
        ("Everyone", [5, 4, 2, 3, 3, 2]),
        ("Alpha", [2, 2, 1, 2, 2, 1]),
        ("Beta", [2, 1, 1, 1, 1, 1]),
        ("No team", [1, 1, 0, 0, 0, 0]),
    ]
    everyone = rows[0]
    assert [stage.percent for stage in everyone.stages] == [100, 80, 40, 60, 60, 40]
    assert everyone.stages[2].share == F(2, 5)
    assert not any(stage.is_few for stage in everyone.stages)  # five people: enough
    assert all(stage.is_few for row in rows[1:] for stage in row.stages)


def test_a_team_filter_gives_one_row(app, story):
    with app.app_context():
        rows = dashboard.funnel(facts(story, team_id=story["beta"]))
    assert [(row.label, counts(row)) for row in rows] == [("Everyone", [2, 1, 1, 1, 1, 1])]


def test_the_roster_measures(app, story):
    with app.app_context():
        lines = {p.user.name: p for p in dashboard.roster_lines(facts(story))}
        assert sorted(lines) == ["Ann", "Ben", "Cy", "Eve"]  # joined only, Fay removed
        ann, ben, cy, eve = (lines[n] for n in ("Ann", "Ben", "Cy", "Eve"))
        assert (ann.has_baseline, ann.goals_open, ann.goals_done) == (True, 1, 1)
        assert (ben.has_baseline, ben.goals_open, ben.goals_done) == (False, 1, 0)
        assert (cy.goals_open, cy.goals_done) == (0, 1)
        assert ann.activity.channel is Channel.CHECK_IN
        assert ann.activity.at == NOW - 3 * D - H
        assert cy.activity.channel is Channel.EVENT
        assert eve.activity is None
        assert (ann.events_attended, cy.events_attended, ben.events_attended) == (1, 1, 0)
        assert (ben.sessions_held, cy.sessions_held) == (1, 0)
        assert ann.patrons == ["Pat Patron"]
        assert ben.patrons == []
        assert (ann.platform_minutes, ann.web_minutes) == (10, 0)
        assert [p.silent_days for p in (ann, ben, cy, eve)] == [None, None, None, 20]
        assert eve.can_be_nudged
        assert not ann.can_be_nudged
        # Ann met "2 days a week" in no week: one check-in a week
        assert ann.streak == 0


def test_the_roster_sorts_and_filters(app, story):
    with app.app_context():
        found = facts(story)
        names = [p.user.name for p in dashboard.roster_lines(found, sort="last",
                                                             descending=True)]
        assert names == ["Ann", "Ben", "Cy", "Eve"]
        names = [p.user.name for p in dashboard.roster_lines(found, sort="done",
                                                             descending=True)]
        assert names == ["Ann", "Cy", "Ben", "Eve"]  # ties by name
        assert [p.user.name for p in dashboard.roster_lines(found, silent_only=True)] == ["Eve"]
        assert [p.user.name for p in dashboard.roster_lines(found, sort="nonsense")] == [
            "Ann", "Ben", "Cy", "Eve"]


def figures(table: channels.ChannelTable) -> dict:
    return {c.key.value: (c.reached, c.contacts, c.participant_hours, c.facilitator_hours,
                          c.goals_after, c.check_ins_after) for c in table.channels}


def test_the_channel_table(app, story):
    with app.app_context():
        table = channels.channel_table(db.session.get(Cohort, story["cohort"]), now=NOW)
    assert figures(table) == {
        # Ann and Cy at W1: Ann 2 h, Cy half of 2 h; W1 and W4 held, 3 facilitator hours.
        # Ann's G1 (7 days after) and both her check-ins follow; Cy's G4 came before.
        "events": (2, 2, F(3), F(3), 1, 2),
        # Ben's session (the cancelled one and Cy's future one do not count); his check-in
        # a day later follows it.
        "support": (1, 1, F(1), F(1), 0, 1),
        # Ann's G1 follows her check-in an hour before; her second check-in follows her
        # first; no check-in follows itself. 65 minutes.
        "check_ins": (2, 3, F(65, 60), F(0), 1, 1),
        # Ann's first check-in is 11 days after her web time, the second 17 (too late);
        # Cy's G4 a day after hers.
        "web": (2, 2, F(90, 60), F(0), 1, 1),
        # Cy's post, 5 days before G4; Ben's comment was taken back, Fay was removed.
        "feed": (1, 1, None, F(0), 1, 0),
        # Ben's check-in is exactly 14 days after his second nudge (it counts); Cy's G4
        # a day after hers.
        "nudges": (2, 3, None, F(0), 1, 1),
    }
    assert (table.everyone.people, table.everyone.goals_done, table.everyone.check_ins) == (
        5, 2, 3)
    events = table.channels[0]
    assert events.per_person(events.goals_after) == F(1, 2)
    assert events.per_facilitator_hour(events.check_ins_after) == F(2, 3)
    assert table.channels[2].per_facilitator_hour(1) is None
    assert all(c.is_few for c in table.channels)


def test_the_channel_table_of_one_team(app, story):
    with app.app_context():
        table = channels.channel_table(db.session.get(Cohort, story["cohort"]),
                                       team_id=story["beta"], now=NOW)
    found = figures(table)
    assert found["events"] == (1, 1, F(1), F(3), 0, 0)  # every event held still counts
    assert found["support"] == (0, 0, F(0), F(0), 0, 0)
    assert found["nudges"] == (1, 1, None, F(0), 1, 0)
    assert (table.everyone.people, table.everyone.goals_done, table.everyone.check_ins) == (
        2, 1, 0)


def test_a_cohort_with_nobody(app, frozen):
    frozen(NOW)
    with app.app_context():
        cohort = factories.make_cohort()
        found = dashboard.cohort_facts(cohort, now=NOW)
        assert dashboard.roster_lines(found) == []
        assert counts(dashboard.funnel(found)[0]) == [0] * 6
        assert dashboard.funnel(found)[0].stages[1].percent is None
        table = channels.channel_table(cohort, now=NOW)
        assert all(c.reached == 0 and c.per_person(0) is None for c in table.channels)


def grow(story, extra: int) -> None:
    """``extra`` more participants in Alpha, each with a goal, a check-in, web time, a
    session, attendance at W1, a nudge and a post."""
    s = Story.__new__(Story)
    s.cohort = db.session.get(Cohort, story["cohort"])
    s.facilitator = db.session.get(User, story["facilitator"])
    s.seq = 1000
    w1 = db.session.query(Event).filter_by(cohort_id=s.cohort.id, title="W1").one()
    alpha = db.session.get(Team, story["alpha"])
    for n in range(extra):
        user = s.person(f"Extra {n}", alpha)
        goal = s.goal(user, "Goal", GoalStatus.DONE, done_at=NOW - 2 * D)
        s.check_in(goal, NOW - 4 * D, 10)
        s.web(user, NOW - 6 * D, 10)
        s.session(user, NOW - 7 * D)
        s.mark(w1, user, AttendanceMark.ATTENDED)
        s.nudge(user, NOW - 5 * D, s.facilitator)
        db.session.add(Post(cohort_id=s.cohort.id, author_id=user.id, kind=PostKind.TIP,
                            body="Tip", created_at=NOW - 3 * D))
    db.session.commit()


def test_queries_do_not_grow_with_the_cohort(app, story):
    def count() -> tuple[int, int]:
        with app.app_context():
            cohort = db.session.get(Cohort, story["cohort"])
            with counting_queries(app) as statements:
                dashboard.funnel(dashboard.cohort_facts(cohort, now=NOW))
            dash = len(statements)
            with counting_queries(app) as statements:
                channels.channel_table(cohort, now=NOW)
            return dash, len(statements)

    small = count()
    with app.app_context():
        grow(story, 30)
    assert count() == small


def test_as_of_is_now_while_a_cohort_runs_and_its_end_afterwards(app, frozen):
    from datetime import UTC, date, datetime

    with app.app_context():
        cohort = factories.make_cohort(start_date=date(2026, 5, 4), end_date=date(2026, 6, 30),
                                       timezone="Europe/London")
        frozen(NOW)
        assert dashboard.as_of(cohort) == NOW
        assert not dashboard.has_ended(cohort)
        # the end of 30 June in London (BST) is 23:00 UTC
        end = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
        frozen(end)
        assert not dashboard.has_ended(cohort)
        frozen(datetime(2026, 6, 30, 23, 0, 1, tzinfo=UTC))
        assert dashboard.has_ended(cohort)
        assert dashboard.as_of(cohort) == end
