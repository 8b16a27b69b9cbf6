"""The admins' organisation report, checked by hand against two organisations and three
cohorts, through the page and the CSV an admin opens.

``NOW`` is Wednesday 13 May 2026, 12:00 UTC; every cohort is in Europe/London. ``d`` is a
day before ``NOW``.

Anchor Trust
  *Spring Pathfinders* (running, 2 Mar to 31 Jul 2026):

  ====  ========  ==================================================================
  who   status    what they did
  ====  ========  ==================================================================
  Pia   active    baseline and mid-point sent; goal done (check-ins 3d, 30 min, and
                  10d, no minutes), another goal active; web 5d (45 min); came to E1;
                  a 1:1 held 4d; a post 9d hidden by a facilitator; a post 8d she
                  deleted; marked present at the cancelled E3
  Raj   active    baseline sent; goal done (a check-in 25d, 15 min); web 20d (60 min);
                  E0 "partly"; a 1:1 two days ago that he cancelled (booked 21d)
  Sue   active    baseline begun, not sent; a post 1d; a comment 2d; no-show at E1; a
                  1:1 booked 1d for next week
  Tom   active    mid-point sent, no baseline; answered the invitation to E2 15d ago
  Uma   invited   nothing
  Vic   removed   baseline sent; goal done, a check-in (20 min), web (10 min); walked
                  in at E1; a 1:1 held 9d; a post 40d: all left out
  ====  ========  ==================================================================

  Events: E0 held 30d, E1 held 7d, E2 in 5 days, E3 cancelled (10d). The facilitator
  posts too (not counted).

  *=HYPERLINK(…)* (upcoming, 1 Jun to 30 Sep 2026): Quin active (baseline sent, web 2d,
  30 min), Rae and Sol invited; an event in June.

Beacon Council
  *Old Guard* (archived, Sep to Dec 2025): Ada to Fox active (six), Gus invited, Hal
  removed (his post left out). Ada, Bea and Cal sent the baseline; Ada finished a goal
  (a check-in, 90 min) and posted; Bea logged 33 min of web time; Ada attended and Bea
  walked in at the one event; Cal had a 1:1. Nothing in the last 14 days.

Expected lines (hand-counted; percentages of joined, halves rounded up):

======================  =======  ======  =====  ========  ======  =====  ====  ====  ===  ====  ==  =====
cohort                  invited  joined  %      baseline  active  goals  c-in  web   evt  att.  1:1 posts
======================  =======  ======  =====  ========  ======  =====  ====  ====  ===  ====  ==  =====
Spring Pathfinders      5        4       80     2 (50)    2 (50)  2      3     2.5   2    2     1   2
=HYPERLINK              3        1       33     1 (100)   1 (100) 0      0     0.5   0    0     0   0
Anchor Trust total      8        5       63     3 (60)    3 (60)  2      3     3.0   2    2     1   2
Old Guard               7        6       86     3 (50)    0 (0)   1      1     2.1   1    2     1   1
all three               15       11      73     6 (55)    3 (27)  3      4     5.1   3    4     2   3
======================  =======  ======  =====  ========  ======  =====  ====  ====  ===  ====  ==  =====

Web hours: Spring 45 + 60 (web) + 30 + 15 (check-ins) = 150 min; Old Guard 33 + 90 = 123
min = 2.05 h, shown 2.1; all three 303 min = 5.05 h, shown 5.1.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask import url_for

from dap.accounts.models import User
from dap.baseline.models import Assessment, Checkpoint, CheckpointKind
from dap.cohorts.models import CohortRole, MembershipStatus, Organisation
from dap.community.models import Comment, Post, PostKind
from dap.events.models import Attendance, AttendanceMark, Event, EventStatus, Rsvp, RsvpStatus
from dap.extensions import db
from dap.insights.organisation import (
    CohortStatus,
    Figures,
    cohort_status,
    organisation_report,
    percent,
)
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.support.models import BookingStatus, SlotMode, SupportBooking, SupportSlot
from dap.timecap.models import WebActivity
from tests import factories
from tests.conftest import counting_queries

NOW = datetime(2026, 5, 13, 12, 0, tzinfo=UTC)
D = timedelta(days=1)
H = timedelta(hours=1)
FORMULA = '=HYPERLINK("http://evil.example","Autumn")'


class Cohorts:
    """Builds records in one cohort (inside an app context)."""

    seq = 0

    def __init__(self, org: Organisation, name: str, start: date, end: date,
                 facilitator: User, **fields) -> None:
        self.cohort = factories.make_cohort(org, name=name, start_date=start, end_date=end,
                                            **fields)
        self.facilitator = facilitator
        factories.add_member(self.cohort, facilitator, CohortRole.FACILITATOR)
        self.checkpoints: dict[CheckpointKind, Checkpoint] = {}
        self.plans: dict[int, Plan] = {}

    def _next(self) -> int:
        Cohorts.seq += 1
        return Cohorts.seq

    def person(self, name: str, status=MembershipStatus.ACTIVE) -> User:
        user = factories.make_user(name=name)
        membership = factories.add_member(self.cohort, user, CohortRole.PARTICIPANT)
        membership.status = status
        return user

    def assessment(self, user: User, kind=CheckpointKind.BASELINE, sent: bool = True) -> None:
        if kind not in self.checkpoints:
            checkpoint = Checkpoint(cohort_id=self.cohort.id, kind=kind,
                                    opened_at=datetime(2025, 1, 1, tzinfo=UTC))
            db.session.add(checkpoint)
            db.session.flush()
            self.checkpoints[kind] = checkpoint
        db.session.add(Assessment(checkpoint_id=self.checkpoints[kind].id,
                                  cohort_id=self.cohort.id, user_id=user.id,
                                  submitted_at=NOW - 30 * D if sent else None))

    def goal(self, user: User, status=GoalStatus.DONE) -> PlanGoal:
        if user.id not in self.plans:
            plan = Plan(cohort_id=self.cohort.id, participant_id=user.id)
            db.session.add(plan)
            db.session.flush()
            self.plans[user.id] = plan
        goal = PlanGoal(plan_id=self.plans[user.id].id, title=f"Goal {self._next()}",
                        status=status)
        db.session.add(goal)
        db.session.flush()
        return goal

    def check_in(self, goal: PlanGoal, at: datetime, minutes: int | None) -> None:
        db.session.add(CheckIn(goal_id=goal.id, plan_id=goal.plan_id, created_at=at,
                               local_date=at.date(), minutes=minutes))

    def web(self, user: User, at: datetime, minutes: int) -> None:
        db.session.add(WebActivity(user_id=user.id, cohort_id=self.cohort.id, kind="read",
                                   title="An article", minutes=minutes, local_date=at.date(),
                                   created_at=at))

    def event(self, at: datetime, status=EventStatus.SCHEDULED) -> Event:
        event = Event(cohort_id=self.cohort.id, title=f"Workshop {self._next()}",
                      kind="workshop", mode="in_person", starts_at=at, ends_at=at + 2 * H,
                      status=status, uid=f"org-report-{self._next()}@test")
        db.session.add(event)
        db.session.flush()
        return event

    def mark(self, event: Event, user: User, mark: AttendanceMark) -> None:
        db.session.add(Attendance(event_id=event.id, user_id=user.id, mark=mark))

    def session(self, user: User, at: datetime, status=BookingStatus.BOOKED,
                booked_at: datetime | None = None) -> None:
        slot = SupportSlot(cohort_id=self.cohort.id, facilitator_id=self.facilitator.id,
                           starts_at=at, ends_at=at + H, mode=SlotMode.PHONE,
                           uid=f"org-report-{self._next()}@test-support")
        db.session.add(slot)
        db.session.flush()
        db.session.add(SupportBooking(slot_id=slot.id, participant_id=user.id, status=status,
                                      created_at=booked_at or at - 3 * D))

    def post(self, user: User, at: datetime, **fields) -> Post:
        post = Post(cohort_id=self.cohort.id, author_id=user.id, kind=PostKind.REFLECTION,
                    body="What I tried", created_at=at, **fields)
        db.session.add(post)
        db.session.flush()
        return post


def build_story() -> dict[str, int]:
    """The world of the module docstring; its ids."""
    admin = factories.make_user(name="Ada Admin", is_admin=True)
    facilitator = factories.make_user(name="Sam Facilitator", is_facilitator=True)
    beacon = factories.make_organisation("Beacon Council")
    anchor = factories.make_organisation("Anchor Trust")

    spring = Cohorts(anchor, "Spring Pathfinders", date(2026, 3, 2), date(2026, 7, 31),
                     facilitator)
    pia, raj, sue, tom = (spring.person(n) for n in ("Pia", "Raj", "Sue", "Tom"))
    spring.person("Uma", MembershipStatus.INVITED)
    vic = spring.person("Vic", MembershipStatus.REMOVED)
    patron = factories.make_user(name="Pat Patron")
    factories.add_member(spring.cohort, patron, CohortRole.PATRON)
    spring.assessment(pia)
    spring.assessment(pia, CheckpointKind.MIDPOINT)
    spring.assessment(raj)
    spring.assessment(sue, sent=False)
    spring.assessment(tom, CheckpointKind.MIDPOINT)
    spring.assessment(vic)
    done = spring.goal(pia)
    spring.goal(pia, GoalStatus.ACTIVE)
    spring.check_in(done, NOW - 3 * D, 30)
    spring.check_in(done, NOW - 10 * D, None)
    spring.check_in(spring.goal(raj), NOW - 25 * D, 15)
    spring.check_in(spring.goal(vic), NOW - 3 * D, 20)
    spring.web(pia, NOW - 5 * D, 45)
    spring.web(raj, NOW - 20 * D, 60)
    spring.web(vic, NOW - 5 * D, 10)
    e0 = spring.event(NOW - 30 * D)
    e1 = spring.event(NOW - 7 * D)
    e2 = spring.event(NOW + 5 * D)
    e3 = spring.event(NOW - 10 * D, EventStatus.CANCELLED)
    spring.mark(e0, raj, AttendanceMark.PARTLY)
    spring.mark(e1, pia, AttendanceMark.ATTENDED)
    spring.mark(e1, sue, AttendanceMark.NO_SHOW)
    spring.mark(e1, vic, AttendanceMark.WALK_IN)
    spring.mark(e3, pia, AttendanceMark.ATTENDED)
    db.session.add(Rsvp(event_id=e2.id, user_id=tom.id, status=RsvpStatus.GOING,
                        created_at=NOW - 15 * D, updated_at=NOW - 15 * D))
    spring.session(pia, NOW - 4 * D, booked_at=NOW - 6 * D)
    spring.session(raj, NOW - 2 * D, BookingStatus.CANCELLED, booked_at=NOW - 21 * D)
    spring.session(sue, NOW + 7 * D, booked_at=NOW - 1 * D)
    spring.session(vic, NOW - 9 * D)
    spring.post(sue, NOW - 1 * D)
    spring.post(pia, NOW - 8 * D, deleted_at=NOW - 8 * D + H)
    spring.post(pia, NOW - 9 * D, hidden_at=NOW - 9 * D + H, hidden_by_id=facilitator.id)
    theirs = spring.post(facilitator, NOW - 2 * D)
    db.session.add(Comment(post_id=theirs.id, author_id=sue.id, body="Thanks",
                           created_at=NOW - 2 * D))
    spring.post(vic, NOW - 40 * D)

    autumn = Cohorts(anchor, FORMULA, date(2026, 6, 1), date(2026, 9, 30), facilitator)
    quin = autumn.person("Quin")
    autumn.person("Rae", MembershipStatus.INVITED)
    autumn.person("Sol", MembershipStatus.INVITED)
    autumn.assessment(quin)
    autumn.web(quin, NOW - 2 * D, 30)
    autumn.event(datetime(2026, 6, 10, 9, 0, tzinfo=UTC))

    old = Cohorts(beacon, "Old Guard", date(2025, 9, 1), date(2025, 12, 19), facilitator,
                  is_archived=True)
    ada, bea, cal, *_ = (old.person(n) for n in ("Ada", "Bea", "Cal", "Dan", "Eve", "Fox"))
    old.person("Gus", MembershipStatus.INVITED)
    hal = old.person("Hal", MembershipStatus.REMOVED)
    for person in (ada, bea, cal):
        old.assessment(person)
    autumn_day = datetime(2025, 10, 1, 10, 0, tzinfo=UTC)
    old.check_in(old.goal(ada), autumn_day, 90)
    old.web(bea, autumn_day, 33)
    event = old.event(datetime(2025, 10, 10, 9, 0, tzinfo=UTC))
    old.mark(event, ada, AttendanceMark.ATTENDED)
    old.mark(event, bea, AttendanceMark.WALK_IN)
    old.session(cal, datetime(2025, 11, 5, 9, 0, tzinfo=UTC))
    old.post(ada, autumn_day)
    old.post(hal, autumn_day)

    return {"admin": admin.id, "facilitator": facilitator.id, "patron": patron.id,
            "participant": pia.id, "anchor": anchor.id, "beacon": beacon.id,
            "spring": spring.cohort.id, "autumn": autumn.cohort.id, "old": old.cohort.id}


@pytest.fixture
def story(app, frozen):
    frozen(NOW)
    with app.app_context():
        ids = build_story()
        db.session.commit()
    return ids


@pytest.fixture
def admin(story, app, login_as):
    with app.app_context():
        return login_as(db.session.get(User, story["admin"]))


# --- reading the page as an admin would -------------------------------------------------------


class Tables(HTMLParser):
    """The text of each table's cells, row by row, with each table's caption."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def tables(html: str) -> list[dict]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def figures_of(table: dict) -> dict[str, list[str]]:
    """First cell's first words (the cohort, or "Total") → the status and figure cells."""
    return {row[0]: row[1:] for row in table["rows"][1:]}


