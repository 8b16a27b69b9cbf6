"""Plan rules: adopting and writing goals, check-ins (editable for a day), completing and
dropping goals, ordering, and the streak."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import as_utc, local_date, now_utc
from dap.cohorts.models import Cohort
from dap.content.library import Goal as LibraryGoal
from dap.errors import DomainError
from dap.extensions import db
from dap.plans.models import (
    CheckIn,
    GoalStatus,
    GoalSuggestion,
    Plan,
    PlanGoal,
    SuggestionStatus,
    Visibility,
)
from dap.text import clean_text
from dap.webhooks import services as webhooks

CHECK_IN_EDIT_WINDOW = timedelta(hours=24)
MAX_MINUTES = 600
WHY_MAX = 1000
NOTE_MAX = 1000
REFLECTION_MAX = 4000
TITLE_MAX = 160
MAX_EVIDENCE = 10
#: how far past the cohort's end a target date may be
TARGET_SLACK = timedelta(days=365)


def plan_for(cohort: Cohort, participant: User) -> Plan:
    """The participant's plan in the cohort, created on first use (flushes)."""
    plan = db.session.scalar(
        select(Plan).where(Plan.cohort_id == cohort.id, Plan.participant_id == participant.id)
    )
    if plan is None:
        plan = Plan(cohort=cohort, participant=participant)
        db.session.add(plan)
        db.session.flush()
    return plan


# --- validation -------------------------------------------------------------------------------


def validate_target_date(cohort: Cohort, target: date | None) -> date | None:
    """A target date within the programme: not before the cohort starts, at most a year
    after it ends.

    :raise DomainError: naming ``target_date``.
    """
    if target is None:
        return None
    if target < cohort.start_date:
        raise DomainError(f"Choose a date on or after the cohort starts "
                          f"({cohort.start_date.strftime('%d %B %Y')}).", field="target_date")
    if target > cohort.end_date + TARGET_SLACK:
        raise DomainError("That is too far ahead: choose a date within a year of the "
                          "programme's end.", field="target_date")
    return target


def validate_minutes(minutes: int | None, *, field: str = "minutes") -> int | None:
    """Minutes spent in one entry: empty, or a whole number from 1 to 600.

    :raise DomainError: naming ``field``.
    """
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise DomainError("Enter minutes as a whole number.", field=field)
    if minutes < 1:
        raise DomainError("Minutes must be at least 1 (leave it empty if you did not spend "
                          "any time).", field=field)
    if minutes > MAX_MINUTES:
        raise DomainError(f"At most {MAX_MINUTES} minutes (10 hours) in one entry.",
                          field=field)
    return minutes


def validate_progress(progress: int | None, *, field: str = "progress") -> int | None:
    """Progress from 0 to 100 per cent, or empty.

    :raise DomainError: naming ``field``.
    """
    if progress is None:
        return None
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise DomainError("Progress is a percentage from 0 to 100.", field=field)
    return progress


def _next_position(plan: Plan) -> int:
    current = db.session.scalar(
        select(func.max(PlanGoal.position)).where(PlanGoal.plan_id == plan.id)
    )
    return (current or 0) + 1


def audit_on_behalf(action: str, plan: Plan, actor: User, **details: Any) -> None:
    """What a facilitator does to someone else's plan goes in the cohort's audit log."""
    if actor.id != plan.participant_id:
        record(action, actor=actor, cohort=plan.cohort, subject=plan.participant, **details)


# --- goals ------------------------------------------------------------------------------------


