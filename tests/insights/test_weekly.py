"""The weekly heat map and balance (dap.insights.weekly, .charts, templates/insights/_heatmap
and _balance), checked against a small cohort made by hand, with activities on every channel
placed around week boundaries in Europe/London: the week the clocks go forward (Sunday 29
March 2026, 01:00 UTC) and late-Sunday UTC times that are Monday in summer time.

The cohort starts on Wednesday 11 March 2026; "now" is Wednesday 8 April 2026, 12:00 UTC, so
the weeks are those of Monday 9, 16, 23, 30 March and 6 April (indexes 0 to 4).

What each participant did, week by week (channels: check-in, web, event, 1:1, feed):

=========  =========================  =========  ====================  ==============  =======
who        w0 (9 Mar)                 w1 (16)    w2 (23, clocks go f)  w3 (30)         w4 (6 Apr)
=========  =========================  =========  ====================  ==============  =======
Ann        check-in, 1:1 = 2          3 check-ins  web, event = 2       event, comment  post = 1
                                      + post = 4                        = 2
Ben        .                          post = 1   .                     .               web = 1
Cy (mgd)   .                          .          check-in, 1:1 = 2     .               .
Dee        .                          .          .                     .               .
=========  =========================  =========  ====================  ==============  =======

Week totals: 2, 5, 4, 2, 2 (15). Person-weeks with any activity: 1 ×3, 2 ×4, 4 ×1, so the
nearest-rank quartiles are 1, 2, 2 and the levels 1 | 2 | 3–4.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import render_template

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, MembershipStatus, Team
from dap.community.models import Comment, Post, PostKind
from dap.events.models import Attendance, AttendanceMark, Event
from dap.extensions import db
from dap.insights.activity import Channel
from dap.insights.charts import Level, balance_chart, heatmap_chart, shading_levels
from dap.insights.weekly import MAX_WEEKS, balance, heat_map
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import PlatformDay, WebActivity
from tests import factories
from tests.conftest import counting_queries

NOW = datetime(2026, 4, 8, 12, 0, tzinfo=UTC)  # a Wednesday, in British summer time
H = timedelta(hours=1)
MONDAYS = [date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30),
           date(2026, 4, 6)]
CHECK, WEB, EVENT, SUPPORT, FEED = (Channel.CHECK_IN, Channel.WEB, Channel.EVENT,
                                    Channel.SUPPORT, Channel.FEED)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Maker:
    """Puts activities of every kind into one cohort (call inside an app context)."""

    def __init__(self, cohort: Cohort, facilitator: User) -> None:
        self.cohort = cohort
        self.facilitator = facilitator
        self.seq = 0

    def person(self, name: str, team: Team | None = None, *, managed: bool = False,
               status: MembershipStatus = MembershipStatus.ACTIVE) -> User:
        user = factories.make_user(name=name, is_managed=managed)
        membership = factories.add_member(self.cohort, user, CohortRole.PARTICIPANT, team)
        membership.status = status
        return user

    def goal(self, user: User) -> PlanGoal:
        plan = db.session.query(Plan).filter_by(cohort_id=self.cohort.id,
                                                participant_id=user.id).one_or_none()
        if plan is None:
            plan = Plan(cohort_id=self.cohort.id, participant_id=user.id)
            db.session.add(plan)
            db.session.flush()
        goal = PlanGoal(plan_id=plan.id, title="Try a new tool")
        db.session.add(goal)
        db.session.flush()
        return goal

    def check_in(self, user: User, day: date, minutes: int | None = None,
                 created_at: datetime | None = None) -> None:
        goal = self.goal(user)
        db.session.add(CheckIn(goal_id=goal.id, plan_id=goal.plan_id, local_date=day,
                               minutes=minutes,
                               created_at=created_at or utc(day.year, day.month, day.day, 12)))

    def web(self, user: User, day: date, minutes: int = 20, cohort: Cohort | None = None) -> None:
        db.session.add(WebActivity(user_id=user.id, cohort_id=(cohort or self.cohort).id,
                                   kind="read", title="An article", minutes=minutes,
                                   local_date=day))

    def event(self, at: datetime) -> Event:
        self.seq += 1
        event = Event(cohort_id=self.cohort.id, title=f"Workshop {self.seq}", kind="workshop",
                      mode="in_person", starts_at=at, ends_at=at + H,
                      uid=f"weekly-{self.seq}-{self.cohort.id}@test")
        db.session.add(event)
        db.session.flush()
        return event

    def attended(self, user: User, at: datetime,
                 mark: AttendanceMark = AttendanceMark.ATTENDED) -> None:
        db.session.add(Attendance(event_id=self.event(at).id, user_id=user.id, mark=mark))

    def session(self, user: User, at: datetime,
                status: BookingStatus = BookingStatus.BOOKED) -> None:
        self.seq += 1
        slot = SupportSlot(cohort_id=self.cohort.id, facilitator_id=self.facilitator.id,
                           starts_at=at, ends_at=at + H, mode="phone",
                           uid=f"weekly-slot-{self.seq}-{self.cohort.id}@test")
        db.session.add(slot)
        db.session.flush()
        db.session.add(SupportBooking(slot_id=slot.id, participant_id=user.id, status=status))

    def post(self, user: User, at: datetime, cohort: Cohort | None = None, **fields) -> Post:
        post = Post(cohort_id=(cohort or self.cohort).id, author_id=user.id,
                    kind=PostKind.REFLECTION, body="What I tried", created_at=at, **fields)
        db.session.add(post)
        db.session.flush()
        return post

    def comment(self, user: User, post: Post, at: datetime, **fields) -> None:
        db.session.add(Comment(post_id=post.id, author_id=user.id, body="Nice one",
                               created_at=at, **fields))

    def platform(self, user: User, day: date, seconds: int) -> None:
        db.session.add(PlatformDay(user_id=user.id, day=day, seconds=seconds, last_beat=0))


@pytest.fixture
def weeks(app, frozen):
    """The cohort of the module docstring; returns the ids of what the tests look at."""
    frozen(NOW)
    with app.app_context():
        org = factories.make_organisation()
        alpha, beta = factories.make_team(org, "Alpha"), factories.make_team(org, "Beta")
        cohort = factories.make_cohort(org, start_date=date(2026, 3, 11),
                                       end_date=date(2026, 7, 31), timezone="Europe/London",
                                       web_share=0.5)
        other = factories.make_cohort(org, start_date=date(2026, 3, 2),
                                      end_date=date(2026, 7, 31))
        facilitator = factories.make_user(name="Sam Facilitator", is_facilitator=True)
        factories.add_member(cohort, facilitator, CohortRole.FACILITATOR)
        s = Maker(cohort, facilitator)
        # created out of order: the heat map sorts by name
        dee = s.person("Dee Dunn", beta)
        ben = s.person("Ben Brown", beta)
        cy = s.person("Cy Clarke", alpha, managed=True)
        ann = s.person("Ann Archer", alpha)
        fay = s.person("Fay Fisher", alpha, status=MembershipStatus.REMOVED)
        ivy = s.person("Ivy Invited", beta, status=MembershipStatus.INVITED)
        pat = factories.make_user(name="Pat Patron")
        factories.add_member(cohort, pat, CohortRole.PATRON, alpha)
        factories.add_member(other, ann, CohortRole.PARTICIPANT)

        # Ann, week 0: a check-in on Sunday 15 March, a 1:1 at 23:30 that Sunday (GMT: still
        # Sunday); week 1: check-ins on Monday 16 (no minutes), Tuesday 17 and Sunday 22
        # (logged just after midnight UTC on the Monday: the local date counts), and a post
        # a facilitator hid (still counts)
        s.check_in(ann, date(2026, 3, 15), minutes=10)
        s.session(ann, utc(2026, 3, 15, 23, 30))
        s.check_in(ann, date(2026, 3, 16))
        s.check_in(ann, date(2026, 3, 17), minutes=15)
        s.check_in(ann, date(2026, 3, 22), minutes=5, created_at=utc(2026, 3, 23, 0, 30))
        s.post(ann, utc(2026, 3, 18, 10), hidden_at=utc(2026, 3, 18, 11),
               hidden_reason="Off topic")
        # week 2, the week the clocks go forward: web time on Sunday 29, an event that
        # started 22:45 UTC that Sunday (23:45 BST: still Sunday); week 3: an event at 23:15
        # UTC that Sunday (00:15 BST on Monday 30), and a comment at 22:59 UTC on Sunday
        # 5 April (23:59 BST); week 4: a post at 23:30 UTC that Sunday (00:30 BST Monday)
        s.web(ann, date(2026, 3, 29), minutes=30)
        s.attended(ann, utc(2026, 3, 29, 22, 45), AttendanceMark.PARTLY)
        s.attended(ann, utc(2026, 3, 29, 23, 15), AttendanceMark.WALK_IN)
        s.comment(ann, s.post(ben, utc(2026, 3, 16, 0, 0)), utc(2026, 4, 5, 22, 59))
        s.post(ann, utc(2026, 4, 5, 23, 30))
        # not counted: a post she deleted, a no-show, a cancelled 1:1, an event and a 1:1
        # that have not started yet (tomorrow), a check-in before the first week, a post in
        # her other cohort
        s.post(ann, utc(2026, 3, 18, 12), deleted_at=utc(2026, 3, 18, 13))
        s.attended(ann, utc(2026, 3, 17, 18), AttendanceMark.NO_SHOW)
        s.session(ann, utc(2026, 3, 19, 10), BookingStatus.CANCELLED)
        s.attended(ann, utc(2026, 4, 9, 10))
        s.session(ann, utc(2026, 4, 9, 14))
        s.check_in(ann, date(2026, 3, 8), minutes=50)
        s.post(ann, utc(2026, 3, 20, 9), cohort=other)

        # Ben: the post above at 00:00 UTC on Monday 16 March (week 1 starts there, GMT),
        # web time on Monday 6 April; not counted: web time the Sunday before the first week,
        # and in the other cohort
        s.web(ben, date(2026, 4, 6), minutes=45)
        s.web(ben, date(2026, 3, 8), minutes=60)
        s.web(ben, date(2026, 4, 6), minutes=90, cohort=other)
        # Cy, managed: a check-in recorded for him and a 1:1, both in week 2
        s.check_in(cy, date(2026, 3, 24), minutes=25)
        s.session(cy, utc(2026, 3, 25, 10))
        # not counted at all: someone removed, someone invited, a patron, the facilitator
        s.check_in(fay, date(2026, 3, 16), minutes=40)
        s.post(fay, utc(2026, 3, 17, 9))
        s.web(ivy, date(2026, 3, 17), minutes=20)
        pat_post = s.post(pat, utc(2026, 3, 17, 9))
        s.comment(facilitator, pat_post, utc(2026, 3, 17, 10))

        # Time on DAP (per person and day): Ann 30 min on Sunday 15 March (week 0), 10 and
        # 10.5 min on 16 and 17 March (week 1: 1,230 s = 20 min), Ben an hour on 29 March
        # (week 2), Dee a day with 0 s (week 3: not "time"); not counted: Ann before the
        # first week, Cy (managed: never measured), Fay (removed)
        s.platform(ann, date(2026, 3, 15), 1800)
        s.platform(ann, date(2026, 3, 16), 600)
        s.platform(ann, date(2026, 3, 17), 630)
        s.platform(ann, date(2026, 3, 8), 999)
        s.platform(ben, date(2026, 3, 29), 3600)
        s.platform(dee, date(2026, 3, 31), 0)
        s.platform(cy, date(2026, 3, 24), 600)
        s.platform(fay, date(2026, 3, 16), 900)
        db.session.commit()
        return {"cohort": cohort.id, "other": other.id, "alpha": alpha.id, "beta": beta.id,
                "ann": ann.id, "ben": ben.id, "cy": cy.id, "dee": dee.id}


def _cohort(ids, key: str = "cohort") -> Cohort:
    return db.session.get(Cohort, ids[key])


def _cells(row) -> list[dict]:
    return [cell.by_channel for cell in row.cells]


# --- the weeks ------------------------------------------------------------------------------


def test_the_weeks_run_from_the_monday_of_the_start_to_this_week(app, weeks):
    with app.app_context():
        found = heat_map(_cohort(weeks))
    assert [w.monday for w in found.weeks] == MONDAYS
    assert [w.is_current for w in found.weeks] == [False, False, False, False, True]
    assert found.weeks[-1].sunday == date(2026, 4, 12)
    assert found.timezone == "Europe/London"


def test_an_ended_cohort_stops_at_the_week_of_its_end(app, weeks):
    with app.app_context():
        cohort = _cohort(weeks)
        cohort.end_date = date(2026, 3, 25)
        found = heat_map(cohort)
        assert [w.monday for w in found.weeks] == MONDAYS[:3]
        assert not any(w.is_current for w in found.weeks)
        assert [w.monday for w in balance(cohort).weeks] == MONDAYS[:3]


def test_at_most_the_latest_52_weeks(app, weeks):
    with app.app_context():
        cohort = _cohort(weeks)
        cohort.start_date = date(2025, 1, 1)
        found = heat_map(cohort)
        assert len(found.weeks) == MAX_WEEKS == 52
        assert found.weeks[0].monday == date(2025, 4, 14)  # 6 April 2026 − 51 weeks
        assert found.weeks[-1].monday == date(2026, 4, 6)
        assert len(balance(cohort).weeks) == 52


def test_a_cohort_not_started_has_no_weeks(app, weeks):
    with app.app_context():
        cohort = _cohort(weeks)
        found = heat_map(cohort, today=date(2026, 3, 10))
        assert found.weeks == ()
        assert found.total == 4
        assert all(row.cells == () for row in found.rows)
        assert balance(cohort, today=date(2026, 3, 10)).weeks == ()


def test_today_can_be_given(app, weeks):
    with app.app_context():
        found = heat_map(_cohort(weeks), today=date(2026, 3, 22))  # a Sunday
    assert [w.monday for w in found.weeks] == MONDAYS[:2]
    assert found.weeks[-1].is_current


# --- the heat map ---------------------------------------------------------------------------


def test_each_persons_weeks_by_channel(app, weeks):
    with app.app_context():
        found = heat_map(_cohort(weeks))
    assert [row.name for row in found.rows] == ["Ann Archer", "Ben Brown", "Cy Clarke",
                                                "Dee Dunn"]
    ann, ben, cy, dee = found.rows
    assert _cells(ann) == [{CHECK: 1, SUPPORT: 1}, {CHECK: 3, FEED: 1}, {WEB: 1, EVENT: 1},
                           {EVENT: 1, FEED: 1}, {FEED: 1}]
    assert [c.count for c in ann.cells] == [2, 4, 2, 2, 1]
    assert _cells(ben) == [{}, {FEED: 1}, {}, {}, {WEB: 1}]
    assert _cells(cy) == [{}, {}, {CHECK: 1, SUPPORT: 1}, {}, {}]
    assert cy.is_managed
    assert not ann.is_managed
    assert _cells(dee) == [{}] * 5
    assert (ann.total.count, ben.total.count, cy.total.count, dee.total.count) == (11, 2, 2, 0)
    assert ann.total.by_channel == {CHECK: 4, WEB: 1, EVENT: 2, SUPPORT: 1, FEED: 3}
    assert ann.cells[1].describe() == "3 check-ins, 1 post or comment"
    assert dee.total.describe() == "no activity"


def test_week_totals_count_every_participant(app, weeks):
    with app.app_context():
        found = heat_map(_cohort(weeks))
    assert [t.count for t in found.week_totals] == [2, 5, 4, 2, 2]
    assert [t.by_channel for t in found.week_totals] == [
        {CHECK: 1, SUPPORT: 1}, {CHECK: 3, FEED: 2}, {CHECK: 1, WEB: 1, EVENT: 1, SUPPORT: 1},
        {EVENT: 1, FEED: 1}, {WEB: 1, FEED: 1}]
    assert found.grand_total.count == 15
    # person-weeks with 1, 2 and 4 activities
    assert found.distribution == ((1, 3), (2, 4), (4, 1))


def test_a_team_filter(app, weeks):
    with app.app_context():
        alpha = heat_map(_cohort(weeks), team_id=weeks["alpha"])
        beta = heat_map(_cohort(weeks), team_id=weeks["beta"])
        nobody = heat_map(_cohort(weeks), team_id=weeks["alpha"] + 1000)
    assert [row.name for row in alpha.rows] == ["Ann Archer", "Cy Clarke"]  # not Fay, removed
    assert [t.count for t in alpha.week_totals] == [2, 4, 4, 2, 1]
    assert [row.name for row in beta.rows] == ["Ben Brown", "Dee Dunn"]  # not Ivy, invited
    assert [t.count for t in beta.week_totals] == [0, 1, 0, 0, 1]
    assert beta.distribution == ((1, 2),)
    assert (nobody.total, nobody.rows, nobody.distribution) == (0, (), ())
    assert [t.count for t in nobody.week_totals] == [0] * 5


def test_pages_of_participants_keep_the_totals_of_all(app, weeks):
    with app.app_context():
        cohort = _cohort(weeks)
        first = heat_map(cohort, per_page=3)
        second = heat_map(cohort, page=2, per_page=3)
        beyond = heat_map(cohort, page=10**9, per_page=3)
        before = heat_map(cohort, page=-4, per_page=3)
        tiny = heat_map(cohort, per_page=0)
    assert [row.name for row in first.rows] == ["Ann Archer", "Ben Brown", "Cy Clarke"]
    assert [row.name for row in second.rows] == ["Dee Dunn"]
    assert (second.total, second.page, second.pages) == (4, 2, 2)
    assert (second.first_number, second.last_number) == (4, 4)
    assert [t.count for t in second.week_totals] == [2, 5, 4, 2, 2]
    assert second.distribution == first.distribution
    assert (beyond.page, [r.name for r in beyond.rows]) == (2, ["Dee Dunn"])
    assert (before.page, before.rows[0].name) == (1, "Ann Archer")
    assert (tiny.per_page, tiny.pages, len(tiny.rows)) == (1, 4, 1)


def test_names_sort_without_regard_to_case(app, weeks):
    with app.app_context():
        cohort = _cohort(weeks)
        s = Maker(cohort, db.session.get(User, weeks["ann"]))
        s.person("bea Bell")
        db.session.commit()
        names = [row.name for row in heat_map(cohort).rows]
    assert names == ["Ann Archer", "bea Bell", "Ben Brown", "Cy Clarke", "Dee Dunn"]


# --- the shading levels ---------------------------------------------------------------------


def test_levels_from_the_quartiles_of_the_active_weeks(app, weeks):
    with app.app_context():
        chart = heatmap_chart(heat_map(_cohort(weeks)))
    assert chart.levels == (Level(1, 1, 1), Level(2, 2, 2), Level(3, 3, 4))
    ann = chart.rows[0]
    assert [cell.level for cell in ann.cells] == [2, 3, 2, 2, 1]
    assert [cell.level for cell in chart.rows[3].cells] == [0] * 5
    assert ann.cells[1].title == ("Ann Archer, week of 16 Mar 2026: 4 activities (level 3 of "
                                  "3): 3 check-ins, 1 post or comment")
    assert chart.rows[3].cells[0].title == "Dee Dunn, week of 9 Mar 2026: no activity"
    assert chart.levels[2].label == "3–4 activities"
    assert chart.levels[0].label == "1 activity"


@pytest.mark.parametrize(("distribution", "expected"), [
    ((), ()),
    (((1, 10),), ((1, 1),)),
    # 1 1 2 3 5 8 13 20: quartiles 1, 3, 8
    (((1, 2), (2, 1), (3, 1), (5, 1), (8, 1), (13, 1), (20, 1)),
     ((1, 1), (2, 3), (4, 8), (9, 20))),
    # 1 ×6, 2, 9: every quartile is 1
    (((1, 6), (2, 1), (9, 1)), ((1, 1), (2, 9))),
    # four values, one each: quartiles 3, 5, 7
    (((3, 1), (5, 1), (7, 1), (40, 1)), ((1, 3), (4, 5), (6, 7), (8, 40))),
])
def test_shading_levels(distribution, expected):
    assert tuple((lv.low, lv.high) for lv in shading_levels(distribution)) == expected
    assert [lv.number for lv in shading_levels(distribution)] == list(range(1, len(expected) + 1))


# --- the balance ----------------------------------------------------------------------------


def test_the_balance_week_by_week(app, weeks):
    with app.app_context():
        found = balance(_cohort(weeks))
    assert [w.monday for w in found.weeks] == MONDAYS
    # w0: Ann 30 min on DAP, 10 from a check-in; w1: 1,230 s = 20 min, check-ins 15 + 5;
    # w2: Ben an hour, web 30 (Ann) + 25 (Cy's check-in, managed: web counts); w3: Dee's
    # day of 0 s is no time; w4: Ben's 45 min on the web
    assert [w.platform_minutes for w in found.weeks] == [30, 20, 60, 0, 0]
    assert [w.platform_seconds for w in found.weeks] == [1800, 1230, 3600, 0, 0]
    assert [w.web_minutes for w in found.weeks] == [10, 20, 55, 0, 45]
    assert [w.people for w in found.weeks] == [1, 1, 3, 0, 1]
    assert [w.web_share for w in found.weeks] == [0.25, 0.5, 55 / 115, None, 1.0]
    assert [w.is_below_target for w in found.weeks] == [True, False, True, False, False]
    assert all(w.target_share == 0.5 for w in found.weeks)
    assert (found.platform_minutes, found.web_minutes) == (110, 130)
    assert found.web_share == 130 / 240
    assert found.target_share == 0.5
    assert found.has_time


def test_the_balance_of_one_team(app, weeks):
    with app.app_context():
        beta = balance(_cohort(weeks), team_id=weeks["beta"])
        alpha = balance(_cohort(weeks), team_id=weeks["alpha"])
    assert [w.platform_minutes for w in beta.weeks] == [0, 0, 60, 0, 0]
    assert [w.web_minutes for w in beta.weeks] == [0, 0, 0, 0, 45]
    assert [w.people for w in beta.weeks] == [0, 0, 1, 0, 1]
    assert [w.platform_minutes for w in alpha.weeks] == [30, 20, 0, 0, 0]
    assert [w.web_minutes for w in alpha.weeks] == [10, 20, 55, 0, 0]
    assert [w.people for w in alpha.weeks] == [1, 1, 2, 0, 0]


def test_platform_time_counts_in_each_cohort_of_a_person(app, weeks):
    """Ann is a participant of the other cohort too: her time on DAP is hers, not a
    cohort's, so it counts there as well (the web time she logged here does not)."""
    with app.app_context():
        other = balance(_cohort(weeks, "other"))
    # the other cohort starts on Monday 2 March: one week more, where her 999 s on Sunday
    # 8 March count (16 min)
    assert [w.platform_minutes for w in other.weeks] == [16, 30, 20, 0, 0, 0]
    assert [w.web_minutes for w in other.weeks] == [0, 0, 0, 0, 0, 0]


