"""Channels compared: what follows a contact on each channel, online and offline.

The seed's question is which activities work: a workshop or a nudge, a 1:1 or the cohort
feed. For each channel this counts, over the cohort's run so far:

- **participants reached**: participants with at least one contact on the channel;
- **contacts**: how many contacts there were;
- **hours**: the participants' hours (where DAP knows them) and the facilitators' hours;
- **what followed**: the goals finished and the check-ins made within ``WINDOW_DAYS``
  after a contact on the channel by the same person. An outcome counts once per channel
  however many of that person's contacts it follows, and it may count for several channels
  (a goal finished after both a workshop and a nudge counts for both);
- those outcomes per participant reached and per facilitator hour.

What counts as a contact, and its hours:

- *workshops and events*: being there (attended, partly, walked in), from the event's
  start; the participant's hours are the event's length (half of it for "partly"), the
  facilitators' each event held, once;
- *1:1 support*: a session held (booked, started); the slot's length for both;
- *online goals and check-ins*: a check-in; its minutes; no facilitator time;
- *wider-web activity*: web time logged; its minutes; no facilitator time;
- *the cohort feed*: a post or comment written (not taken back); time not measured;
- *nudges*: a nudge, cajole or enthuse received; time not measured.

The figures describe what happened after a contact, not what a contact caused: people who
come to workshops may be the keen ones anyway. Figures from fewer than ``FEW`` people are
flagged. Aggregates are computed in SQL: one query unions every channel's contacts with
the outcomes, and one window over it gives each outcome the latest earlier contact on each
channel. Eight queries in all, whatever the size.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    func,
    literal_column,
    select,
    union_all,
)

from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.community.models import Comment, Post
from dap.db import unix_seconds
from dap.events.models import PRESENT_MARKS, Attendance, AttendanceMark, Event, EventStatus
from dap.extensions import db
from dap.nudges.models import NUDGE_KINDS, Notification
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import WebActivity

#: an outcome "follows" a contact when it comes at most this many days after it
WINDOW_DAYS = 14
FEW = 5


class ChannelKey(enum.StrEnum):
    EVENTS = "events"
    SUPPORT = "support"
    CHECK_INS = "check_ins"
    WEB = "web"
    FEED = "feed"
    NUDGES = "nudges"


LABELS = {
    ChannelKey.EVENTS: "Workshops and events",
    ChannelKey.SUPPORT: "1:1 support",
    ChannelKey.CHECK_INS: "Online goals and check-ins",
    ChannelKey.WEB: "Wider-web activity",
    ChannelKey.FEED: "The cohort feed",
    ChannelKey.NUDGES: "Nudges",
}


@dataclass(frozen=True)
class ChannelFigures:
    key: ChannelKey
    reached: int
    contacts: int
    #: None where DAP does not measure the participants' time on the channel
    participant_hours: Fraction | None
    facilitator_hours: Fraction
    goals_after: int
    check_ins_after: int

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def is_few(self) -> bool:
        return self.reached < FEW

    def per_person(self, outcomes: int) -> Fraction | None:
        return Fraction(outcomes, self.reached) if self.reached else None

    def per_facilitator_hour(self, outcomes: int) -> Fraction | None:
        return Fraction(outcomes) / self.facilitator_hours if self.facilitator_hours else None


@dataclass(frozen=True)
class Everyone:
    """The reference line: all the cohort's participants, whatever their contacts."""

    people: int
    goals_done: int
    check_ins: int

    def per_person(self, outcomes: int) -> Fraction | None:
        return Fraction(outcomes, self.people) if self.people else None


@dataclass(frozen=True)
class ChannelTable:
    cohort: Cohort
    team_id: int | None
    channels: list[ChannelFigures]
    everyone: Everyone
    now: datetime
    window_days: int = WINDOW_DAYS


def _people(cohort: Cohort, team_id: int | None) -> Select:
    """The user ids of the cohort's participants (not removed; of one team if given)."""
    query = select(Membership.user_id).where(
        Membership.cohort_id == cohort.id, Membership.role == CohortRole.PARTICIPANT,
        Membership.status != MembershipStatus.REMOVED)
    if team_id is not None:
        query = query.where(Membership.team_id == team_id)
    return query


def _hours(seconds) -> Fraction:
    return Fraction(int(seconds or 0), 3600)


def _minutes(minutes) -> Fraction:
    return Fraction(int(minutes or 0), 60)


def _length(start, end):
    return unix_seconds(end) - unix_seconds(start)