def adopt_goal(plan: Plan, library_goal: LibraryGoal, *, actor: User, why: str = "",
               target_date: date | None = None,
               visibility: Visibility = Visibility.PATRONS) -> PlanGoal:
    """Add a library goal to the plan (a dropped one comes back as active).

    :raise DomainError: when it is already in the plan, or a field is wrong.
    """
    why = clean_text(why, field="why", max_len=WHY_MAX, label="why it matters to you")
    target_date = validate_target_date(plan.cohort, target_date)
    existing = db.session.scalar(
        select(PlanGoal).where(PlanGoal.plan_id == plan.id,
                               PlanGoal.library_slug == library_goal.slug)
    )
    if existing is not None and existing.status is not GoalStatus.DROPPED:
        raise DomainError("This goal is already in your plan.", field="slug")
    if existing is not None:
        existing.status = GoalStatus.ACTIVE
        existing.drop_reason = ""
        existing.why = why or existing.why
        existing.target_date = target_date or existing.target_date
        existing.visibility = visibility
        _close_suggestions(existing)
        db.session.flush()
        return existing
    goal = PlanGoal(plan=plan, library_slug=library_goal.slug, title=library_goal.title,
                    why=why, target_date=target_date, visibility=visibility,
                    status=GoalStatus.ACTIVE, position=_next_position(plan),
                    created_by_id=actor.id)
    db.session.add(goal)
    db.session.flush()
    _close_suggestions(goal)
    return goal


def _close_suggestions(goal: PlanGoal) -> None:
    """A library goal now live in the plan: an open suggestion of it is adopted, linked to
    the goal (whichever way it was added: the library, the "add a goal" page, a facilitator
    on behalf, or a dropped goal taken up again)."""
    pending = db.session.scalars(
        select(GoalSuggestion).where(GoalSuggestion.plan_id == goal.plan_id,
                                     GoalSuggestion.library_slug == goal.library_slug,
                                     GoalSuggestion.status == SuggestionStatus.OPEN))
    for suggestion in pending:
        suggestion.status = SuggestionStatus.ADOPTED
        suggestion.closed_at = now_utc()
        suggestion.goal = goal


def write_goal(plan: Plan, *, actor: User, title: str, why: str = "",
               target_date: date | None = None,
               visibility: Visibility = Visibility.PATRONS) -> PlanGoal:
    """Add the participant's own goal.

    :raise DomainError: naming the wrong field.
    """
    goal = PlanGoal(
        plan=plan, library_slug=None,
        title=clean_text(title, field="title", max_len=TITLE_MAX, label="a title", required=True),
        why=clean_text(why, field="why", max_len=WHY_MAX, label="why it matters to you"),
        target_date=validate_target_date(plan.cohort, target_date), visibility=visibility,
        status=GoalStatus.ACTIVE, position=_next_position(plan), created_by_id=actor.id,
    )
    db.session.add(goal)
    db.session.flush()
    return goal


def update_goal(goal: PlanGoal, *, title: str | None, why: str, target_date: date | None,
                visibility: Visibility) -> None:
    """Change a goal's details (the title only for the participant's own goals).

    :raise DomainError: naming the wrong field.
    """
    if title is not None and goal.library_slug is None:
        goal.title = clean_text(title, field="title", max_len=TITLE_MAX, label="a title",
                           required=True)
    goal.why = clean_text(why, field="why", max_len=WHY_MAX, label="why it matters to you")
    goal.target_date = validate_target_date(goal.plan.cohort, target_date)
    goal.visibility = visibility
    db.session.flush()


def set_status(goal: PlanGoal, *, status: GoalStatus, reason: str = "") -> None:
    """Plan, start or drop a goal (finishing has its own rule: ``complete_goal``).

    :raise DomainError: dropping without a reason, or an unknown move.
    """
    if status is GoalStatus.DONE:
        raise DomainError("Use “Mark as done” to finish a goal.")
    if status is GoalStatus.DROPPED:
        goal.drop_reason = clean_text(reason, field="reason", max_len=300,
                                 label="a short reason (it helps your facilitator)",
                                 required=True)
    else:
        goal.drop_reason = ""
    goal.done_at = goal.done_by_id = None
    revived = goal.status is GoalStatus.DROPPED and status is not GoalStatus.DROPPED
    goal.status = status
    if revived and goal.library_slug:
        _close_suggestions(goal)
    db.session.flush()