def test_the_balance_chart_geometry(app, weeks):
    with app.app_context():
        chart = balance_chart(balance(_cohort(weeks)))
    # the largest week is 115 minutes: steps of 30 up to 120
    assert [t.minutes for t in chart.ticks] == [0, 30, 60, 90, 120]
    # 5 weeks across 640 − 56 − 76 px: 101.6 px each; minutes from y 176 up 150 px;
    # shares from y 294 up 80 px
    w2 = chart.columns[2]
    assert (w2.middle, w2.platform_y, w2.platform_height) == (310.0, 101.0, 75.0)
    assert chart.columns[3].share_y is None
    assert chart.target_y == chart.columns[1].share_y == 254.0
    # weeks 0 to 2 joined by a line; week 3 has no share, so week 4 stands alone
    assert chart.share_lines == ("106.8,274.0 208.4,254.0 310.0,255.7",)
    assert [c.label for c in chart.columns] == ["9 Mar", "16 Mar", "23 Mar", "30 Mar",
                                                "This week"]


def test_a_cohort_without_time_has_no_share(app, weeks):
    with app.app_context():
        found = balance(_cohort(weeks), team_id=weeks["alpha"] + 1000)
    assert [w.web_share for w in found.weeks] == [None] * 5
    assert found.web_share is None
    assert not found.has_time