SPRING = ["Running", "5", "4", "80%", "2", "50% few", "2", "50% few", "2", "3", "2.5", "2",
          "2", "1", "2"]
AUTUMN = ["Upcoming", "3", "1", "33% few", "1", "100% few", "1", "100% few", "0", "0", "0.5",
          "0", "0", "0", "0"]
ANCHOR = ["", "8", "5", "63%", "3", "60%", "3", "60%", "2", "3", "3.0", "2", "2", "1", "2"]
OLD = ["Archived", "7", "6", "86%", "3", "50%", "0", "0%", "1", "1", "2.1", "1", "2", "1", "1"]
ALL = ["", "15", "11", "73%", "6", "55%", "3", "27%", "3", "4", "5.1", "3", "4", "2", "3"]


def _row(table: dict, starts: str) -> list[str]:
    found = [cells for first, cells in figures_of(table).items() if first.startswith(starts)]
    assert len(found) == 1, (starts, figures_of(table))
    return found[0]


def test_each_cohort_line_and_the_organisation_total_as_counted_by_hand(story, admin):
    response = admin.get("/admin/insights")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = tables(html)
    assert [t["caption"] for t in found] == [
        "Cohorts of Anchor Trust by start date, with the organisation’s totals"]
    anchor = found[0]
    assert [row[0].split(" ")[0] for row in anchor["rows"][1:]] == [
        "Spring", "=HYPERLINK(\"http://evil.example\",\"Autumn\")", "Total"]
    assert _row(anchor, "Spring Pathfinders") == SPRING
    assert _row(anchor, "=HYPERLINK") == AUTUMN
    assert _row(anchor, "Total (2 cohorts)") == ANCHOR
    # The archived cohort and its organisation are left out by default.
    assert "Old Guard" not in html
    assert "Beacon Council</h2>" not in html
    # Each cohort links to its overview.
    for key in ("spring", "autumn"):
        assert f'href="/cohorts/{story[key]}"' in html
    assert "&#34;" in html or "&quot;" in html  # the odd name is escaped, not markup


