"""The patron's Monday summary: from 08:00 on Monday in the cohort's time zone, each active
patron gets one message per cohort about how the people they look out for got on last week
(Monday to Sunday): check-in days against their target, goals finished (never "only me"
goals), minutes on the wider web and on DAP, and whether they have gone quiet or paused
their plan (never the reason).

Once a week per patron and cohort (dedup key ``digest:patron:<patron>:<cohort>:<Monday>``),
on Monday only: a scheduler that was down all Monday sends no stale summary on Tuesday.
Patrons who chose "no emails" for it still find it in their inbox.

Set-based: one query for the links, then one per figure for everyone at once (check-in
days, finished goals, time, last activity, pauses, the summaries already sent), then one
``send``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, PatronLink
from dap.extensions import db
from dap.insights.activity import last_activities
from dap.nudges.models import Notification, NotificationKind
from dap.nudges.notify import Message, send
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal, Visibility
from dap.plans.services import is_paused
from dap.timecap.queries import this_week_of

#: from this local time on Monday
SEND_FROM = time(8, 0)


@dataclass(frozen=True)
class Line:
    """One participant's last week, as their patron reads it."""

    participant: User
    membership_id: int
    days: int
    target: int
    goals_done: list[str]
    web_minutes: int
    platform_minutes: int
    quiet_days: int | None
    paused: bool


def _running_mondays(cohorts: list[Cohort], now: datetime) -> dict[int, date]:
    """Cohort id → this Monday's date, for cohorts where it is Monday, at or after 08:00,
    and the cohort ran last week or runs this week."""
    found = {}
    for cohort in cohorts:
        local = now.astimezone(ZoneInfo(cohort.timezone))
        monday = local.date()
        if monday.weekday() != 0 or local.time() < SEND_FROM:
            continue
        if cohort.start_date <= monday and cohort.end_date >= monday - timedelta(days=7):
            found[cohort.id] = monday
    return found


def send_patron_summaries(*, now: datetime, base_url: str | None = None) -> int:
    """Queue every Monday summary due at ``now`` (see the module); returns how many."""
    links = db.session.execute(
        select(PatronLink.patron_id, PatronLink.participant_id, Cohort, Membership.id,
               Membership.joined_at)
        .join(Cohort, Cohort.id == PatronLink.cohort_id)
        .join(Membership, (Membership.cohort_id == PatronLink.cohort_id)
              & (Membership.user_id == PatronLink.participant_id))
        .where(PatronLink.ended_at.is_(None), Cohort.is_archived.is_(False),
               Membership.role == CohortRole.PARTICIPANT,
               Membership.status == MembershipStatus.ACTIVE)).all()
    cohorts = {cohort.id: cohort for _, _, cohort, _, _ in links}
    mondays = _running_mondays(list(cohorts.values()), now)
    links = [link for link in links if link[2].id in mondays]
    if not links:
        return 0
    keys = {(patron_id, cohort.id): (f"digest:patron:{patron_id}:{cohort.id}:"
                                     f"{mondays[cohort.id].isoformat()}")
            for patron_id, _, cohort, _, _ in links}
    sent = set(db.session.scalars(select(Notification.dedup_key).where(
        Notification.kind == NotificationKind.PATRON_DIGEST,
        Notification.created_at >= now - timedelta(days=2))))
    links = [link for link in links if keys[(link[0], link[2].id)] not in sent]
    if not links:
        return 0
    # Active patrons with an active patron membership in the cohort.
    patron_ids = {patron_id for patron_id, _, _, _, _ in links}
    patrons = {user.id: user for user in db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(User.id.in_(patron_ids), User.is_active.is_(True), User.deleted_at.is_(None),
               Membership.cohort_id.in_(list(mondays)),
               Membership.status == MembershipStatus.ACTIVE).distinct())}
    participant_ids = {pid for _, pid, _, _, _ in links}
    people = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_(participant_ids)))}
    lines = _lines(links, people, mondays, now)
    by_patron: dict[tuple[int, int], list[Line]] = defaultdict(list)
    for patron_id, participant_id, cohort, _, _ in links:
        line = lines.get((cohort.id, participant_id))
        if line is not None and patron_id in patrons:
            by_patron[(patron_id, cohort.id)].append(line)
    messages = []
    for (patron_id, cohort_id), items in by_patron.items():
        cohort = cohorts[cohort_id]
        items.sort(key=lambda line: line.participant.name.lower())
        last_monday = mondays[cohort_id] - timedelta(days=7)
        messages.append(Message(
            person=patrons[patron_id], kind=NotificationKind.PATRON_DIGEST, cohort=cohort,
            dedup_key=keys[(patron_id, cohort_id)],
            title=f"Last week in {cohort.name}: the people you look out for",
            body="\n".join(_summary(line) for line in items),
            link="/patron", email_template="patron_digest",
            email_subject=f"Your Monday summary: {cohort.name}",
            email_context={"lines": items, "week_of": last_monday}))
    return len(send(messages, base_url=base_url))


