"""The demo data: it loads into an empty database, its finished autumn cohort holds the
facts each team's story needs (so every insights chart has something to show), the running
spring cohort keeps what it had, and two loads make the same records."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.baseline.models import Assessment, Checkpoint, CheckpointKind, Rating
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, PatronLink, Team
from dap.community.models import Comment, Kudos, Post
from dap.community.queries import stories
from dap.demo import load_demo
from dap.events.models import PRESENT_MARKS, Attendance, Event, Rsvp
from dap.extensions import db
from dap.insights.activity import last_activity, silent_days
from dap.nudges.models import NUDGE_KINDS, Notification, Reaction
from dap.plans.models import CheckIn, GoalEndorsement, GoalStatus, Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import PlatformDay, WebActivity
from tests.conftest import sign_in

AUTUMN = "Digital Action Plan: Northfield autumn cohort"
SPRING = "Digital Action Plan: Northfield spring cohort"
WORKSHOP_TEAM, ONLINE_TEAM, FADING_TEAM = "Housing Services", "Libraries", "Parks and Open Spaces"
#: the addresses other tests, the browser journeys and the docs rely on
STABLE = {"admin@example.org", "facilitator@example.org", "patron@example.org",
          "participant@example.org", "jordan.lee@example.org", "sana.rahman@example.org",
          "tom.fletcher@example.org", "grace.obi@example.org", "martin.kowalski@example.org",
          "helen.price@example.org", "dev.patel@example.org", "lucy.ward@example.org",
          "owen.hughes@example.org", "kai.newman@example.org", "marcus.webb@example.org",
          "amara.cole@example.org", "ian.frost@example.org", "jo.bright@example.org",
          "rita.mensah@example.org"}
#: a spring day and an autumn one, so the finished cohort spans a clock change in one
DAYS = [datetime(2026, 3, 18, 10, 0, tzinfo=UTC), datetime(2026, 12, 3, 15, 0, tzinfo=UTC)]


@pytest.fixture
def demo(app, frozen):
    """``demo(at)``: the demo loaded (and committed) with the clock at ``at``; an app
    context stays open for the test's reads."""
    contexts = []

    def load(at: datetime = DAYS[0]) -> str:
        frozen(at)
        context = app.app_context()
        context.push()
        contexts.append(context)
        summary = load_demo(params=app.config["PASSWORD_HASH_PARAMS"])
        db.session.commit()
        return summary

    yield load
    for context in reversed(contexts):
        db.session.remove()
        context.pop()


def cohort_named(name: str) -> Cohort:
    return db.session.scalars(select(Cohort).where(Cohort.name == name)).one()


def teams_of(cohort: Cohort) -> dict[str, set[int]]:
    """Team name → the user ids of the cohort's joined participants in it."""
    teams: dict[str, set[int]] = defaultdict(set)
    for user_id, team in db.session.execute(
            select(Membership.user_id, Team.name).join(Team, Team.id == Membership.team_id)
            .where(Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
                   Membership.status == MembershipStatus.ACTIVE)):
        teams[team].add(user_id)
    return teams


def window(cohort: Cohort) -> tuple[datetime, datetime]:
    """The cohort's dates as the half-open UTC interval [first day 00:00, day after the last
    00:00) in its time zone."""
    zone = ZoneInfo(cohort.timezone)
    first = datetime.combine(cohort.start_date, time(), tzinfo=zone)
    after = datetime.combine(cohort.end_date + timedelta(days=1), time(), tzinfo=zone)
    return first.astimezone(UTC), after.astimezone(UTC)


def week_starts(cohort: Cohort, week: int) -> datetime:
    """00:00 on the Monday of the cohort's ``week`` (1 = its first), in UTC."""
    day = cohort.start_date + timedelta(weeks=week - 1)
    return datetime.combine(day, time(), tzinfo=ZoneInfo(cohort.timezone)).astimezone(UTC)


def goals_by_person(cohort: Cohort) -> dict[int, Counter]:
    found: dict[int, Counter] = defaultdict(Counter)
    for user_id, status in db.session.execute(
            select(Plan.participant_id, PlanGoal.status).join(PlanGoal, PlanGoal.plan_id == Plan.id)
            .where(Plan.cohort_id == cohort.id)):
        found[user_id][status] += 1
    return found