def test_archived_cohorts_on_request_with_totals_per_organisation_and_overall(story, admin):
    html = admin.get("/admin/insights?archived=1").get_data(as_text=True)
    found = tables(html)
    assert [t["caption"] for t in found] == [
        "Cohorts of Anchor Trust by start date, with the organisation’s totals",
        "Cohorts of Beacon Council by start date, with the organisation’s totals",
        "Totals of every cohort shown (3)"]
    anchor, beacon, overall = found
    assert _row(anchor, "Spring Pathfinders") == SPRING
    assert _row(anchor, "Total") == ANCHOR
    assert _row(beacon, "Old Guard") == OLD
    assert _row(beacon, "Total (1 cohort)") == ["", *OLD[1:]]
    assert _row(overall, "Total (2 organisations)") == ALL
    assert 'name="archived" id="archived" value="1" checked' in html


def test_the_report_sums_lines_and_recomputes_percentages(story, app):
    with app.app_context():
        report = organisation_report(include_archived=True, now=NOW)
        lines = {line.name: line for line in report.lines}
        assert [g.name for g in report.groups] == ["Anchor Trust", "Beacon Council"]
        assert [line.name for line in report.groups[0].lines] == ["Spring Pathfinders", FORMULA]
        assert lines["Spring Pathfinders"].figures == Figures(
            invited=5, joined=4, baseline_sent=2, active_lately=2, goals_done=2, check_ins=3,
            web_minutes=150, events_held=2, attendances=2, sessions_held=1, feed_posts=2)
        assert lines[FORMULA].status is CohortStatus.UPCOMING
        assert lines["Old Guard"].status is CohortStatus.ARCHIVED
        totals = report.totals
        assert (totals.web_minutes, totals.web_hours) == (303, 5.1)
        # 6 of 11, not the mean of 50%, 100% and 50%
        assert (totals.baseline_sent, totals.joined, totals.baseline_percent) == (6, 11, 55)
        assert report.groups[0].totals.joined_percent == 63  # 5 of 8 = 62.5%