# --- queries --------------------------------------------------------------------------------


def _crowd(app, frozen, people: int) -> int:
    """A cohort of ``people`` participants, each active on every channel in two weeks."""
    frozen(NOW)
    with app.app_context():
        org = factories.make_organisation()
        team = factories.make_team(org)
        cohort = factories.make_cohort(org, start_date=date(2026, 3, 11),
                                       end_date=date(2026, 7, 31))
        facilitator = factories.make_user(is_facilitator=True)
        s = Maker(cohort, facilitator)
        for n in range(people):
            user = s.person(f"Person {n:03}", team)
            for day in (date(2026, 3, 17), date(2026, 4, 1)):
                s.check_in(user, day, minutes=10)
                s.web(user, day)
                s.platform(user, day, 600)
                at = utc(day.year, day.month, day.day, 10)
                s.attended(user, at)
                s.session(user, at + H)
                s.comment(user, s.post(user, at), at + 2 * H)
        db.session.commit()
        return cohort.id


def _count(app, cohort_id: int, read) -> tuple[int, object]:
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        assert cohort.timezone  # loaded before counting
        with counting_queries(app) as statements:
            result = read(cohort)
        return len(statements), result


def test_the_heat_map_takes_five_queries_for_3_or_30_participants(app, frozen):
    def read(cohort):
        return heat_map(cohort, per_page=50)

    small, few = _count(app, _crowd(app, frozen, 3), read)
    large, many = _count(app, _crowd(app, frozen, 30), read)
    assert small == large == 5
    assert len(many.rows) == 30
    assert [t.count for t in many.week_totals] == [0, 30 * 6, 0, 30 * 6, 0]
    assert few.grand_total.count == 3 * 12