# --- loading ------------------------------------------------------------------------------------


def test_the_demo_command_loads_three_cohorts_into_an_empty_database(app, runner):
    result = runner.invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    assert "3 cohorts" in result.output
    assert "the finished autumn cohort (24 participants in 3 teams over 12 weeks" in result.output
    with app.app_context():
        names = set(db.session.scalars(select(Cohort.name)))
        assert {SPRING, AUTUMN, "Leading in a digital world: senior leaders"} <= names
        person = db.session.scalar(
            select(User.email).join(Membership, Membership.user_id == User.id)
            .join(Cohort, Cohort.id == Membership.cohort_id)
            .join(Team, Team.id == Membership.team_id)
            .where(Cohort.name == AUTUMN, Team.name == ONLINE_TEAM,
                   Membership.status == MembershipStatus.ACTIVE).order_by(User.email).limit(1))
    # The autumn people sign in with the demo password, as the documented accounts do.
    assert sign_in(app.test_client(), person, "dap-demo-2026").status_code == 302


@pytest.mark.parametrize("at", DAYS, ids=["in March", "in December"])
def test_the_autumn_cohort_ran_twelve_weeks_and_ended_about_five_weeks_ago(demo, at):
    demo(at)
    autumn = cohort_named(AUTUMN)
    today = at.date()

    assert autumn.start_date.weekday() == 0  # a Monday
    assert autumn.end_date - autumn.start_date == timedelta(days=83)  # twelve whole weeks
    assert 35 <= (today - autumn.end_date).days < 42
    assert not autumn.is_archived
    facilitators = db.session.scalars(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == autumn.id, Membership.role == CohortRole.FACILITATOR))
    assert list(facilitators) == ["facilitator@example.org"]
    # 24 joined in three teams of eight; two more invited who never joined
    teams = teams_of(autumn)
    assert {name: len(ids) for name, ids in teams.items()} == {
        WORKSHOP_TEAM: 8, ONLINE_TEAM: 8, FADING_TEAM: 8}
    statuses = Counter(db.session.scalars(select(Membership.status).where(
        Membership.cohort_id == autumn.id, Membership.role == CohortRole.PARTICIPANT)))
    assert statuses == {MembershipStatus.ACTIVE: 24, MembershipStatus.INVITED: 2}
    # New people: every autumn member has an @example.org address of their own.
    emails = list(db.session.scalars(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == autumn.id, Membership.role != CohortRole.FACILITATOR)))
    assert len(emails) == 29  # 26 participants and 3 patrons
    assert all(email.endswith("@example.org") for email in emails)
    assert not set(emails) & STABLE
    # One organisation: the spring cohort's.
    assert autumn.organisation_id == cohort_named(SPRING).organisation_id


def test_the_facilitators_dashboard_lists_the_running_cohort_first(app):
    # Loaded as `flask demo` and the browser journeys load it: on the wall clock.
    with app.app_context():
        load_demo(params=app.config["PASSWORD_HASH_PARAMS"])
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "facilitator@example.org", "dap-demo-2026").status_code == 302

    page = client.get("/").get_data(as_text=True)

    assert SPRING in page
    assert AUTUMN in page
    assert page.index(SPRING) < page.index(AUTUMN)


# --- the three stories --------------------------------------------------------------------------