def _contacts(key: ChannelKey, cohort: Cohort, people: Select, now: datetime) -> Select:
    """``(person, at)`` of every contact on the channel up to ``now``."""
    if key is ChannelKey.EVENTS:
        return (select(Attendance.user_id, Event.starts_at)
                .join(Event, Event.id == Attendance.event_id)
                .where(Event.cohort_id == cohort.id, Event.status != EventStatus.CANCELLED,
                       Event.starts_at <= now, Attendance.mark.in_(PRESENT_MARKS),
                       Attendance.user_id.in_(people)))
    if key is ChannelKey.SUPPORT:
        return (select(SupportBooking.participant_id, SupportSlot.starts_at)
                .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
                .where(SupportSlot.cohort_id == cohort.id,
                       SupportBooking.status == BookingStatus.BOOKED,
                       SupportSlot.starts_at <= now, SupportBooking.participant_id.in_(people)))
    if key is ChannelKey.CHECK_INS:
        return (select(Plan.participant_id, CheckIn.created_at)
                .join(Plan, Plan.id == CheckIn.plan_id)
                .where(Plan.cohort_id == cohort.id, CheckIn.created_at <= now,
                       Plan.participant_id.in_(people)))
    if key is ChannelKey.WEB:
        return (select(WebActivity.user_id, WebActivity.created_at)
                .where(WebActivity.cohort_id == cohort.id, WebActivity.created_at <= now,
                       WebActivity.user_id.in_(people)))
    if key is ChannelKey.FEED:
        return union_all(
            select(Post.author_id, Post.created_at)
            .where(Post.cohort_id == cohort.id, Post.deleted_at.is_(None),
                   Post.created_at <= now, Post.author_id.in_(people)),
            select(Comment.author_id, Comment.created_at)
            .join(Post, Post.id == Comment.post_id)
            .where(Post.cohort_id == cohort.id, Comment.deleted_at.is_(None),
                   Comment.created_at <= now, Comment.author_id.in_(people)))
    return (select(Notification.user_id, Notification.created_at)
            .where(Notification.cohort_id == cohort.id, Notification.kind.in_(NUDGE_KINDS),
                   Notification.created_at <= now, Notification.user_id.in_(people)))


def _time(key: ChannelKey, cohort: Cohort, people: Select, now: datetime
          ) -> tuple[Fraction | None, Fraction]:
    """The participants' hours (None where not measured) and the facilitators' hours."""
    if key is ChannelKey.EVENTS:
        weight = case((Attendance.mark == AttendanceMark.PARTLY, 0.5), else_=1.0)
        attended = db.session.scalar(
            select(func.sum(_length(Event.starts_at, Event.ends_at) * weight))
            .join(Event, Event.id == Attendance.event_id)
            .where(Event.cohort_id == cohort.id, Event.status != EventStatus.CANCELLED,
                   Event.starts_at <= now, Attendance.mark.in_(PRESENT_MARKS),
                   Attendance.user_id.in_(people)))
        held = db.session.scalar(
            select(func.sum(_length(Event.starts_at, Event.ends_at)))
            .where(Event.cohort_id == cohort.id, Event.status != EventStatus.CANCELLED,
                   Event.starts_at <= now))
        return _hours(round(attended or 0)), _hours(held)
    if key is ChannelKey.SUPPORT:
        held = db.session.scalar(
            select(func.sum(_length(SupportSlot.starts_at, SupportSlot.ends_at)))
            .join(SupportBooking, SupportBooking.slot_id == SupportSlot.id)
            .where(SupportSlot.cohort_id == cohort.id,
                   SupportBooking.status == BookingStatus.BOOKED,
                   SupportSlot.starts_at <= now, SupportBooking.participant_id.in_(people)))
        return _hours(held), _hours(held)
    if key is ChannelKey.CHECK_INS:
        minutes = db.session.scalar(
            select(func.sum(CheckIn.minutes)).join(Plan, Plan.id == CheckIn.plan_id)
            .where(Plan.cohort_id == cohort.id, CheckIn.created_at <= now,
                   Plan.participant_id.in_(people)))
        return _minutes(minutes), Fraction(0)
    if key is ChannelKey.WEB:
        minutes = db.session.scalar(
            select(func.sum(WebActivity.minutes))
            .where(WebActivity.cohort_id == cohort.id, WebActivity.created_at <= now,
                   WebActivity.user_id.in_(people)))
        return _minutes(minutes), Fraction(0)
    return None, Fraction(0)


def _goals_done(cohort: Cohort, people: Select, now: datetime) -> Select:
    return (select(Plan.participant_id, PlanGoal.done_at)
            .join(PlanGoal, PlanGoal.plan_id == Plan.id)
            .where(Plan.cohort_id == cohort.id, PlanGoal.status == GoalStatus.DONE,
                   PlanGoal.done_at.is_not(None), PlanGoal.done_at <= now,
                   Plan.participant_id.in_(people)))


def _check_ins(cohort: Cohort, people: Select, now: datetime) -> Select:
    return _contacts(ChannelKey.CHECK_INS, cohort, people, now)