def test_the_balance_takes_one_query_for_3_or_30_participants(app, frozen):
    small, few = _count(app, _crowd(app, frozen, 3), balance)
    large, many = _count(app, _crowd(app, frozen, 30), balance)
    assert small == large == 1
    # each person: 10 min on DAP, 20 min of web time and a 10-minute check-in, twice
    assert [w.web_minutes for w in many.weeks] == [0, 30 * 30, 0, 30 * 30, 0]
    assert (many.platform_minutes, few.platform_minutes) == (30 * 2 * 10, 3 * 2 * 10)


# --- the partials ---------------------------------------------------------------------------


@pytest.fixture
def page_app(app, make_app):
    """An app that knows the page the heat map's pagination links to (insights.activity),
    with a stand-in for it until the page exists."""
    if "insights.activity" in app.view_functions:
        return app
    other = make_app()
    other.add_url_rule("/cohorts/<int:cohort_id>/insights/activity",
                       endpoint="insights.activity", view_func=lambda cohort_id: "")
    return other


def _render(page_app, template: str, **context) -> str:
    with page_app.test_request_context():
        return render_template(template, **context)


def _tbody_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


def test_the_heat_map_partial(page_app, weeks, frozen):
    frozen(NOW)
    with page_app.app_context():
        found = heat_map(_cohort(weeks))
        html = _render(page_app, "insights/_heatmap.html", heatmap=found,
                       heatmap_args={"cohort_id": weeks["cohort"]})
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg
    assert '<title id="heatmap-title">Activities per participant per week, 5 weeks</title>' in svg
    desc = re.search(r'<desc id="heatmap-desc">(.*?)</desc>', svg, flags=re.S).group(1)
    assert "4 participants" in desc
    assert "15 activities in all" in desc
    assert "Busiest: the week of 16 Mar 2026 (5 activities)" in desc
    assert "quietest: the week of 9 Mar 2026 (2 activities)" in desc
    assert len(re.findall(r'<rect class="h\d"', svg)) == 4 * 5
    assert ("Ann Archer, week of 16 Mar 2026: 4 activities (level 3 of 3): 3 check-ins, "
            "1 post or comment") in svg
    assert "Level 3: 3–4 activities" in html
    assert "Level 1: 1 activity" in html
    rows = _tbody_rows(html)
    assert len(rows) == 4
    assert "Ann Archer" in rows[0]
    assert ">11<" in rows[0]
    assert "level 3: 3 check-ins, 1 post or comment" in rows[0]
    assert "Cy Clarke" in rows[2]
    assert "(supported)" in rows[2]
    assert '<th scope="col">Participant</th>' in html
    assert "<caption>" in html
    assert "<details" in html
    assert "All 4 participants" in html
    assert 'class="pagination"' not in html  # one page