@pytest.mark.parametrize("at", DAYS, ids=["in March", "in December"])
def test_each_autumn_team_tells_its_own_story(demo, at):
    demo(at)
    autumn = cohort_named(AUTUMN)
    teams = teams_of(autumn)
    goals = goals_by_person(autumn)

    def done_share(team: str) -> float:
        done = sum(goals[u][GoalStatus.DONE] for u in teams[team])
        return done / sum(sum(goals[u].values()) for u in teams[team])

    def done(team: str) -> int:
        return sum(goals[u][GoalStatus.DONE] for u in teams[team])

    present = Counter(db.session.scalars(
        select(Attendance.user_id).join(Event, Event.id == Attendance.event_id)
        .where(Event.cohort_id == autumn.id, Attendance.mark.in_(PRESENT_MARKS))))
    marks = Counter(db.session.scalars(
        select(Attendance.mark).join(Event, Event.id == Attendance.event_id)
        .where(Event.cohort_id == autumn.id)))
    held = Counter(db.session.scalars(
        select(SupportBooking.participant_id).join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .where(SupportSlot.cohort_id == autumn.id, SupportBooking.status == BookingStatus.BOOKED)))
    check_ins = Counter(db.session.scalars(
        select(Plan.participant_id).join(CheckIn, CheckIn.plan_id == Plan.id)
        .where(Plan.cohort_id == autumn.id)))
    web = dict(db.session.execute(
        select(WebActivity.user_id, func.sum(WebActivity.minutes))
        .where(WebActivity.cohort_id == autumn.id).group_by(WebActivity.user_id)).all())
    posts = Counter(db.session.scalars(select(Post.author_id).where(Post.cohort_id == autumn.id)))

    def per_person(counts, team: str) -> float:
        return sum(counts.get(u, 0) for u in teams[team]) / len(teams[team])

    # The workshop team: at the events and the 1:1s, and the most goals finished.
    assert done_share(WORKSHOP_TEAM) > done_share(FADING_TEAM)
    assert done(WORKSHOP_TEAM) > done(ONLINE_TEAM) > done(FADING_TEAM)
    assert all(present[u] >= 3 for u in teams[WORKSHOP_TEAM])
    assert sum(held[u] for u in teams[WORKSHOP_TEAM]) >= 8
    # Every kind of mark at the door shows up.
    assert set(marks) == {"attended", "partly", "no_show", "walk_in"}
    # The online team: never at an event or a 1:1, but the most check-ins, web time and
    # posts per person, and goals finished too.
    assert not any(present[u] or held[u] for u in teams[ONLINE_TEAM])
    for counts in (check_ins, web, posts):
        assert per_person(counts, ONLINE_TEAM) > per_person(counts, WORKSHOP_TEAM)
        assert per_person(counts, ONLINE_TEAM) > per_person(counts, FADING_TEAM)
    assert done_share(ONLINE_TEAM) > done_share(FADING_TEAM)
    # Check-ins come little and often: one to three in a week someone checks in.
    weekly = Counter(
        (user_id, (day - autumn.start_date).days // 7) for user_id, day in db.session.execute(
            select(Plan.participant_id, CheckIn.local_date).join(CheckIn, CheckIn.plan_id == Plan.id)
            .where(Plan.cohort_id == autumn.id)))
    assert max(weekly.values()) <= 4
    assert 1.5 <= mean(weekly.values()) <= 3
    # Two success stories featured, one of them shared with the organisation's cohorts.
    featured = db.session.scalars(select(Post).where(
        Post.cohort_id == autumn.id, Post.featured_at.is_not(None))).all()
    assert len(featured) == 2
    assert [p.shared_across_at is not None for p in featured].count(True) == 1