def _clean_evidence(links: list[str]) -> list[dict]:
    cleaned = []
    for raw in links:
        url = (raw or "").strip()
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or len(url) > 500:
            raise DomainError(f"“{url[:60]}” is not a web address (it should start with "
                              "https://).", field="evidence")
        cleaned.append({"url": url})
    if len(cleaned) > MAX_EVIDENCE:
        raise DomainError(f"At most {MAX_EVIDENCE} links.", field="evidence")
    return cleaned


def complete_goal(goal: PlanGoal, *, actor: User, reflection: str, evidence: list[str]) -> None:
    """Mark a goal done with a reflection and optional evidence links.

    :raise DomainError: without a reflection, or with a link that is not http(s).
    """
    goal.reflection = clean_text(reflection, field="reflection", max_len=REFLECTION_MAX,
                            label="a few words on what you did and learnt", required=True)
    goal.evidence = _clean_evidence(evidence)
    goal.status = GoalStatus.DONE
    goal.progress = 100
    goal.done_at = now_utc()
    goal.done_by_id = actor.id
    db.session.flush()
    webhooks.emit(goal.plan.cohort_id, "goal.completed", lambda: webhooks.goal_completed(goal))


def move_goal(goal: PlanGoal, *, up: bool) -> None:
    """Swap a goal with its neighbour in the plan's order."""
    goals = list(db.session.scalars(
        select(PlanGoal).where(PlanGoal.plan_id == goal.plan_id)
        .order_by(PlanGoal.position, PlanGoal.id)
    ))
    for i, g in enumerate(goals, start=1):
        g.position = i
    index = goals.index(goal)
    other = index - 1 if up else index + 1
    if 0 <= other < len(goals):
        goals[index].position, goals[other].position = goals[other].position, goals[index].position
    db.session.flush()


# --- check-ins --------------------------------------------------------------------------------


#: how far ahead of DAP's clock a device's clock may run when it says when it made a
#: check-in offline
CLOCK_SLACK = timedelta(minutes=10)
#: how long a check-in made offline may wait on the device before it is sent
MADE_AT_BACK = timedelta(days=14)


def validate_made_at(at: datetime, cohort: Any) -> datetime:
    """When an entry made offline says it was made (aware; returned in UTC). ``cohort``
    needs its ``timezone`` and ``start_date``.

    :raise DomainError: on ``made_at``: in the future (beyond a device clock's slack), more
        than 14 days ago, or before the cohort started.
    """
    now = now_utc()
    if at.tzinfo is None or at.utcoffset() is None:
        raise DomainError("Give the time with its offset from UTC.", field="made_at")
    at = as_utc(at)
    if at > now + CLOCK_SLACK:
        raise DomainError("That time is still to come: check the device's clock.",
                          field="made_at")
    if at < now - MADE_AT_BACK:
        raise DomainError("Entries made offline are accepted up to 14 days after they were "
                          "made; add this one again as today's.", field="made_at")
    at = min(at, now)
    if local_date(at, cohort.timezone) < cohort.start_date:
        raise DomainError(f"The programme started on {cohort.start_date:%-d %B %Y}.",
                          field="made_at")
    return at