def test_the_heat_map_pages_keep_the_team(page_app, weeks, frozen):
    frozen(NOW)
    with page_app.app_context():
        cohort = _cohort(weeks)
        found = heat_map(cohort, team_id=weeks["alpha"], per_page=1)
        html = _render(page_app, "insights/_heatmap.html", heatmap=found,
                       heatmap_args={"cohort_id": cohort.id, "team": weeks["alpha"]})
    assert len(_tbody_rows(html)) == 1
    link = re.search(r'<a href="([^"]+)" rel="next">', html).group(1)
    assert f"/cohorts/{weeks['cohort']}/" in link
    assert "page=2" in link
    assert f"team={weeks['alpha']}" in link
    assert "Page 1 of 2" in html


def test_names_are_escaped_and_shortened_on_the_chart(page_app, weeks, frozen):
    frozen(NOW)
    with page_app.app_context():
        cohort = _cohort(weeks)
        s = Maker(cohort, db.session.get(User, weeks["ann"]))
        s.person("<script>alert(1)</script>")
        s.person("Zoë Ångström-Øvergaard de la Fontaine")
        db.session.commit()
        html = _render(page_app, "insights/_heatmap.html",
                       heatmap=heat_map(cohort), heatmap_args={})
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ">Zoë Ångström-Øvergaar…</text>" in html  # 21 characters and an ellipsis
    assert "Zoë Ångström-Øvergaard de la Fontaine" in html  # in full in the table