#: the tags of the outcomes in the stream; a contact is tagged with its channel's index
GOAL, CHECK_IN = -1, -2
CHANNELS = list(ChannelKey)


def _tagged(query, tag: int) -> Select:
    """``query``'s ``(person, at)`` rows with ``tag``: a channel's index for its contacts,
    ``GOAL`` or ``CHECK_IN`` for the outcomes."""
    rows = query.subquery()
    person, at = rows.c
    return select(person.label("person"), at.label("at"),
                  literal_column(str(tag), Integer).label("tag"),
                  literal_column("1" if tag >= 0 else "0", Integer).label("is_contact"))


def _stream(cohort: Cohort, people: Select, now: datetime):
    """Every channel's contacts and every outcome (goals finished, check-ins made), as one
    subquery. A check-in is once in it, as an outcome: it is also the contact of its own
    channel (``_tag_of``)."""
    return union_all(
        *(_tagged(_contacts(key, cohort, people, now), n) for n, key in enumerate(CHANNELS)
          if key is not ChannelKey.CHECK_INS),
        _tagged(_goals_done(cohort, people, now), GOAL),
        _tagged(_check_ins(cohort, people, now), CHECK_IN),
    ).subquery()


def _tag_of(n: int) -> int:
    """The tag of channel ``n``'s contacts in the stream."""
    return CHECK_IN if CHANNELS[n] is ChannelKey.CHECK_INS else n


def _reach(stream) -> dict[int, tuple[int, int]]:
    """Channel index → (people reached, contacts). One query."""
    found = {tag: (reached, count) for tag, reached, count in db.session.execute(
        select(stream.c.tag, func.count(func.distinct(stream.c.person)), func.count())
        .where(stream.c.tag != GOAL).group_by(stream.c.tag))}
    return {n: found.get(_tag_of(n), (0, 0)) for n in range(len(CHANNELS))}


def _followed(stream) -> tuple[dict[int, tuple[int, int]], int, int]:
    """For each channel, the goals finished and check-ins made within ``WINDOW_DAYS`` after
    one of the same person's contacts on it; and all the goals and check-ins. One query:
    the stream in time order per person (at equal times outcomes first), each row with the
    latest contact on every channel among the rows before it, itself left out, so that a
    check-in never follows itself (one window, one aggregate per channel)."""
    order = (stream.c.at, stream.c.is_contact)
    latest = [func.max(case((stream.c.tag == _tag_of(n), stream.c.at)))
              .over(partition_by=stream.c.person, order_by=order, rows=(None, -1))
              .label(f"c{n}") for n in range(len(CHANNELS))]
    paired = select(stream.c.tag, stream.c.at, *latest).subquery()

    def count(tag: int, n: int):
        follows = and_(paired.c.tag == tag, paired.c[f"c{n}"].is_not(None),
                       unix_seconds(paired.c.at) - unix_seconds(paired.c[f"c{n}"])
                       <= WINDOW_DAYS * 86400)
        return func.coalesce(func.sum(case((follows, 1), else_=0)), 0)

    def total(tag: int):
        return func.coalesce(func.sum(case((paired.c.tag == tag, 1), else_=0)), 0)

    row = db.session.execute(select(
        *(count(tag, n) for n in range(len(CHANNELS)) for tag in (GOAL, CHECK_IN)),
        total(GOAL), total(CHECK_IN))).one()
    figures = [int(value) for value in row]
    return ({n: (figures[2 * n], figures[2 * n + 1]) for n in range(len(CHANNELS))},
            figures[-2], figures[-1])


def channel_table(cohort: Cohort, *, team_id: int | None = None,
                  now: datetime | None = None) -> ChannelTable:
    """Every channel's figures for ``cohort`` (one team's participants, when given) up to
    ``now``. With a team, the facilitators' hours for events are still every event held:
    workshops are not held for one team. Eight queries, whatever the size: the people, the
    reach, what followed, and five sums of hours."""
    now = now or now_utc()
    people = _people(cohort, team_id)
    stream = _stream(cohort, people, now)
    reach = _reach(stream)
    followed, goals_done, check_ins = _followed(stream)
    channels = []
    for n, key in enumerate(CHANNELS):
        participant_hours, facilitator_hours = _time(key, cohort, people, now)
        reached, count = reach[n]
        goals, check_ins_after = followed[n]
        channels.append(ChannelFigures(
            key=key, reached=reached, contacts=count, participant_hours=participant_hours,
            facilitator_hours=facilitator_hours, goals_after=goals,
            check_ins_after=check_ins_after))
    everyone = Everyone(
        people=db.session.scalar(select(func.count()).select_from(people.subquery())) or 0,
        goals_done=goals_done, check_ins=check_ins)
    return ChannelTable(cohort=cohort, team_id=team_id, channels=channels, everyone=everyone,
                        now=now)
