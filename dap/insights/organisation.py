"""The admins' organisation report: every cohort side by side, grouped by organisation.

One line per cohort with how far its people got (invited, joined, baseline sent, active
lately) and what they did on each channel (goals done, check-ins, web time, events and
who came, 1:1 sessions, feed posts), with totals per organisation and overall. Totals are
sums of the lines (someone in two cohorts counts in each), and their percentages are
worked out again from those sums, never averaged.

Who counts, as on the cohort's own insights pages: a cohort's *invited* participants are
its memberships of role participant that were not removed (invited or active); *joined*
are the active ones. The baseline and recent activity are counted among the joined, the
channel figures among the invited (what a removed participant did is left out, and so is
what facilitators and patrons did). Events held count whoever came.

A fixed number of queries whatever the number of cohorts and people: one for the cohorts,
one per figure grouped by cohort in SQL, one for the joined participants and the six of
``dap.insights.activity.last_activities`` for their latest activity.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select

from dap.baseline.models import Assessment, Checkpoint, CheckpointKind
from dap.baseline.reports import SMALL
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, Organisation
from dap.community.models import Post
from dap.core.csv import write_csv
from dap.events.models import PRESENT_MARKS, Attendance, Event, EventStatus
from dap.extensions import db
from dap.insights.activity import last_activities
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import WebActivity

#: a participant with any activity in this many days (up to now) is "active lately"
ACTIVE_DAYS = 14


class CohortStatus(enum.StrEnum):
    """Where a cohort stands: from its dates in its own time zone, unless archived."""

    UPCOMING = "upcoming"  #: starts after today
    RUNNING = "running"  #: today is between its start and end dates (both included)
    ENDED = "ended"  #: its end date has passed
    ARCHIVED = "archived"  #: archived by a facilitator, whatever its dates


STATUS_LABELS = {CohortStatus.UPCOMING: "Upcoming", CohortStatus.RUNNING: "Running",
                 CohortStatus.ENDED: "Ended", CohortStatus.ARCHIVED: "Archived"}


def cohort_status(*, start_date: date, end_date: date, timezone: str, is_archived: bool,
                  now: datetime) -> CohortStatus:
    """The status of a cohort at ``now``: archived when archived, else upcoming before its
    start date, ended after its end date and running in between, today being ``now``'s
    date in the cohort's time zone."""
    if is_archived:
        return CohortStatus.ARCHIVED
    today = local_date(now, timezone)
    if today < start_date:
        return CohortStatus.UPCOMING
    if today > end_date:
        return CohortStatus.ENDED
    return CohortStatus.RUNNING