# --- filters ------------------------------------------------------------------------------------


def test_one_organisation(story, admin):
    html = admin.get(f"/admin/insights?organisation={story['anchor']}").get_data(as_text=True)
    assert [t["caption"] for t in tables(html)] == [
        "Cohorts of Anchor Trust by start date, with the organisation’s totals"]
    assert f'<option value="{story["anchor"]}" selected>Anchor Trust</option>' in html
    # its only cohort is archived: nothing to show until asked
    beacon = admin.get(f"/admin/insights?organisation={story['beacon']}")
    assert beacon.status_code == 200
    page = beacon.get_data(as_text=True)
    assert tables(page) == []
    assert "No cohorts to show." in page
    assert "Include archived cohorts" in page
    both = admin.get(f"/admin/insights?organisation={story['beacon']}&archived=1")
    found = tables(both.get_data(as_text=True))
    assert [t["caption"] for t in found] == [
        "Cohorts of Beacon Council by start date, with the organisation’s totals"]
    assert _row(found[0], "Old Guard") == OLD


@pytest.mark.parametrize("query", ["", "organisation=", "archived=0", "archived=",
                                   "organisation=&archived=0"])
def test_empty_filters_show_everything_not_archived(story, admin, query):
    response = admin.get(f"/admin/insights?{query}")
    assert response.status_code == 200
    assert "Spring Pathfinders" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "organisation=abc", "organisation=-1", "organisation=1.5", "organisation=%20",
    "organisation=%C2%B2",  # "²": a digit to str.isdigit, not to int()
    "organisation=%D9%A1",  # an Arabic-Indic one
    "organisation=1e3", "archived=yes", "archived=2", "archived=true", "archived=%E2%9C%93",
])
def test_bad_filters_are_400(story, admin, query):
    for path in ("/admin/insights", "/admin/insights.csv"):
        response = admin.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)


