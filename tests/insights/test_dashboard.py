"""The cohort dashboard's figures, checked by hand against a small cohort: the funnel, the
roster's measures and the channel table, each in a fixed number of queries.

``NOW`` is Monday 15 June 2026, 12:00 UTC; the cohort (Europe/London) runs from 4 May and is
silent after 14 days. Its participants (``d`` is a day before ``NOW``):

======  =======  ========  ===============================================================
who     team     status    what they did
======  =======  ========  ===============================================================
Ann     Alpha    active    baseline sent; goal G1 done 3d, G2 active; came to workshop W1
                           (10d, 2 hours); check-ins 9d (30 min) and 3d 1h (20 min), web
                           time 20d (60 min); Pat is her patron; 10 minutes on DAP today
Ben     Alpha    active    goal G3 planned; a 1:1 held 5d (1 hour), another cancelled; a
                           check-in 4d (15 min); nudged 30d and 18d (exactly 14 days
                           before his check-in); a comment he deleted
Cy      Beta     active    baseline sent; goal G4 done 40d; W1 "partly"; a post 45d; web
                           time 41d (30 min); nudged 41d; a 1:1 next week, booked 12d
Dee     Beta     invited   nothing
Eve     no team  active    nothing since joining 20d ago
Fay     Alpha    removed   a check-in and a post: left out everywhere
======  =======  ========  ===============================================================

Events: W1 held 10d (2 hours), W4 held 20d (1 hour, Ann a no-show), W2 cancelled 8d (Ann
marked anyway), W3 in two days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction as F  # noqa: N817 - keeps the expected tables readable

import pytest

from dap.accounts.models import User
from dap.baseline.models import Assessment
from dap.baseline.services import ensure_baseline_checkpoint
from dap.cohorts.models import Cohort, CohortRole, MembershipStatus, Team
from dap.community.models import Comment, Post, PostKind
from dap.events.models import Attendance, AttendanceMark, Event, EventStatus
from dap.extensions import db
from dap.insights import channels, dashboard
from dap.insights.activity import Channel
from dap.nudges.models import Notification, NotificationKind
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import PlatformDay, WebActivity
from tests import factories
from tests.conftest import counting_queries

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
D = timedelta(days=1)
H = timedelta(hours=1)


class Story:
    """Builds the cohort above, one record at a time."""

    def __init__(self) -> None:
        org = factories.make_organisation()
        self.alpha = factories.make_team(org, "Alpha")
        self.beta = factories.make_team(org, "Beta")
        self.cohort = factories.make_cohort(org, start_date=date(2026, 5, 4),
                                            end_date=date(2026, 8, 28), silent_after_days=14)
        self.checkpoint = ensure_baseline_checkpoint(self.cohort)
        self.facilitator = factories.make_user(name="Sam Facilitator", is_facilitator=True)
        factories.add_member(self.cohort, self.facilitator, CohortRole.FACILITATOR)
        self.seq = 0

    def person(self, name: str, team=None, status=MembershipStatus.ACTIVE) -> User:
        user = factories.make_user(name=name)
        membership = factories.add_member(self.cohort, user, CohortRole.PARTICIPANT, team)
        membership.status = status
        membership.joined_at = NOW - 20 * D
        return user

    def plan(self, user: User) -> Plan:
        plan = db.session.query(Plan).filter_by(cohort_id=self.cohort.id,
                                                participant_id=user.id).one_or_none()
        if plan is None:
            plan = Plan(cohort_id=self.cohort.id, participant_id=user.id)
            db.session.add(plan)
            db.session.flush()
        return plan

    def goal(self, user: User, title: str, status=GoalStatus.ACTIVE, done_at=None) -> PlanGoal:
        goal = PlanGoal(plan_id=self.plan(user).id, title=title, status=status, done_at=done_at)
        db.session.add(goal)
        db.session.flush()
        return goal

    def check_in(self, goal: PlanGoal, at: datetime, minutes: int) -> None:
        db.session.add(CheckIn(goal_id=goal.id, plan_id=goal.plan_id, created_at=at,
                               local_date=at.date(), minutes=minutes))

    def web(self, user: User, at: datetime, minutes: int) -> None:
        db.session.add(WebActivity(user_id=user.id, cohort_id=self.cohort.id, kind="read",
                                   title="An article", minutes=minutes, local_date=at.date(),
                                   created_at=at))

    def event(self, at: datetime, hours: int, status=EventStatus.SCHEDULED) -> Event:
        self.seq += 1
        event = Event(cohort_id=self.cohort.id, title=f"W{self.seq}", kind="workshop",
                      mode="in_person", starts_at=at, ends_at=at + hours * H, status=status,
                      uid=f"w{self.seq}-{self.cohort.id}@test")
        db.session.add(event)
        db.session.flush()
        return event

    def mark(self, event: Event, user: User, mark: AttendanceMark) -> None:
        db.session.add(Attendance(event_id=event.id, user_id=user.id, mark=mark))

    def session(self, user: User, at: datetime, status=BookingStatus.BOOKED,
                booked_at: datetime | None = None) -> None:
        self.seq += 1
        slot = SupportSlot(cohort_id=self.cohort.id, facilitator_id=self.facilitator.id,
                           starts_at=at, ends_at=at + H, mode="online",
                           uid=f"s{self.seq}-{self.cohort.id}@test")
        db.session.add(slot)
        db.session.flush()
        db.session.add(SupportBooking(slot_id=slot.id, participant_id=user.id, status=status,
                                      created_at=booked_at or at - 3 * D))

    def nudge(self, user: User, at: datetime, sender: User) -> None:
        self.seq += 1
        db.session.add(Notification(user_id=user.id, cohort_id=self.cohort.id,
                                    kind=NotificationKind.NUDGE, title="Hello", sender_id=sender.id,
                                    dedup_key=f"test-nudge-{self.seq}", created_at=at))

    def baseline(self, user: User) -> None:
        db.session.add(Assessment(checkpoint_id=self.checkpoint.id, cohort_id=self.cohort.id,
                                  user_id=user.id, submitted_at=NOW - 30 * D))


@pytest.fixture
def story(app, frozen):
    frozen(NOW)
    with app.app_context():
        s = Story()
        ann = s.person("Ann", s.alpha)
        ben = s.person("Ben", s.alpha)
        cy = s.person("Cy", s.beta)
        s.person("Dee", s.beta, MembershipStatus.INVITED)
        eve = s.person("Eve")
        fay = s.person("Fay", s.alpha, MembershipStatus.REMOVED)
        pat = factories.make_user(name="Pat Patron")
        factories.add_member(s.cohort, pat, CohortRole.PATRON, s.alpha)
        factories.link_patron(s.cohort, pat, ann)

        s.baseline(ann)
        s.baseline(cy)
        g1 = s.goal(ann, "G1", GoalStatus.DONE, done_at=NOW - 3 * D)
        s.goal(ann, "G2")
        g3 = s.goal(ben, "G3", GoalStatus.PLANNED)
        s.goal(cy, "G4", GoalStatus.DONE, done_at=NOW - 40 * D)
        g5 = s.goal(fay, "G5")
        s.check_in(g1, NOW - 9 * D, 30)
        s.check_in(g1, NOW - 3 * D - H, 20)
        s.check_in(g3, NOW - 4 * D, 15)
        s.check_in(g5, NOW - 2 * D, 45)
        s.web(ann, NOW - 20 * D, 60)
        s.web(cy, NOW - 41 * D, 30)
        db.session.add(PlatformDay(user_id=ann.id, day=NOW.date(), seconds=600, last_beat=0))

        w1 = s.event(NOW - 10 * D, 2)
        s.mark(w1, ann, AttendanceMark.ATTENDED)
        s.mark(w1, cy, AttendanceMark.PARTLY)
        w2 = s.event(NOW - 8 * D, 1, EventStatus.CANCELLED)
        s.mark(w2, ann, AttendanceMark.ATTENDED)
        s.event(NOW + 2 * D, 1)
        w4 = s.event(NOW - 20 * D, 1)
        s.mark(w4, ann, AttendanceMark.NO_SHOW)

        s.session(ben, NOW - 5 * D)
        s.session(ben, NOW - 6 * D, BookingStatus.CANCELLED)
        s.session(cy, NOW + 7 * D, booked_at=NOW - 12 * D)

        s.nudge(ben, NOW - 30 * D, pat)
        s.nudge(ben, NOW - 18 * D, pat)
        s.nudge(cy, NOW - 41 * D, pat)
        post = Post(cohort_id=s.cohort.id, author_id=cy.id, kind=PostKind.TIP, body="A tip",
                    created_at=NOW - 45 * D)
        gone = Post(cohort_id=s.cohort.id, author_id=fay.id, kind=PostKind.TIP, body="Bye",
                    created_at=NOW - 2 * D)
        db.session.add_all([post, gone])
        db.session.flush()
        db.session.add(Comment(post_id=post.id, author_id=ben.id, body="Taken back",
                               created_at=NOW - 2 * D, deleted_at=NOW - D))
        db.session.commit()
        return {"cohort": s.cohort.id, "alpha": s.alpha.id, "beta": s.beta.id,
                "facilitator": s.facilitator.id,
                **{u.name.lower(): u.id for u in (ann, ben, cy, eve)}}


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