@pytest.mark.parametrize("at", DAYS, ids=["in March", "in December"])
def test_the_fading_team_has_no_activity_in_the_last_six_weeks(demo, at):
    demo(at)
    autumn = cohort_named(AUTUMN)
    fading = teams_of(autumn)[FADING_TEAM]
    since = week_starts(autumn, 7)
    first_day = autumn.start_date + timedelta(weeks=6)

    later = {
        "check-ins": select(CheckIn.id).join(Plan, Plan.id == CheckIn.plan_id)
        .where(Plan.participant_id.in_(fading), CheckIn.created_at >= since),
        "web time": select(WebActivity.id).where(WebActivity.user_id.in_(fading),
                                                 WebActivity.local_date >= first_day),
        "time on DAP": select(PlatformDay.user_id).where(PlatformDay.user_id.in_(fading),
                                                         PlatformDay.day >= first_day),
        "answers to events": select(Rsvp.id).where(Rsvp.user_id.in_(fading),
                                                   Rsvp.updated_at >= since),
        "events": select(Attendance.id).join(Event, Event.id == Attendance.event_id)
        .where(Attendance.user_id.in_(fading), Attendance.mark.in_(PRESENT_MARKS),
               Event.starts_at >= since),
        "1:1s": select(SupportBooking.id).join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .where(SupportBooking.participant_id.in_(fading), SupportSlot.starts_at >= since),
        "posts": select(Post.id).where(Post.author_id.in_(fading), Post.created_at >= since),
        "comments": select(Comment.id).where(Comment.author_id.in_(fading),
                                             Comment.created_at >= since),
    }
    for what, query in later.items():
        assert db.session.execute(query).first() is None, what
    # Quiet from week 5 on: at the cohort's end, every one of them is silent.
    end = window(autumn)[1]
    latest = last_activity(autumn.id, fading)
    assert set(latest) == fading  # each did something at first
    assert all(a.at < week_starts(autumn, 5) for a in latest.values())
    assert all(silent_days(latest[u], joined_at=None, after_days=autumn.silent_after_days,
                           now=end) for u in fading)
    # The other two teams were still active in the cohort's last fortnight.
    for team in (WORKSHOP_TEAM, ONLINE_TEAM):
        people = teams_of(autumn)[team]
        recent = last_activity(autumn.id, people)
        assert all(recent[u].at >= end - timedelta(days=14) for u in people), team
    # Their patron's nudges went unanswered, but for one "need help".
    reactions = list(db.session.scalars(select(Notification.reaction).where(
        Notification.user_id.in_(fading), Notification.kind.in_(NUDGE_KINDS))))
    assert len(reactions) >= 5
    assert [r for r in reactions if r is not None] == [Reaction.NEED_HELP]


@pytest.mark.parametrize("at", DAYS, ids=["in March", "in December"])
def test_every_autumn_record_lies_within_the_cohort_dates(demo, at):
    demo(at)
    autumn = cohort_named(AUTUMN)
    first, after = window(autumn)
    people = list(db.session.scalars(select(Membership.user_id).where(
        Membership.cohort_id == autumn.id, Membership.role == CohortRole.PARTICIPANT)))
    plan = Plan.cohort_id == autumn.id
    moments = {
        "check-ins": select(CheckIn.created_at).join(Plan, Plan.id == CheckIn.plan_id).where(plan),
        "goals set": select(PlanGoal.created_at).join(Plan, Plan.id == PlanGoal.plan_id).where(plan),
        "goals done": select(PlanGoal.done_at).join(Plan, Plan.id == PlanGoal.plan_id)
        .where(plan, PlanGoal.done_at.is_not(None)),
        "web time": select(WebActivity.created_at).where(WebActivity.cohort_id == autumn.id),
        "events": select(Event.starts_at).where(Event.cohort_id == autumn.id),
        "answers": select(Rsvp.updated_at).join(Event, Event.id == Rsvp.event_id)
        .where(Event.cohort_id == autumn.id),
        "1:1 slots": select(SupportSlot.starts_at).where(SupportSlot.cohort_id == autumn.id),
        "bookings": select(SupportBooking.created_at)
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .where(SupportSlot.cohort_id == autumn.id),
        "posts": select(Post.created_at).where(Post.cohort_id == autumn.id),
        "comments": select(Comment.created_at).join(Post, Post.id == Comment.post_id)
        .where(Post.cohort_id == autumn.id),
        "kudos": select(Kudos.created_at).join(Post, Post.id == Kudos.post_id)
        .where(Post.cohort_id == autumn.id),
        "notifications": select(Notification.created_at).where(Notification.cohort_id == autumn.id),
        "reactions": select(Notification.reacted_at).where(
            Notification.cohort_id == autumn.id, Notification.reacted_at.is_not(None)),
        "assessments": select(Assessment.submitted_at).where(Assessment.cohort_id == autumn.id),
        "endorsements": select(GoalEndorsement.created_at)
        .join(PlanGoal, PlanGoal.id == GoalEndorsement.goal_id)
        .join(Plan, Plan.id == PlanGoal.plan_id).where(plan),
    }
    for what, query in moments.items():
        found = list(db.session.scalars(query))
        assert found, what
        assert all(first <= moment < after for moment in found), what
    days = {
        "check-in days": select(CheckIn.local_date).join(Plan, Plan.id == CheckIn.plan_id).where(plan),
        "web days": select(WebActivity.local_date).where(WebActivity.cohort_id == autumn.id),
        "days on DAP": select(PlatformDay.day).where(PlatformDay.user_id.in_(people)),
    }
    for what, query in days.items():
        found = list(db.session.scalars(query))
        assert found, what
        assert all(autumn.start_date <= day <= autumn.end_date for day in found), what
    # A goal's check-ins come after it was set, and none after it was finished.
    for set_at, done_at, checked_at in db.session.execute(
            select(PlanGoal.created_at, PlanGoal.done_at, CheckIn.created_at)
            .join(CheckIn, CheckIn.goal_id == PlanGoal.id).join(Plan, Plan.id == PlanGoal.plan_id)
            .where(plan)):
        assert set_at <= checked_at
        assert done_at is None or checked_at <= done_at