def percent(part: int, whole: int) -> int | None:
    """``part`` of ``whole`` as a whole percentage, halves rounded up; None when ``whole``
    is 0 (a share of nobody)."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


def is_few(people: int) -> bool:
    """Some people, but fewer than ``SMALL``: a percentage of them is too few to read
    much into (as in the baseline reports). Nobody is not "few": there is no percentage."""
    return 0 < people < SMALL


@dataclass(frozen=True)
class Figures:
    """The counts of one cohort, or the sums of several (``a + b``). From ``goals_done``
    on, the records of the cohort's participants who were not removed."""

    #: memberships of role participant, invited or active (not removed)
    invited: int = 0
    #: of those, the active ones
    joined: int = 0
    #: joined participants who sent their assessment at the cohort's baseline checkpoint
    baseline_sent: int = 0
    #: joined participants with any activity in the last ``ACTIVE_DAYS`` days
    active_lately: int = 0
    #: goals marked done on the cohort's plans
    goals_done: int = 0
    check_ins: int = 0
    #: web activities logged in the cohort plus the minutes given with check-ins
    web_minutes: int = 0
    #: scheduled (not cancelled) events that have started
    events_held: int = 0
    #: people marked present (attended, partly, walked in) at those events
    attendances: int = 0
    #: 1:1 sessions booked (not cancelled) whose time has come
    sessions_held: int = 0
    #: posts in the cohort feed by its participants, not deleted by their author
    feed_posts: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                          for f in fields(self)})

    @property
    def joined_percent(self) -> int | None:
        """Joined, as a percentage of invited."""
        return percent(self.joined, self.invited)

    @property
    def baseline_percent(self) -> int | None:
        return percent(self.baseline_sent, self.joined)

    @property
    def active_percent(self) -> int | None:
        return percent(self.active_lately, self.joined)

    @property
    def few_invited(self) -> bool:
        return is_few(self.invited)

    @property
    def few_joined(self) -> bool:
        return is_few(self.joined)

    @property
    def web_hours(self) -> float:
        """Web time in hours, to one decimal (halves of a tenth rounded up)."""
        return ((self.web_minutes + 3) // 6) / 10


def total(figures: Iterable[Figures]) -> Figures:
    """The sum of ``figures`` (all zero for none)."""
    summed = Figures()
    for each in figures:
        summed = summed + each
    return summed


@dataclass(frozen=True)
class CohortLine:
    cohort_id: int
    name: str
    start_date: date
    end_date: date
    status: CohortStatus
    figures: Figures

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class OrganisationGroup:
    organisation_id: int
    name: str
    is_archived: bool
    #: by start date (then name)
    lines: list[CohortLine] = field(default_factory=list)

    @property
    def totals(self) -> Figures:
        return total(line.figures for line in self.lines)


@dataclass(frozen=True)
class OrgReport:
    """The report: organisations by name, each with its cohorts' lines."""

    groups: list[OrganisationGroup]
    organisation_id: int | None
    include_archived: bool
    #: the moment the figures are counted at
    now: datetime
    active_days: int = ACTIVE_DAYS

    @property
    def lines(self) -> list[CohortLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def totals(self) -> Figures:
        return total(line.figures for line in self.lines)


def organisations() -> list[Organisation]:
    """Every organisation, archived or not, by name (for the report's filter; one query)."""
    return list(db.session.scalars(
        select(Organisation).order_by(func.lower(Organisation.name), Organisation.id)))


def _by_cohort(rows: Iterable, width: int = 1) -> dict[int, tuple[int, ...]]:
    """``(cohort id, n1, …)`` rows → cohort id → the numbers (None as 0)."""
    return {row[0]: tuple(int(n or 0) for n in row[1:1 + width]) for row in rows}


def _participants(*statuses: MembershipStatus) -> list:
    return [Membership.role == CohortRole.PARTICIPANT, Membership.status.in_(statuses)]


#: the memberships whose records count: participants invited or active (not removed)
COUNTED = (MembershipStatus.INVITED, MembershipStatus.ACTIVE)


def _counted(cohort_id, user_id):
    """The join condition from a record's cohort and person to the membership that makes
    it count (a participant of that cohort, not removed)."""
    return and_(Membership.cohort_id == cohort_id, Membership.user_id == user_id,
                *_participants(*COUNTED))


def _active_lately(ids: list[int], since: datetime) -> dict[int, int]:
    """Cohort id → how many joined participants have an activity at or after ``since``
    (one query for them, six for their latest activity)."""
    people = db.session.execute(
        select(Membership.cohort_id, Membership.user_id)
        .where(Membership.cohort_id.in_(ids), *_participants(MembershipStatus.ACTIVE))).all()
    counts: dict[int, int] = defaultdict(int)
    for (cohort_id, _), activity in last_activities(
            (cohort_id, user_id) for cohort_id, user_id in people).items():
        if activity.at >= since:
            counts[cohort_id] += 1
    return counts


def _figures(ids: list[int], now: datetime) -> dict[int, Figures]:
    """Cohort id → its figures at ``now``: each figure grouped by cohort in SQL."""
    session = db.session
    members = _by_cohort(session.execute(
        select(Membership.cohort_id, func.count(Membership.id),
               func.count(case((Membership.status == MembershipStatus.ACTIVE, Membership.id))))
        .where(Membership.cohort_id.in_(ids), *_participants(*COUNTED))
        .group_by(Membership.cohort_id)), 2)
    baseline = _by_cohort(session.execute(
        select(Assessment.cohort_id, func.count(func.distinct(Assessment.user_id)))
        .join(Checkpoint, Checkpoint.id == Assessment.checkpoint_id)
        .join(Membership, and_(Membership.cohort_id == Assessment.cohort_id,
                               Membership.user_id == Assessment.user_id))
        .where(Assessment.cohort_id.in_(ids), Checkpoint.kind == CheckpointKind.BASELINE,
               Assessment.submitted_at.is_not(None), *_participants(MembershipStatus.ACTIVE))
        .group_by(Assessment.cohort_id)))
    active = _active_lately(ids, now - timedelta(days=ACTIVE_DAYS))
    goals = _by_cohort(session.execute(
        select(Plan.cohort_id, func.count(PlanGoal.id))
        .join(Membership, _counted(Plan.cohort_id, Plan.participant_id))
        .join(PlanGoal, PlanGoal.plan_id == Plan.id)
        .where(Plan.cohort_id.in_(ids), PlanGoal.status == GoalStatus.DONE)
        .group_by(Plan.cohort_id)))
    check_ins = _by_cohort(session.execute(
        select(Plan.cohort_id, func.count(CheckIn.id), func.sum(CheckIn.minutes))
        .join(Membership, _counted(Plan.cohort_id, Plan.participant_id))
        .join(CheckIn, CheckIn.plan_id == Plan.id)
        .where(Plan.cohort_id.in_(ids))
        .group_by(Plan.cohort_id)), 2)
    web = _by_cohort(session.execute(
        select(WebActivity.cohort_id, func.sum(WebActivity.minutes))
        .join(Membership, _counted(WebActivity.cohort_id, WebActivity.user_id))
        .where(WebActivity.cohort_id.in_(ids))
        .group_by(WebActivity.cohort_id)))
    # Every event held, with or without anyone there; present marks of counted people.
    events = _by_cohort(session.execute(
        select(Event.cohort_id, func.count(func.distinct(Event.id)), func.count(Membership.id))
        .outerjoin(Attendance, and_(Attendance.event_id == Event.id,
                                    Attendance.mark.in_(PRESENT_MARKS)))
        .outerjoin(Membership, _counted(Event.cohort_id, Attendance.user_id))
        .where(Event.cohort_id.in_(ids), Event.status == EventStatus.SCHEDULED,
               Event.starts_at <= now)
        .group_by(Event.cohort_id)), 2)
    sessions = _by_cohort(session.execute(
        select(SupportSlot.cohort_id, func.count(SupportBooking.id))
        .join(SupportBooking, SupportBooking.slot_id == SupportSlot.id)
        .join(Membership, _counted(SupportSlot.cohort_id, SupportBooking.participant_id))
        .where(SupportSlot.cohort_id.in_(ids), SupportBooking.status == BookingStatus.BOOKED,
               SupportSlot.starts_at <= now)
        .group_by(SupportSlot.cohort_id)))
    posts = _by_cohort(session.execute(
        select(Post.cohort_id, func.count(Post.id))
        .join(Membership, _counted(Post.cohort_id, Post.author_id))
        .where(Post.cohort_id.in_(ids), Post.deleted_at.is_(None))
        .group_by(Post.cohort_id)))
    result = {}
    for cohort_id in ids:
        invited, joined = members.get(cohort_id, (0, 0))
        check_in_count, check_in_minutes = check_ins.get(cohort_id, (0, 0))
        held, came = events.get(cohort_id, (0, 0))
        result[cohort_id] = Figures(
            invited=invited, joined=joined, baseline_sent=baseline.get(cohort_id, (0,))[0],
            active_lately=active.get(cohort_id, 0), goals_done=goals.get(cohort_id, (0,))[0],
            check_ins=check_in_count,
            web_minutes=web.get(cohort_id, (0,))[0] + check_in_minutes,
            events_held=held, attendances=came,
            sessions_held=sessions.get(cohort_id, (0,))[0],
            feed_posts=posts.get(cohort_id, (0,))[0])
    return result


def organisation_report(*, organisation_id: int | None = None, include_archived: bool = False,
                        now: datetime | None = None) -> OrgReport:
    """The report at ``now`` (default: the clock), for every organisation or only
    ``organisation_id``'s, leaving out archived cohorts unless ``include_archived``.
    Organisations come by name, their cohorts by start date (then name); an organisation
    without a cohort to show is left out. Sixteen queries at most, whatever the number of
    cohorts and people (one when there is no cohort; six fewer when nobody has joined).
    An unknown ``organisation_id`` gives an empty report (the caller answers 404)."""
    now = now or now_utc()
    query = (select(Cohort.id, Cohort.name, Cohort.start_date, Cohort.end_date, Cohort.timezone,
                    Cohort.is_archived, Organisation.id, Organisation.name,
                    Organisation.is_archived)
             .join(Organisation, Organisation.id == Cohort.organisation_id)
             .order_by(func.lower(Organisation.name), Organisation.id, Cohort.start_date,
                       func.lower(Cohort.name), Cohort.id))
    if organisation_id is not None:
        query = query.where(Cohort.organisation_id == organisation_id)
    if not include_archived:
        query = query.where(Cohort.is_archived.is_(False))
    rows = db.session.execute(query).all()
    figures = _figures([row[0] for row in rows], now) if rows else {}
    groups: dict[int, OrganisationGroup] = {}
    for (cohort_id, name, start, end, timezone, archived, org_id, org_name,
         org_archived) in rows:
        group = groups.setdefault(org_id, OrganisationGroup(org_id, org_name, org_archived))
        group.lines.append(CohortLine(
            cohort_id=cohort_id, name=name, start_date=start, end_date=end,
            status=cohort_status(start_date=start, end_date=end, timezone=timezone,
                                 is_archived=archived, now=now),
            figures=figures[cohort_id]))
    return OrgReport(groups=list(groups.values()), organisation_id=organisation_id,
                     include_archived=include_archived, now=now)


# --- as CSV -------------------------------------------------------------------------------------

CSV_HEADER = ("organisation", "cohort_id", "cohort", "status", "start_date", "end_date",
              "invited", "joined", "joined_percent_of_invited", "baseline_sent",
              "baseline_percent_of_joined", f"active_last_{ACTIVE_DAYS}_days",
              "active_percent_of_joined", f"fewer_than_{SMALL}_joined", "goals_done", "check_ins",
              "web_hours", "events_held", "attendances", "sessions_held_1to1", "feed_posts")


def report_csv(report: OrgReport) -> str:
    """The report's cohort lines as CSV (``CSV_HEADER``), in the page's order; the totals
    are left out, so that a spreadsheet's own sums do not count anything twice. A
    percentage of nobody is an empty cell. Cells go through ``dap.core.csv`` (a cohort
    named like a formula stays text)."""
    rows = []
    for group in report.groups:
        for line in group.lines:
            f = line.figures
            rows.append([group.name, line.cohort_id, line.name, line.status.value,
                         line.start_date, line.end_date, f.invited, f.joined, f.joined_percent,
                         f.baseline_sent, f.baseline_percent, f.active_lately, f.active_percent,
                         f.joined < SMALL, f.goals_done, f.check_ins, f.web_hours,
                         f.events_held, f.attendances, f.sessions_held, f.feed_posts])
    return write_csv(rows, CSV_HEADER)