def _lines(links, people: dict[int, User], mondays: dict[int, date],
           now: datetime) -> dict[tuple[int, int], Line]:
    """``(cohort id, participant id)`` → last week's line, for everyone at once."""
    pairs = {(cohort.id, participant_id): (cohort, membership_id, joined_at)
             for _, participant_id, cohort, membership_id, joined_at in links}
    cohort_ids = list({cohort_id for cohort_id, _ in pairs})
    user_ids = list({user_id for _, user_id in pairs})
    plans = {(plan.cohort_id, plan.participant_id): plan for plan in db.session.scalars(
        select(Plan).where(Plan.cohort_id.in_(cohort_ids), Plan.participant_id.in_(user_ids)))}
    first = min(mondays.values()) - timedelta(days=7)
    days: dict[int, int] = dict(db.session.execute(
        select(CheckIn.plan_id, func.count(func.distinct(CheckIn.local_date)))
        .where(CheckIn.plan_id.in_([p.id for p in plans.values()]),
               CheckIn.local_date >= first, CheckIn.local_date < max(mondays.values()))
        .group_by(CheckIn.plan_id)).all()) if plans else {}
    done: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    earliest = datetime.combine(first, time(0), tzinfo=ZoneInfo("UTC")) - timedelta(days=1)
    for plan_id, title, done_at in db.session.execute(
            select(PlanGoal.plan_id, PlanGoal.title, PlanGoal.done_at)
            .where(PlanGoal.plan_id.in_([p.id for p in plans.values()]),
                   PlanGoal.status == GoalStatus.DONE, PlanGoal.visibility != Visibility.PRIVATE,
                   PlanGoal.done_at >= earliest)) if plans else []:
        done[plan_id].append((done_at, title))
    # A week ago it was Monday after 08:00 in every cohort summarised: last week, for all
    # of them in one call.
    figures = this_week_of([(user_id, pairs[(cid, user_id)][0]) for cid, user_id in pairs],
                           at=now - timedelta(days=7))
    latest = last_activities(pairs.keys())
    lines = {}
    for (cohort_id, user_id), (cohort, membership_id, joined_at) in pairs.items():
        zone = ZoneInfo(cohort.timezone)
        monday = mondays[cohort_id]
        start = datetime.combine(monday - timedelta(days=7), time(0), tzinfo=zone)
        end = datetime.combine(monday, time(0), tzinfo=zone)
        plan = plans.get((cohort_id, user_id))
        paused = plan is not None and is_paused(plan, today=monday)
        activity = latest.get((cohort_id, user_id))
        week = figures.get((user_id, cohort_id))
        quiet = None
        if not paused:
            since = activity.at if activity is not None else joined_at
            if now - since >= timedelta(days=cohort.silent_after_days):
                quiet = (now - since).days
        lines[(cohort_id, user_id)] = Line(
            participant=people[user_id], membership_id=membership_id,
            days=days.get(plan.id, 0) if plan else 0,
            target=plan.days_per_week if plan else 0,
            goals_done=[title for at, title in sorted(done[plan.id]) if start <= at < end]
            if plan else [],
            web_minutes=week.web_minutes if week else 0,
            platform_minutes=week.platform_minutes if week else 0,
            quiet_days=quiet, paused=paused)
    return lines


def _summary(line: Line) -> str:
    """One plain line for the inbox."""
    name = line.participant.name
    if line.paused:
        return f"{name}: plan paused."
    parts = [f"checked in on {line.days} of {line.target} days" if line.target
             else f"checked in on {line.days} days"]
    if line.goals_done:
        parts.append("finished " + ", ".join(f"“{t}”" for t in line.goals_done))
    parts.append(f"{line.web_minutes} min on the wider web, {line.platform_minutes} on DAP")
    text = f"{name}: " + "; ".join(parts) + "."
    if line.quiet_days is not None:
        text += f" Quiet for {line.quiet_days} days: a word from you could help."
    return text