def test_nudges_come_from_patrons_linked_to_their_recipients(demo):
    demo()
    links = set(db.session.execute(
        select(PatronLink.cohort_id, PatronLink.patron_id, PatronLink.participant_id)
        .where(PatronLink.ended_at.is_(None))).all())
    nudges = db.session.execute(
        select(Notification.cohort_id, Notification.sender_id, Notification.user_id,
               Notification.reaction).where(Notification.kind.in_(NUDGE_KINDS))).all()

    assert all((c, sender, to) in links for c, sender, to, _ in nudges)
    by_cohort = Counter(c for c, *_ in nudges)
    assert by_cohort[cohort_named(AUTUMN).id] >= 20
    assert by_cohort[cohort_named(SPRING).id] >= 5
    reactions = Counter(r for *_, r in nudges)
    assert reactions[Reaction.THUMBS_UP] > 0
    assert reactions[Reaction.ON_IT] > 0
    assert reactions[None] > 0  # not every nudge gets an answer


def test_skills_rise_from_the_baseline_to_the_final_checkpoint(demo):
    demo()
    autumn = cohort_named(AUTUMN)
    scores: dict[CheckpointKind, dict[int, float]] = defaultdict(dict)
    for kind, user_id, value in db.session.execute(
            select(Checkpoint.kind, Assessment.user_id, func.avg(Rating.value))
            .join(Assessment, Assessment.checkpoint_id == Checkpoint.id)
            .join(Rating, Rating.assessment_id == Assessment.id)
            .where(Checkpoint.cohort_id == autumn.id, Assessment.submitted_at.is_not(None))
            .group_by(Checkpoint.kind, Assessment.user_id)):
        scores[kind][user_id] = float(value)

    baseline, final = scores[CheckpointKind.BASELINE], scores[CheckpointKind.FINAL]
    assert len(baseline) == 23  # all who joined but one
    both = set(baseline) & set(final)
    assert len(both) >= 12
    changes = [final[u] - baseline[u] for u in both]
    assert mean(changes) >= 0.3
    assert sum(c > 0 for c in changes) >= 0.8 * len(changes)
    assert scores[CheckpointKind.MIDPOINT]
    # The fading team sent the baseline and nothing later.
    fading = teams_of(autumn)[FADING_TEAM]
    assert len(fading & set(baseline)) == 7
    assert not fading & (set(final) | set(scores[CheckpointKind.MIDPOINT]))