@pytest.mark.parametrize("raw", ["0", "999999", "2147483648", "9" * 5000])
def test_unknown_organisations_are_404(story, admin, raw):
    for path in ("/admin/insights", "/admin/insights.csv"):
        assert admin.get(f"{path}?organisation={raw}").status_code == 404


def test_no_cohorts_at_all(app, admin_only):
    response = admin_only.get("/admin/insights")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "No cohorts to show." in html
    assert "<table" not in html
    body = admin_only.get("/admin/insights.csv").get_data(as_text=True)
    assert body.lstrip("\ufeff").count("\r\n") == 1  # the header alone


@pytest.fixture
def admin_only(app, frozen, login_as):
    frozen(NOW)
    with app.app_context():
        user = factories.make_user(is_admin=True)
        db.session.commit()
        return login_as(user)


# --- the CSV ------------------------------------------------------------------------------------

HEADER = ["organisation", "cohort_id", "cohort", "status", "start_date", "end_date", "invited",
          "joined", "joined_percent_of_invited", "baseline_sent", "baseline_percent_of_joined",
          "active_last_14_days", "active_percent_of_joined", "fewer_than_5_joined",
          "goals_done", "check_ins", "web_hours", "events_held", "attendances",
          "sessions_held_1to1", "feed_posts"]