def test_the_heat_map_of_a_cohort_without_participants(page_app, frozen):
    frozen(NOW)
    with page_app.app_context():
        cohort = factories.make_cohort(start_date=date(2026, 3, 11), end_date=date(2026, 7, 31))
        html = _render(page_app, "insights/_heatmap.html",
                       heatmap=heat_map(cohort), heatmap_args={})
        later = factories.make_cohort(start_date=date(2026, 5, 4), end_date=date(2026, 7, 31))
        factories.add_member(later, factories.make_user(), CohortRole.PARTICIPANT)
        not_yet = _render(page_app, "insights/_heatmap.html",
                          heatmap=heat_map(later), heatmap_args={})
    assert "<svg" not in html
    assert "<table" not in html
    assert "No participants in this cohort yet" in html
    assert "<svg" not in not_yet
    assert "The cohort starts on 4 May 2026" in not_yet


def test_a_quiet_cohort_still_shows_its_grid(page_app, frozen):
    frozen(NOW)
    with page_app.app_context():
        cohort = factories.make_cohort(start_date=date(2026, 3, 11), end_date=date(2026, 7, 31))
        factories.add_member(cohort, factories.make_user(name="Quiet Quinn"),
                             CohortRole.PARTICIPANT)
        found = heat_map(cohort)
        html = _render(page_app, "insights/_heatmap.html", heatmap=found, heatmap_args={})
    assert found.chart.levels == ()
    assert "No activity in these weeks yet." in html
    assert html.count('<rect class="h0"') == 5


