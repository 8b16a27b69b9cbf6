"""Shared fixtures for the insights tests: ``story``, a small cohort whose every figure is
worked out by hand below.

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

import pytest

from dap.accounts.models import User
from dap.baseline.models import Assessment
from dap.baseline.services import ensure_baseline_checkpoint
from dap.cohorts.models import CohortRole, MembershipStatus
from dap.community.models import Comment, Post, PostKind
from dap.events.models import Attendance, AttendanceMark, Event, EventStatus
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import PlatformDay, WebActivity
from tests import factories

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