def test_csv_holds_the_same_lines_formula_safe(story, admin):
    response = admin.get("/admin/insights.csv?archived=1")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="dap-organisation-report-2026-05-13.csv"')
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == HEADER
    assert rows[1:] == [
        ["Anchor Trust", str(story["spring"]), "Spring Pathfinders", "running", "2026-03-02",
         "2026-07-31", "5", "4", "80", "2", "50", "2", "50", "true", "2", "3", "2.5", "2", "2",
         "1", "2"],
        ["Anchor Trust", str(story["autumn"]), "'" + FORMULA, "upcoming", "2026-06-01",
         "2026-09-30", "3", "1", "33", "1", "100", "1", "100", "true", "0", "0", "0.5", "0",
         "0", "0", "0"],
        ["Beacon Council", str(story["old"]), "Old Guard", "archived", "2025-09-01",
         "2025-12-19", "7", "6", "86", "3", "50", "0", "0", "false", "1", "1", "2.1", "1", "2",
         "1", "1"],
    ]


def test_csv_follows_the_filters(story, admin):
    text = admin.get(f"/admin/insights.csv?organisation={story['anchor']}").get_data(
        as_text=True)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert [row[2] for row in rows[1:]] == ["Spring Pathfinders", "'" + FORMULA]


def test_the_page_links_to_the_csv_with_its_filters(story, admin):
    html = admin.get(f"/admin/insights?organisation={story['anchor']}&archived=1").get_data(
        as_text=True)
    assert (f'href="/admin/insights.csv?organisation={story["anchor"]}&amp;archived=1"' in html
            or f'href="/admin/insights.csv?archived=1&amp;organisation={story["anchor"]}"'
            in html)


# --- who may see it -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["facilitator", "patron", "participant"])
def test_only_admins(story, app, login_as, role):
    with app.app_context():
        client = login_as(db.session.get(User, story[role]))
    for path in ("/admin/insights", "/admin/insights.csv", "/admin/insights?archived=1"):
        assert client.get(path).status_code == 403


def test_signed_out_people_are_sent_to_sign_in(story, client):
    for path in ("/admin/insights", "/admin/insights.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_admins_find_it_in_the_menu_and_others_do_not(story, app, admin, login_as):
    assert 'href="/admin/insights"' in admin.get("/").get_data(as_text=True)
    with app.app_context():
        facilitator = login_as(db.session.get(User, story["facilitator"]))
    assert 'href="/admin/insights"' not in facilitator.get("/").get_data(as_text=True)


def test_each_cohort_links_to_its_insights_dashboard(story, app, admin):
    html = admin.get("/admin/insights").get_data(as_text=True)
    links = re.findall(r'href="([^"]+)">Insights<span', html)
    with app.test_request_context():
        assert links == [url_for("insights.dashboard", cohort_id=story[key])
                         for key in ("spring", "autumn")]


# --- statuses and rounding ----------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "zone", "archived", "expected"), [
    (date(2026, 5, 14), date(2026, 6, 1), "Europe/London", False, CohortStatus.UPCOMING),
    # 13 May 12:00 UTC is already midnight on the 14th in Auckland
    (date(2026, 5, 14), date(2026, 6, 1), "Pacific/Auckland", False, CohortStatus.RUNNING),
    (date(2026, 5, 13), date(2026, 5, 13), "Europe/London", False, CohortStatus.RUNNING),
    (date(2026, 4, 1), date(2026, 5, 12), "Europe/London", False, CohortStatus.ENDED),
    # ... and its last day is over there, while London still has it
    (date(2026, 4, 1), date(2026, 5, 13), "Pacific/Auckland", False, CohortStatus.ENDED),
    (date(2026, 4, 1), date(2026, 6, 12), "Europe/London", True, CohortStatus.ARCHIVED),
])
def test_status_from_dates_in_the_cohorts_time_zone(start, end, zone, archived, expected):
    assert cohort_status(start_date=start, end_date=end, timezone=zone, is_archived=archived,
                         now=NOW) is expected