def test_the_balance_partial(page_app, weeks, frozen):
    frozen(NOW)
    with page_app.app_context():
        found = balance(_cohort(weeks))
        html = _render(page_app, "insights/_balance.html", balance=found)
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg
    assert '<title id="balance-title">' in svg
    desc = re.search(r'<desc id="balance-desc">(.*?)</desc>', svg, flags=re.S).group(1)
    assert "110 on DAP and 130 on the web in all, 54% on the web against a target of 50%" in desc
    assert "Most time: the week of 23 Mar 2026 (115 minutes)" in desc
    assert "below the target in 2 of the 4 weeks with any time" in desc
    assert "target 50%" in svg
    rows = _tbody_rows(html)
    assert len(rows) == 5  # one per week, this week first
    assert "6 Apr 2026" in rows[0]
    assert "(this week)" in rows[0]
    assert re.search(r"<td>0</td>\s*<td>45</td>\s*<td>100%</td>\s*<td>1</td>", rows[0])
    assert re.search(r"<td>60</td>\s*<td>55</td>\s*<td>48% \(below target\)</td>\s*<td>3</td>",
                     rows[2])
    assert re.search(r"<td>0</td>\s*<td>0</td>\s*<td>—</td>\s*<td>0</td>", rows[1])
    assert re.search(r"<td>110</td>\s*<td>130</td>\s*<td>54%</td>", html)
    assert svg.count('class="insights-share insights-share-below"') == 2
    assert svg.count('class="insights-share"') == 2


def test_the_balance_of_a_cohort_without_time(page_app, frozen):
    frozen(NOW)
    with page_app.app_context():
        cohort = factories.make_cohort(start_date=date(2026, 3, 11), end_date=date(2026, 7, 31))
        html = _render(page_app, "insights/_balance.html", balance=balance(cohort))
        later = factories.make_cohort(start_date=date(2026, 5, 4), end_date=date(2026, 7, 31))
        not_yet = _render(page_app, "insights/_balance.html",
                          balance=balance(later))
    assert "<svg" not in html
    assert "<table" not in html
    assert "No time on DAP or on the wider web yet" in html
    assert "<svg" not in not_yet
    assert "The cohort starts on 4 May 2026" in not_yet