def check_in(goal: PlanGoal, *, actor: User, progress: int | None, minutes: int | None,
             note: str, at: datetime | None = None) -> CheckIn:
    """Record a little-and-often update, made now or (sent later from a device that was
    offline) ``at`` that time. A planned goal becomes active; progress updates the goal's
    progress.

    :raise DomainError: for a finished or dropped goal (code ``goal_closed``), an empty
        check-in, bad values, or a time ``at`` that :func:`validate_made_at` refuses.
    """
    if goal.status in (GoalStatus.DONE, GoalStatus.DROPPED):
        raise DomainError("This goal is finished or dropped; start it again to check in.",
                          code="goal_closed")
    progress = validate_progress(progress)
    minutes = validate_minutes(minutes)
    note = clean_text(note, field="note", max_len=NOTE_MAX, label="a note")
    if progress is None and minutes is None and not note:
        raise DomainError("Add progress, minutes or a note.", field="note")
    cohort = goal.plan.cohort
    when = now_utc() if at is None else validate_made_at(at, cohort)
    entry = CheckIn(goal=goal, plan_id=goal.plan_id, created_at=when,
                    local_date=local_date(when, cohort.timezone), progress=progress,
                    minutes=minutes, note=note, created_by_id=actor.id)
    db.session.add(entry)
    if progress is not None:
        goal.progress = progress
    if goal.status is GoalStatus.PLANNED:
        goal.status = GoalStatus.ACTIVE
    db.session.flush()
    webhooks.emit(goal.plan.cohort_id, "check_in.created", lambda: webhooks.check_in_created(entry))
    return entry


def can_edit_check_in(entry: CheckIn, *, at: datetime | None = None) -> bool:
    """Check-ins can be corrected for 24 hours."""
    return (at or now_utc()) - entry.created_at < CHECK_IN_EDIT_WINDOW


def edit_check_in(entry: CheckIn, *, progress: int | None, minutes: int | None,
                  note: str) -> None:
    """Correct a check-in made in the last 24 hours.

    :raise DomainError: after 24 hours, or for bad values.
    """
    if not can_edit_check_in(entry):
        raise DomainError("Check-ins can be changed for 24 hours; this one is older. "
                          "Add a new check-in instead.")
    # validate everything before touching the entry, so a refused edit keeps the original
    progress = validate_progress(progress)
    minutes = validate_minutes(minutes)
    note = clean_text(note, field="note", max_len=NOTE_MAX, label="a note")
    if progress is None and minutes is None and not note:
        raise DomainError("Add progress, minutes or a note.", field="note")
    entry.progress, entry.minutes, entry.note = progress, minutes, note
    entry.updated_at = now_utc()
    latest = db.session.scalar(
        select(CheckIn).where(CheckIn.goal_id == entry.goal_id, CheckIn.progress.is_not(None))
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(1)
    )
    if latest is not None and latest.id == entry.id and entry.progress is not None:
        entry.goal.progress = entry.progress
    db.session.flush()


# --- rhythm and streak ------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekSummary:
    days_active: int
    check_ins: int
    minutes: int


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def streak(plan: Plan, *, today: date | None = None) -> int:
    """Weeks in a row (Monday to Sunday in the cohort's time zone) in which the plan's
    days-per-week target was met. This week counts once met; a week still under way
    does not break the streak, and paused weeks neither count nor break it."""
    today = today or local_date(now_utc(), plan.cohort.timezone)
    days = set(db.session.scalars(
        select(CheckIn.local_date).where(CheckIn.plan_id == plan.id).distinct()
    ))
    return streak_of(plan, days, today=today)


def streaks(plans: Iterable[Plan], *, today: Mapping[int, date]) -> dict[int, int]:
    """Plan id → ``streak``, for many plans in one query. ``today``: cohort id → the day
    in that cohort's time zone."""
    plans = list(plans)
    days: dict[int, set[date]] = {plan.id: set() for plan in plans}
    if plans:
        for plan_id, day in db.session.execute(
                select(CheckIn.plan_id, CheckIn.local_date)
                .where(CheckIn.plan_id.in_(list(days))).distinct()):
            days[plan_id].add(day)
    return {plan.id: streak_of(plan, days[plan.id], today=today[plan.cohort_id])
            for plan in plans}