def test_an_ended_cohort_on_the_page(app, admin_only):
    with app.app_context():
        org = factories.make_organisation("Cedar Group")
        factories.make_cohort(org, name="Winter", start_date=date(2026, 1, 5),
                              end_date=date(2026, 3, 27))
        db.session.commit()
    found = tables(admin_only.get("/admin/insights").get_data(as_text=True))
    assert _row(found[0], "Winter") == ["Ended"] + ["0"] * 2 + ["—"] + ["0", "—"] * 2 + [
        "0", "0", "0.0", "0", "0", "0", "0"]


@pytest.mark.parametrize(("part", "whole", "expected"), [
    (0, 0, None), (3, 0, None), (0, 4, 0), (5, 8, 63), (1, 8, 13), (1, 3, 33), (2, 3, 67),
    (1, 200, 1), (1, 201, 0), (7, 7, 100)])
def test_percentages_round_halves_up(part, whole, expected):
    assert percent(part, whole) == expected


@pytest.mark.parametrize(("minutes", "hours"), [
    (0, 0.0), (2, 0.0), (3, 0.1), (30, 0.5), (123, 2.1), (128, 2.1), (129, 2.2), (303, 5.1), (600, 10.0)])
def test_web_hours_to_one_decimal(minutes, hours):
    assert Figures(web_minutes=minutes).web_hours == hours


# --- a fixed number of queries ------------------------------------------------------------------


def _grow(cohorts: int, people: int) -> None:
    """``cohorts`` running cohorts in two organisations, ``people`` participants spread over
    them, each with a record on every channel."""
    facilitator = factories.make_user(is_facilitator=True)
    orgs = [factories.make_organisation(), factories.make_organisation()]
    built = [Cohorts(orgs[n % 2], f"Cohort {n}", date(2026, 3, 2), date(2026, 7, 31),
                     facilitator) for n in range(cohorts)]
    for n in range(people):
        where = built[n % cohorts]
        person = where.person(f"Person {n}")
        where.assessment(person)
        where.check_in(where.goal(person), NOW - 2 * D, 10)
        where.web(person, NOW - 3 * D, 20)
        where.mark(where.event(NOW - 4 * D), person, AttendanceMark.ATTENDED)
        where.session(person, NOW - 5 * D)
        where.post(person, NOW - 6 * D)
        if n % 3 == 0:
            where.person(f"Invited {n}", MembershipStatus.INVITED)


def _selects(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH")))


def _queries(app, client, path: str) -> int:
    with counting_queries(app) as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def test_the_same_number_of_queries_for_2_cohorts_of_3_people_and_6_of_30(app, admin_only):
    with app.app_context():
        _grow(2, 3)
        db.session.commit()
        with counting_queries(app) as direct:
            small = organisation_report(now=NOW)
        assert (len(small.lines), small.totals.joined) == (2, 3)
    small_page = _queries(app, admin_only, "/admin/insights")
    small_csv = _queries(app, admin_only, "/admin/insights.csv")
    with app.app_context():
        _grow(4, 27)
        db.session.commit()
        with counting_queries(app) as direct_big:
            big = organisation_report(now=NOW)
        assert (len(big.lines), big.totals.joined) == (6, 30)
        assert (big.totals.active_lately, big.totals.feed_posts) == (30, 30)
    # the cohorts, then eight grouped figures and the six of the latest activity
    assert _selects(direct_big) == _selects(direct) == 16
    assert _queries(app, admin_only, "/admin/insights") == small_page
    assert _queries(app, admin_only, "/admin/insights.csv") == small_csv