def test_time_on_dap_follows_the_cohorts_target_share(demo):
    demo()
    autumn = cohort_named(AUTUMN)
    people = teams_of(autumn)
    everyone = set().union(*people.values())

    def monday(day: date) -> date:
        return day - timedelta(days=day.weekday())

    web: Counter = Counter()
    for user_id, day, minutes in db.session.execute(
            select(WebActivity.user_id, WebActivity.local_date, WebActivity.minutes)
            .where(WebActivity.cohort_id == autumn.id)):
        web[(user_id, monday(day))] += minutes
    for user_id, day, minutes in db.session.execute(
            select(Plan.participant_id, CheckIn.local_date, CheckIn.minutes)
            .join(CheckIn, CheckIn.plan_id == Plan.id).where(Plan.cohort_id == autumn.id)):
        web[(user_id, monday(day))] += minutes
    platform: Counter = Counter()
    for user_id, day, seconds in db.session.execute(
            select(PlatformDay.user_id, PlatformDay.day, PlatformDay.seconds)
            .where(PlatformDay.user_id.in_(everyone))):
        platform[(user_id, monday(day))] += seconds / 60

    # Across the cohort, the web share is near its target of a half (a little over).
    share = sum(web.values()) / (sum(web.values()) + sum(platform.values()))
    assert autumn.web_share <= share <= 0.75
    # Nobody's week on DAP goes past what the cap allowed them (a few minutes' slack).
    for key, minutes in platform.items():
        allowed = min(autumn.platform_minutes_per_week, web[key] + autumn.grace_minutes)
        assert minutes <= allowed + 5, key
    # The online team spends the largest share of its time on the web.
    def team_share(team: str) -> float:
        w = sum(v for (u, _), v in web.items() if u in people[team])
        p = sum(v for (u, _), v in platform.items() if u in people[team])
        return w / (w + p)

    assert team_share(ONLINE_TEAM) > team_share(WORKSHOP_TEAM) > team_share(FADING_TEAM)


# --- the running spring cohort ------------------------------------------------------------------


def test_the_spring_cohort_keeps_its_records_and_shows_someone_silent(demo):
    demo()
    spring = cohort_named(SPRING)
    alex = db.session.scalars(select(User).where(User.email == "participant@example.org")).one()

    # The demo participant is as before: no baseline sent, three goals, no nudges.
    assert not db.session.scalar(select(func.count()).select_from(Assessment).where(
        Assessment.user_id == alex.id))
    assert sum(goals_by_person(spring)[alex.id].values()) == 3
    assert not db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == alex.id, Notification.kind.in_(NUDGE_KINDS)))
    # Owen Hughes went quiet after his first week: silent on the roster now.
    owen, joined_at = db.session.execute(
        select(User.id, Membership.joined_at).join(Membership, Membership.user_id == User.id)
        .where(User.email == "owen.hughes@example.org", Membership.cohort_id == spring.id)).one()
    latest = last_activity(spring.id, [owen])[owen]
    assert silent_days(latest, joined_at=joined_at, after_days=spring.silent_after_days,
                       now=DAYS[0]) >= spring.silent_after_days
    # The autumn story shared with the organisation shows among the spring cohort's.
    elsewhere = [s for s in stories(spring) if s.elsewhere]
    assert [s.cohort_name for s in elsewhere] == [AUTUMN]


# --- determinism --------------------------------------------------------------------------------


def fingerprint() -> dict:
    """Row counts per table, and sums and shapes that would differ if any draw did."""
    found: dict = {table.name: db.session.scalar(select(func.count()).select_from(table))
                   for table in db.metadata.sorted_tables}
    found["check-in minutes"] = db.session.scalar(select(func.sum(CheckIn.minutes)))
    found["web minutes"] = db.session.scalar(select(func.sum(WebActivity.minutes)))
    found["seconds on DAP"] = db.session.scalar(select(func.sum(PlatformDay.seconds)))
    found["ratings"] = db.session.scalar(select(func.sum(Rating.value)))
    found["goals done"] = sorted(db.session.execute(
        select(User.email, PlanGoal.title, PlanGoal.done_at).join(Plan, Plan.id == PlanGoal.plan_id)
        .join(User, User.id == Plan.participant_id).where(PlanGoal.done_at.is_not(None))).all())
    found["marks"] = sorted(db.session.execute(
        select(User.email, Event.title, Attendance.mark)
        .join(Event, Event.id == Attendance.event_id)
        .join(User, User.id == Attendance.user_id)).all())
    return found


def test_loading_twice_makes_the_same_records(demo):
    first_summary = demo(DAYS[1])
    first = fingerprint()
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())

    second_summary = demo(DAYS[1])

    assert second_summary == first_summary
    assert fingerprint() == first
    assert first["plan_goals"] > 60
    assert first["check_ins"] > 300
