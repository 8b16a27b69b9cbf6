"""Check-in reminders at each participant's chosen rhythm, and one last-chance message when
the week's target can only just still be met.

Times are the cohort's (its time zone defines its week, the days check-ins count for and
the times of its reminders). For each active plan that is not paused, in a cohort running
today:

- **rhythm reminder**: on one of the chosen weekdays, from the chosen time and for three
  hours after it, when there is no check-in yet today. Once a day (dedup key
  ``reminder:checkin:<plan>:<local date>``): the hour the clocks go back happens twice but
  the date does not; on the day they go forward a time inside the skipped hour is reached
  when the clock jumps past it.
- **last chance**: from 08:00 to noon, when the days left in the week (today included) are
  exactly the check-in days still needed to meet the target, and nothing is checked in
  today. At most once a week (``reminder:lastchance:<plan>:<Monday>``), and that day it
  takes the place of the rhythm reminder.

Set-based: one query for the plans, one for this week's check-in days, one for the
reminders already sent this week, then one ``send`` for everything due.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from dap.nudges.notify import Message, send
from dap.plans.models import CheckIn, Plan
from dap.plans.services import is_paused

#: how long after the chosen time a rhythm reminder may still go (a scheduler that was
#: down longer sends no stale reminder)
RHYTHM_WINDOW = timedelta(hours=3)
#: the participant's morning, when a last-chance message may go
MORNING = (time(8, 0), time(12, 0))


@dataclass(frozen=True)
class Due:
    plan: Plan
    person: User
    cohort: Cohort
    kind: NotificationKind
    key: str
    done: int  #: check-in days so far this week
    ends_at: datetime  #: the end of the local day (the reminder is pointless after it)


def _rhythm_time(text: str) -> time | None:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        return None


def due_reminders(now: datetime) -> list[Due]:
    """Every reminder due at ``now`` and not sent yet (see the module)."""
    rows = db.session.execute(
        select(Plan, User, Cohort)
        .join(Cohort, Cohort.id == Plan.cohort_id)
        .join(User, User.id == Plan.participant_id)
        .join(Membership, (Membership.cohort_id == Plan.cohort_id)
              & (Membership.user_id == Plan.participant_id))
        .where(Cohort.is_archived.is_(False), Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE, User.is_active.is_(True),
               User.deleted_at.is_(None),
               Cohort.start_date <= (now + timedelta(days=1)).date(),
               Cohort.end_date >= (now - timedelta(days=1)).date())
        .order_by(Plan.id)).all()
    if not rows:
        return []
    local_now: dict[int, datetime] = {}
    for _, _, cohort in rows:
        if cohort.id not in local_now:
            local_now[cohort.id] = now.astimezone(ZoneInfo(cohort.timezone))
    first_monday = min(t.date() - timedelta(days=t.weekday()) for t in local_now.values())
    days: dict[int, set[date]] = defaultdict(set)
    for plan_id, day in db.session.execute(
            select(CheckIn.plan_id, CheckIn.local_date).distinct()
            .where(CheckIn.plan_id.in_([plan.id for plan, _, _ in rows]),
                   CheckIn.local_date >= first_monday)):
        days[plan_id].add(day)
    sent: dict[str, datetime] = dict(db.session.execute(
        select(Notification.dedup_key, Notification.created_at).where(
            Notification.kind.in_([NotificationKind.CHECKIN_REMINDER,
                                   NotificationKind.LAST_CHANCE]),
            Notification.created_at >= now - timedelta(days=8))).all())

    due: list[Due] = []
    for plan, person, cohort in rows:
        local = local_now[cohort.id]
        today = local.date()
        if not cohort.start_date <= today <= cohort.end_date:
            continue
        if is_paused(plan, today=today):
            continue
        monday = today - timedelta(days=today.weekday())
        this_week = {d for d in days[plan.id] if monday <= d <= today}
        if today in this_week:
            continue
        zone = ZoneInfo(cohort.timezone)
        tomorrow = today + timedelta(days=1)
        ends_at = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone)
        needed = plan.days_per_week - len(this_week)
        left = 7 - today.weekday()
        last_key = f"reminder:lastchance:{plan.id}:{monday.isoformat()}"
        last_today = False
        if 0 < needed == left and MORNING[0] <= local.time() < MORNING[1]:
            last_today = True
            if last_key not in sent:
                due.append(Due(plan, person, cohort, NotificationKind.LAST_CHANCE, last_key,
                               len(this_week), ends_at))
        at = _rhythm_time(plan.rhythm_time)
        if at is None or today.weekday() not in (plan.rhythm_days or []) or last_today:
            continue
        if last_key in sent and sent[last_key].astimezone(zone).date() == today:
            continue  # the last-chance message went today: no second message
        start = datetime.combine(today, at)
        wall = local.replace(tzinfo=None)
        if start <= wall < start + RHYTHM_WINDOW:
            key = f"reminder:checkin:{plan.id}:{today.isoformat()}"
            if key not in sent:
                due.append(Due(plan, person, cohort, NotificationKind.CHECKIN_REMINDER, key,
                               len(this_week), ends_at))
    return due


def _message(item: Due) -> Message:
    plan = item.plan
    if item.kind is NotificationKind.LAST_CHANCE:
        title = "Today keeps this week's target in reach"
        body = (f"You have checked in on {item.done} of your {plan.days_per_week} days this "
                "week. A check-in today, and on each day left, meets it. A few minutes on one "
                "goal is enough.")
    else:
        minutes = f"{plan.rhythm_minutes} minutes" if plan.rhythm_minutes else "a few minutes"
        title = "Time for your check-in"
        body = (f"This is the time you chose. {minutes[0].upper()}{minutes[1:]} on one goal "
                "keeps it moving: try something, then say how it went.")
    return Message(person=item.person, kind=item.kind, title=title, body=body,
                   dedup_key=item.key, link=f"/cohorts/{item.cohort.id}/plan",
                   cohort=item.cohort, expires_at=item.ends_at)


def remind_check_ins(*, now: datetime, base_url: str | None = None) -> int:
    """Send every check-in reminder and last-chance message due at ``now``; returns how
    many were stored (each goes to the inbox; its email is governed as usual)."""
    return len(send([_message(item) for item in due_reminders(now)], base_url=base_url))