def streak_of(plan: Plan, days: set[date], *, today: date) -> int:
    """``streak`` from the days the plan has a check-in on (no query)."""
    per_week = Counter(day - timedelta(days=day.weekday()) for day in days)

    def paused(week: date) -> bool:
        if plan.paused_from is None or plan.paused_until is None:
            return False
        return week <= plan.paused_until and week + timedelta(days=6) >= plan.paused_from

    count = 0
    week = _monday(today)
    if per_week.get(week, 0) >= plan.days_per_week:
        count += 1
    week -= timedelta(days=7)
    first = min(per_week) if per_week else week
    while week >= first:
        if per_week.get(week, 0) >= plan.days_per_week:
            count += 1
        elif not paused(week):
            break
        week -= timedelta(days=7)
    return count


def this_week(plan: Plan, *, today: date | None = None) -> WeekSummary:
    """Days with a check-in, check-ins and minutes logged this week (cohort time zone)."""
    today = today or local_date(now_utc(), plan.cohort.timezone)
    monday = _monday(today)
    row = db.session.execute(
        select(func.count(func.distinct(CheckIn.local_date)), func.count(CheckIn.id),
               func.coalesce(func.sum(CheckIn.minutes), 0))
        .where(CheckIn.plan_id == plan.id, CheckIn.local_date >= monday,
               CheckIn.local_date < monday + timedelta(days=7))
    ).one()
    return WeekSummary(days_active=row[0], check_ins=row[1], minutes=int(row[2]))


# --- rhythm and pausing -------------------------------------------------------------------------

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_PAUSE = timedelta(days=92)


def set_rhythm(plan: Plan, *, days_per_week: int | None, rhythm_days: list[int],
               rhythm_time: str, rhythm_minutes: int | None) -> None:
    """The participant's weekly target and the rhythm reminders will use: which weekdays
    (0 = Monday), at what local time ("HH:MM", or empty for no set time), for how long.

    :raise DomainError: naming the wrong field.
    """
    if (isinstance(days_per_week, bool) or not isinstance(days_per_week, int)
            or not 1 <= days_per_week <= 7):
        raise DomainError("Choose from 1 to 7 days a week.", field="days_per_week")
    days = sorted(set(rhythm_days))
    if any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise DomainError("Choose days of the week from the list.", field="rhythm_days")
    time_text = (rhythm_time or "").strip()
    if time_text:
        try:
            hours, minutes = (int(part) for part in time_text.split(":"))
        except ValueError:
            raise DomainError("Enter a time like 09:30.", field="rhythm_time") from None
        if not (0 <= hours <= 23 and 0 <= minutes <= 59) or len(time_text) != 5:
            raise DomainError("Enter a time like 09:30.", field="rhythm_time")
    if rhythm_minutes is not None and (isinstance(rhythm_minutes, bool)
                                       or not 5 <= rhythm_minutes <= 120):
        raise DomainError("A session of 5 to 120 minutes works best.", field="rhythm_minutes")
    plan.days_per_week = days_per_week
    plan.rhythm_days = days
    plan.rhythm_time = time_text
    plan.rhythm_minutes = rhythm_minutes or plan.rhythm_minutes
    db.session.flush()


def pause_plan(plan: Plan, *, actor: User, until: date | None, reason: str,
               today: date | None = None) -> None:
    """Pause without penalty until ``until`` (inclusive): the streak is kept, no reminders
    or silence alerts go out, patrons see "paused".

    :raise DomainError: no end date, an end date in the past or more than three months
        ahead, or no reason.
    """
    today = today or local_date(now_utc(), plan.cohort.timezone)
    if until is None:
        raise DomainError("Choose the day your pause ends.", field="until")
    if until < today:
        raise DomainError("Choose today or a later day.", field="until")
    if until > today + MAX_PAUSE:
        raise DomainError("Pauses are up to three months; you can pause again after that.",
                          field="until")
    plan.pause_reason = clean_text(reason, field="reason", max_len=200,
                              label="a reason (illness, leave, a busy time…)", required=True)
    plan.paused_from = today
    plan.paused_until = until
    plan.paused_by_id = actor.id
    audit_on_behalf("plan.paused", plan, actor, until=until.isoformat())
    db.session.flush()


