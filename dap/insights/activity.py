"""Each participant's latest activity in a cohort, on any channel, and who has gone silent.

Activity is what a participant does for their learning, on the platform or off it: a
check-in on a goal, web time logged, answering an invitation to an event, coming to one
(attended, partly, or walked in: offline activity counts as much as online), booking a 1:1
session or having one, posting or commenting in the cohort feed. A participant with none
for the cohort's ``silent_after_days`` (counted from joining when there is none at all) is
*silent*.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select, union_all

from dap.clock import now_utc
from dap.community.models import Comment, Post
from dap.events.models import PRESENT_MARKS, Attendance, Event, Rsvp
from dap.extensions import db
from dap.plans.models import CheckIn, Plan
from dap.support.models import BookingStatus, SupportBooking, SupportSlot
from dap.timecap.models import WebActivity


class Channel(enum.StrEnum):
    CHECK_IN = "check_in"
    WEB = "web"
    EVENT = "event"
    RSVP = "rsvp"
    SUPPORT = "support"
    FEED = "feed"


CHANNEL_LABELS = {Channel.CHECK_IN: "check-in", Channel.WEB: "web time",
                  Channel.EVENT: "event", Channel.RSVP: "event answer",
                  Channel.SUPPORT: "1:1 support", Channel.FEED: "cohort feed"}


@dataclass(frozen=True)
class Activity:
    at: datetime
    channel: Channel

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self.channel]


def last_activity(cohort_id: int, user_ids: Iterable[int]) -> dict[int, Activity]:
    """User id → their latest activity in the cohort (six grouped queries, whatever the
    number of people). An event counts from its start, and only once it has started."""
    found = last_activities((cohort_id, user_id) for user_id in user_ids)
    return {user_id: activity for (_, user_id), activity in found.items()}


def last_activities(people: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Activity]:
    """``(cohort id, user id)`` → that person's latest activity in that cohort, for people
    across cohorts (a patron's): six grouped queries, whatever the number of people or
    cohorts. An answer to an invitation counts when the person gave or changed it (not when
    a freed seat moved them off the waitlist); a 1:1 counts when booked, and when it took
    place. A post or comment in the cohort's feed counts when written (an edit is not new
    activity), posts and comments in one query: one its author deleted does not count (they
    took it back), one a facilitator hid does (the person was active all the same, and the
    author still sees it). A comment counts while the comment itself is not deleted, even
    when the author of the post deleted the post with its comments: the commenter took
    nothing back, and must not turn silent after the fact."""
    wanted = set(people)
    if not wanted:
        return {}
    cohort_ids = list({cohort_id for cohort_id, _ in wanted})
    ids = list({user_id for _, user_id in wanted})
    latest: dict[tuple[int, int], Activity] = {}

    def keep(rows, channel: Channel) -> None:
        for cohort_id, user_id, at in rows:
            key = (cohort_id, user_id)
            if at is not None and key in wanted and (key not in latest or at > latest[key].at):
                latest[key] = Activity(at, channel)

    keep(db.session.execute(
        select(Plan.cohort_id, Plan.participant_id, func.max(CheckIn.created_at))
        .join(CheckIn, CheckIn.plan_id == Plan.id)
        .where(Plan.cohort_id.in_(cohort_ids), Plan.participant_id.in_(ids))
        .group_by(Plan.cohort_id, Plan.participant_id)).all(), Channel.CHECK_IN)
    keep(db.session.execute(
        select(WebActivity.cohort_id, WebActivity.user_id, func.max(WebActivity.created_at))
        .where(WebActivity.cohort_id.in_(cohort_ids), WebActivity.user_id.in_(ids))
        .group_by(WebActivity.cohort_id, WebActivity.user_id)).all(), Channel.WEB)
    keep(db.session.execute(
        select(Event.cohort_id, Attendance.user_id, func.max(Event.starts_at))
        .join(Event, Event.id == Attendance.event_id)
        .where(Event.cohort_id.in_(cohort_ids), Attendance.user_id.in_(ids),
               Attendance.mark.in_(PRESENT_MARKS), Event.starts_at <= now_utc())
        .group_by(Event.cohort_id, Attendance.user_id)).all(), Channel.EVENT)
    answered = case((Rsvp.promoted_at == Rsvp.updated_at, Rsvp.created_at),
                    else_=Rsvp.updated_at)
    keep(db.session.execute(
        select(Event.cohort_id, Rsvp.user_id, func.max(answered))
        .join(Event, Event.id == Rsvp.event_id)
        .where(Event.cohort_id.in_(cohort_ids), Rsvp.user_id.in_(ids))
        .group_by(Event.cohort_id, Rsvp.user_id)).all(), Channel.RSVP)
    now = now_utc()
    held = case((and_(SupportBooking.status == BookingStatus.BOOKED,
                      SupportSlot.starts_at <= now), SupportSlot.starts_at))
    rows = db.session.execute(
        select(SupportSlot.cohort_id, SupportBooking.participant_id,
               func.max(SupportBooking.created_at), func.max(held))
        .join(SupportSlot, SupportSlot.id == SupportBooking.slot_id)
        .where(SupportSlot.cohort_id.in_(cohort_ids), SupportBooking.participant_id.in_(ids))
        .group_by(SupportSlot.cohort_id, SupportBooking.participant_id)).all()
    keep([(cohort_id, user_id, max(at for at in (booked, had) if at is not None))
          for cohort_id, user_id, booked, had in rows], Channel.SUPPORT)
    # Each branch grouped on its own; ``keep`` takes the later of a person's two rows.
    keep(db.session.execute(union_all(
        select(Post.cohort_id, Post.author_id, func.max(Post.created_at))
        .where(Post.cohort_id.in_(cohort_ids), Post.author_id.in_(ids),
               Post.deleted_at.is_(None))
        .group_by(Post.cohort_id, Post.author_id),
        select(Post.cohort_id, Comment.author_id, func.max(Comment.created_at))
        .join(Post, Post.id == Comment.post_id)
        .where(Post.cohort_id.in_(cohort_ids), Comment.author_id.in_(ids),
               Comment.deleted_at.is_(None))
        .group_by(Post.cohort_id, Comment.author_id))).all(), Channel.FEED)
    return latest


def silent_days(activity: Activity | None, *, joined_at: datetime | None, after_days: int,
                now: datetime | None = None) -> int | None:
    """How many whole days a participant has been silent, when it is at least
    ``after_days``; None when they are not silent."""
    since = activity.at if activity is not None else joined_at
    if since is None:
        return None
    quiet = (now or now_utc()) - since
    return quiet.days if quiet >= timedelta(days=after_days) else None