def resume_plan(plan: Plan, *, actor: User) -> None:
    """End a pause now (the weeks already paused stay paused for the streak)."""
    audit_on_behalf("plan.resumed", plan, actor)
    if plan.paused_until is not None:
        today = local_date(now_utc(), plan.cohort.timezone)
        plan.paused_until = min(plan.paused_until, today - timedelta(days=1))
        if plan.paused_from is not None and plan.paused_until < plan.paused_from:
            plan.paused_from = plan.paused_until = None
    db.session.flush()


def is_paused(plan: Plan, *, today: date | None = None) -> bool:
    """Whether the plan is paused today (cohort time zone)."""
    if plan.paused_from is None or plan.paused_until is None:
        return False
    today = today or local_date(now_utc(), plan.cohort.timezone)
    return plan.paused_from <= today <= plan.paused_until


# --- the next suggested step --------------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    """One thing to do next, and where: ``place`` is "goal" (with ``goal`` and ``anchor``),
    "library", "new_goal" or "rhythm"."""

    text: str
    place: str
    goal: PlanGoal | None = None
    anchor: str = ""


def next_step(plan: Plan, goals: list[PlanGoal], *, last_days: dict[int, date],
              week: WeekSummary, library: Any, today: date | None = None) -> NextStep:
    """The most useful next step for the plan, from what the overview already loaded (no
    queries): finish what is finished, rescue an overdue goal, keep the week's rhythm on
    the goal left longest, then start or add something new."""
    today = today or local_date(now_utc(), plan.cohort.timezone)
    if is_paused(plan, today=today):
        return NextStep(f"Paused until {plan.paused_until:%A %-d %B}: nothing to do. "
                        "Come back when you are ready.", "rhythm")
    live = [g for g in goals if g.status in (GoalStatus.ACTIVE, GoalStatus.PLANNED)]
    if not goals or (not live and all(g.status is GoalStatus.DROPPED for g in goals)):
        return NextStep("Choose a first goal from the library: each comes with small "
                        "things to try on the web.", "library")
    active = [g for g in live if g.status is GoalStatus.ACTIVE]
    for goal in active:
        if goal.progress >= 100:
            return NextStep(f"“{goal.title}” is at 100%: mark it done and say what you "
                            "learnt.", "goal", goal, "done")
    for goal in active:
        if goal.target_date is not None and goal.target_date < today:
            return NextStep(f"“{goal.title}” passed its target date: check in, or give it a "
                            "new date.", "goal", goal, "check-in")
    if active:
        # the goal left alone longest (never checked in counts as longest)
        stale = min(active, key=lambda g: (last_days.get(g.id, date.min), g.position, g.id))
        left = plan.days_per_week - week.days_active
        first_try = _first_challenge(stale, library) if stale.id not in last_days else ""
        if left > 0:
            when = (f"{left} more day{'' if left == 1 else 's'} this week keeps your streak"
                    if week.days_active else "a few minutes today starts this week")
            text = f"Check in on “{stale.title}”: {when}."
            if first_try:
                text += f" Something to try: {first_try}"
            return NextStep(text, "goal", stale, "check-in")
        return NextStep(f"This week’s target is met. When you have a moment, try something "
                        f"new on the web for “{stale.title}”"
                        + (f": {first_try}" if first_try else "."), "goal", stale, "check-in")
    if live:
        return NextStep(f"Start “{live[0].title}”: a first check-in makes it active.",
                        "goal", live[0], "check-in")
    return NextStep("Every goal is done. Well done! Add your next goal.", "library")


def _first_challenge(goal: PlanGoal, library: Any) -> str:
    found = library.goals.get(goal.library_slug) if goal.library_slug else None
    return found.challenges[0].text if found is not None and found.challenges else ""
