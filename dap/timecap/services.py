"""The platform-time cap: who is measured, heartbeats, the week's balance of platform and
web time, the allowance, and logging web time.

Rules (see docs/TIMECAP.md):

- Only participants are measured: someone with an active participant membership of a
  cohort that is not archived. With several, the cohort that started most recently is
  the one whose time zone and settings apply.
- A beat adds ``min(now − last beat, 60 s)`` when the gap is at most 90 s, in one atomic
  statement, to the participant's row for today (in the cohort's time zone).
- Allowed platform minutes this week = min(weekly cap, web minutes × (1 − web share) /
  web share + grace). Weeks run Monday 00:00 to Monday 00:00 in the cohort's time zone.
- Web minutes are logged web activities plus the minutes of check-ins.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    FromClause,
    Integer,
    and_,
    bindparam,
    case,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dap.accounts.models import User
from dap.accounts.services import SESSION_CRITERIA, SESSION_FROM, SessionIdentity
from dap.audit.services import record
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.db import Prepared, local_day, monday_of_week, sunday_after
from dap.errors import DomainError
from dap.extensions import db
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.text import clean_text, clean_url
from dap.timecap.models import ActivityKind, PlatformDay, WebActivity

#: a beat adds the gap since the last one, up to this
MAX_CREDIT = 60
#: a longer gap (a sleeping laptop, a closed lid, an idle tab) adds nothing
MAX_GAP = 90
#: the meter turns to a warning at this share of the allowance
WARN_AT = 0.8
MAX_MINUTES = 600
TITLE_MAX = 200
URL_MAX = 500
NOTE_MAX = 1000
#: how far back web time can be logged
BACKDATE_DAYS = 14


@dataclass(frozen=True)
class CapRules:
    """What the cap needs of a cohort (read as plain columns: the heartbeat loads it on
    every beat, and an ORM entity costs more than the rest of the beat)."""

    id: int
    timezone: str
    start_date: date
    platform_minutes_per_week: int
    web_share: float
    grace_minutes: int
    is_archived: bool = False


class CapSettings(Protocol):
    """The figures of a cohort that the allowance is worked out from (a ``Cohort``, a
    ``CapRules``, or a row that has them)."""

    platform_minutes_per_week: int
    web_share: float
    grace_minutes: int


@dataclass(frozen=True)
class Measured:
    """A measured participant's membership and the rules of the cohort that apply."""

    membership_id: int
    cohort: CapRules
    exempt: bool


_PARTICIPATING = (Membership.role == CohortRole.PARTICIPANT,
                  Membership.status == MembershipStatus.ACTIVE)
_RUNNING = Membership.__table__.join(
    Cohort.__table__, and_(Cohort.id == Membership.cohort_id, Cohort.is_archived.is_(False)))
#: what ``Measured`` is read from, newest cohort first
_RULES = (Membership.id.label("membership_id"), Membership.cap_exempt,
          Cohort.id.label("cohort_id"), Cohort.timezone, Cohort.start_date,
          Cohort.platform_minutes_per_week, Cohort.web_share, Cohort.grace_minutes)
_NEWEST = (Cohort.start_date.desc(), Cohort.id.desc())
#: built once: every page request of a signed-in person runs it
_MEASURED = (select(*_RULES).select_from(_RUNNING)
             .where(Membership.user_id == bindparam("user_id"), *_PARTICIPATING)
             .order_by(*_NEWEST).limit(1))


def measured(user: User) -> Measured | None:
    """The cohort whose cap applies to ``user``, or None when they are not measured
    (patrons, facilitators, admins, people in no running cohort). One query."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_managed", False):
        return None
    row = db.session.connection().execute(_MEASURED, {"user_id": user.id}).first()
    if row is None:
        return None
    return Measured(membership_id=row[0], exempt=row[1], cohort=CapRules(*row[2:]))


# --- heartbeats ---------------------------------------------------------------------------------

_USER = bindparam("user_id", type_=Integer)
#: the time of the beat, whole seconds since the epoch
_NOW = bindparam("now", type_=BigInteger)
#: the day of the beat in the cohort's time zone
_DAY = bindparam("day", type_=Date)


def _credit(last_beat: ColumnElement) -> ColumnElement:
    """What a beat adds after ``last_beat``: the gap, at most ``MAX_CREDIT``; nothing when
    the gap is over ``MAX_GAP`` (or there was no beat before)."""
    gap = _NOW - last_beat
    return case((gap.between(1, MAX_GAP), case((gap > MAX_CREDIT, MAX_CREDIT), else_=gap)),
                else_=0)


#: the latest beat before this one (the first beat of a day reads the gap from the last day)
_PREVIOUS = (select(select(PlatformDay.last_beat).where(PlatformDay.user_id == _USER)
                    .order_by(PlatformDay.day.desc()).limit(1).scalar_subquery()
                    .label("last_beat"))
             .subquery("previous"))


def _upsert(insert: Callable[..., Any], day: ColumnElement, rules: FromClause | None = None
            ) -> Any:
    """A beat as one atomic statement in ``insert``'s dialect: INSERT … SELECT … ON
    CONFLICT DO UPDATE (for each row of ``rules``, when given). The row lock makes
    simultaneous beats (tabs, workers, machines) count each moment once."""
    source = (select(_USER, day, _credit(_PREVIOUS.c.last_beat), _NOW)
              .select_from(_PREVIOUS if rules is None else rules.join(_PREVIOUS, true()))
              .where(true()))  # SQLite: without WHERE, ON CONFLICT would parse as a join's
    return insert(PlatformDay).from_select(
        ["user_id", "day", "seconds", "last_beat"], source,
    ).on_conflict_do_update(
        index_elements=[PlatformDay.user_id, PlatformDay.day],
        set_={"seconds": PlatformDay.seconds + _credit(PlatformDay.last_beat),
              "last_beat": case((PlatformDay.last_beat < _NOW, _NOW),
                                else_=PlatformDay.last_beat)},
    )


#: built once per database: every page request of a participant runs it
_BEAT = {"sqlite": _upsert(sqlite_insert, _DAY), "postgresql": _upsert(postgresql_insert, _DAY)}


def _beat_params(user_id: int, cohort: Cohort | CapRules) -> dict[str, object]:
    now = now_utc()
    return {"user_id": user_id, "day": local_date(now, cohort.timezone),
            "now": int(now.timestamp())}


def beat(user_id: int, cohort: Cohort | CapRules) -> None:
    """Count a heartbeat (or a page request) of a measured participant: one atomic
    statement, safe under several workers and processes (the row is locked by the upsert;
    the first beat of a day reads the gap from the day before). Does not commit."""
    connection = db.session.connection()
    connection.execute(_BEAT[connection.dialect.name], _beat_params(user_id, cohort))


# --- the week's balance -------------------------------------------------------------------------


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Balance:
    """A participant's week: platform and web minutes, the allowance, and the verdict."""

    platform_seconds: int
    web_minutes: int
    allowance_minutes: int
    weekly_cap: int
    exempt: bool

    @property
    def platform_minutes(self) -> int:
        return self.platform_seconds // 60

    @property
    def used(self) -> float:
        """Share of the allowance used (1.0 = all of it)."""
        if self.allowance_minutes <= 0:
            return 1.0
        return self.platform_seconds / (self.allowance_minutes * 60)

    @property
    def capped(self) -> bool:
        return not self.exempt and self.platform_seconds >= self.allowance_minutes * 60

    @property
    def warning(self) -> bool:
        return not self.exempt and not self.capped and self.used >= WARN_AT

    def figures(self) -> dict[str, int | bool]:
        """What the meter shows, for scripts (the heartbeat, the offline sync)."""
        return {"platform_minutes": self.platform_minutes,
                "allowance_minutes": self.allowance_minutes, "web_minutes": self.web_minutes,
                "capped": self.capped, "warning": self.warning}

    @property
    def web_needed(self) -> int:
        """Web minutes that would lift the allowance to the weekly cap (0 when it is)."""
        return max(0, self.weekly_cap - self.allowance_minutes)


def allowance(cohort: CapSettings, web_minutes: int) -> int:
    """Allowed platform minutes this week: min(weekly cap, web × (1 − share) / share +
    grace), rounded down to whole minutes."""
    share = cohort.web_share
    earned = web_minutes * (1 - share) / share if share > 0 else 0
    return min(cohort.platform_minutes_per_week, math.floor(earned + 1e-9) + cohort.grace_minutes)


def _web_minutes(cohort_id: ColumnElement, monday: ColumnElement,
                 sunday: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """A participant's web minutes of one week, as two scalar subqueries: logged web time
    and the minutes of check-ins."""
    return (
        select(func.coalesce(func.sum(WebActivity.minutes), 0))
        .where(WebActivity.user_id == _USER, WebActivity.cohort_id == cohort_id,
               WebActivity.local_date.between(monday, sunday))
        .scalar_subquery(),
        # no join: SQLAlchemy writes RETURNING's columns without their tables (SQLite)
        select(func.coalesce(func.sum(CheckIn.minutes), 0))
        .where(CheckIn.plan_id.in_(select(Plan.id).where(Plan.participant_id == _USER,
                                                         Plan.cohort_id == cohort_id)
                                   .correlate_except(Plan)),
               CheckIn.local_date.between(monday, sunday))
        .scalar_subquery(),
    )


def _platform_seconds(start: ColumnElement, before: ColumnElement) -> ColumnElement:
    """A participant's platform seconds on the days from ``start`` to before ``before``."""
    return (select(func.coalesce(func.sum(PlatformDay.seconds), 0))
            .where(PlatformDay.user_id == _USER, PlatformDay.day >= start,
                   PlatformDay.day < before)
            .scalar_subquery())


_WEEK = {"cohort_id": bindparam("cohort_id", type_=Integer),
         "monday": bindparam("monday", type_=Date), "sunday": bindparam("sunday", type_=Date),
         "next_monday": bindparam("next_monday", type_=Date)}
#: built once: platform seconds, logged web minutes and check-in minutes of one
#: participant's week
_BALANCE = select(_platform_seconds(_WEEK["monday"], _WEEK["next_monday"]),
                  *_web_minutes(_WEEK["cohort_id"], _WEEK["monday"], _WEEK["sunday"]))


def _week_params(cohort_id: int, today: date) -> dict[str, object]:
    monday = monday_of(today)
    return {"cohort_id": cohort_id, "monday": monday, "sunday": monday + timedelta(days=6),
            "next_monday": monday + timedelta(days=7)}


def balance(user_id: int, cohort: Cohort | CapRules, *, exempt: bool = False,
            today: date | None = None) -> Balance:
    """This week's figures for a participant (one query)."""
    today = today or local_date(now_utc(), cohort.timezone)
    seconds, web_logged, web_checked = db.session.connection().execute(_BALANCE, {
        "user_id": user_id, **_week_params(cohort.id, today)}).one()
    return _balance_of(cohort, exempt, int(seconds), int(web_logged) + int(web_checked))


def _balance_of(cohort: CapSettings, exempt: bool, platform_seconds: int,
          web_minutes: int) -> Balance:
    return Balance(platform_seconds=platform_seconds, web_minutes=web_minutes,
                   allowance_minutes=allowance(cohort, web_minutes),
                   weekly_cap=cohort.platform_minutes_per_week, exempt=exempt)


# --- the heartbeat ------------------------------------------------------------------------------
#
# The hottest request there is (every open tab of every learner, twice a minute). It does
# not load the user (see ``policy.Access.SIGNED_IN_LEAN``): one statement checks the session
# as the user loader would (``SESSION_CRITERIA``), finds the cohort whose cap applies and
# its day, beats and reads the week back. It is ``dap.db.Prepared``: compiled once, run on a
# pooled connection directly, with no BEGIN and COMMIT around it.

#: a participant's days in the time zone of their cohort (``rules``): today, and the week's
_TODAY = local_day(_NOW, Cohort.timezone)
_MONDAY = monday_of_week(_TODAY)


def _labelled_web_minutes(*week: ColumnElement) -> list[ColumnElement]:
    logged, checked = _web_minutes(*week)
    return [logged.label("web_logged"), checked.label("web_checked")]


def _heartbeat_in_one() -> dict[str, Any]:
    """The heartbeat's statement on each database. Both answer one row: whether the
    measured membership is exempt and the cohort's settings (no membership: all None),
    then the week: platform seconds (earlier days plus today's row as the beat left it),
    logged web minutes and check-in minutes. The beat is the same upsert as a page's
    (``_upsert``) for each row of ``rules``: none when the session is not good (``who``)
    or the person is not measured.

    - PostgreSQL selects from ``who`` (no row: the session is not good), the beat a
      data-modifying CTE whose change the rest of the statement does not see. The
      transaction commits without waiting for the WAL to reach the disk (``set_config``,
      this transaction only): a crash of the database server can lose the last moment of
      beats, never mix them up, and no beat waits for a disk flush.
    - SQLite has no data-modifying CTEs: the statement is the beat, with ``who`` and
      ``rules`` before it and the rest read back in its ``RETURNING`` clause. No row: no
      beat, the session not good or the person not measured (``heartbeat`` asks which)."""
    who = (select(User.id.label("user_id"), User.is_managed).select_from(SESSION_FROM)
           .where(*SESSION_CRITERIA).cte("who"))
    rules = (select(*_RULES, _TODAY.label("today"), _MONDAY.label("monday"),
                    sunday_after(_MONDAY).label("sunday"))
             .select_from(_RUNNING.join(who, and_(who.c.user_id == Membership.user_id,
                                                  who.c.is_managed.is_(False))))
             .where(*_PARTICIPATING).order_by(*_NEWEST).limit(1).cte("rules"))
    measured = [rules.c.cap_exempt, rules.c.platform_minutes_per_week, rules.c.web_share,
                rules.c.grace_minutes]

    beat = (_upsert(postgresql_insert, rules.c.today, rules)
            .returning(PlatformDay.seconds).cte("beat"))
    postgresql = (
        select(*measured,
               (_platform_seconds(rules.c.monday, rules.c.today)
                + select(beat.c.seconds).scalar_subquery()).label("seconds"),
               *_labelled_web_minutes(rules.c.cohort_id, rules.c.monday, rules.c.sunday),
               func.set_config("synchronous_commit", "off", True).label("synchronous_commit"))
        .select_from(who.outerjoin(rules, true())))

    def read(column: ColumnElement) -> ColumnElement:
        return select(column).scalar_subquery()

    sqlite = (
        _upsert(sqlite_insert, rules.c.today, rules).add_cte(who, rules)
        .returning(*(read(column).label(column.name) for column in measured),
                   (PlatformDay.seconds
                    + _platform_seconds(read(rules.c.monday), read(rules.c.today)))
                   .label("seconds"),
                   *_labelled_web_minutes(read(rules.c.cohort_id), read(rules.c.monday),
                                          read(rules.c.sunday))))
    return {"postgresql": postgresql, "sqlite": sqlite}


_HEARTBEAT_IN_ONE = Prepared(_heartbeat_in_one())
#: whether a session is still good (no row: it is not)
_SESSION_GOOD = Prepared(dict.fromkeys(
    ("postgresql", "sqlite"), select(User.id).select_from(SESSION_FROM).where(*SESSION_CRITERIA)))


class SessionEndedError(Exception):
    """The session a heartbeat came with is no longer good: signed out, ended everywhere,
    expired, or the account deactivated."""


def heartbeat(identity: SessionIdentity) -> Balance | None:
    """A heartbeat of the session ``identity``: count it and answer the week's balance, or
    None (nothing stored) for someone who is not measured. One statement, atomic by itself
    (``dap.db.Prepared``): the beat is committed when this returns.

    :raise SessionEndedError: the session is not good (nothing stored).
    """
    params = {**identity.params(), "now": int(now_utc().timestamp())}
    row = _HEARTBEAT_IN_ONE.first(db.session, db.engine, params)
    if row is None and db.engine.dialect.name == "sqlite":  # no beat: which of the two reasons?
        ended = _SESSION_GOOD.first(db.session, db.engine, params) is None
    else:
        ended = row is None
    if ended:
        raise SessionEndedError
    if row is None or row.cap_exempt is None:  # not a measured participant
        return None
    return _balance_of(row, bool(row.cap_exempt), int(row.seconds),
                       int(row.web_logged) + int(row.web_checked))


# --- logging web time ---------------------------------------------------------------------------


def log_web_activity(user: User, cohort: Cohort | CapRules, *, actor: User, kind: ActivityKind | None,
                     title: str, url: str, minutes: int | None, goal_id: int | None,
                     note: str, day: date | None) -> WebActivity:
    """Record time spent learning on the wider web.

    :raise DomainError: naming the wrong field: minutes outside 1–600, a day in the future,
        before the cohort started or more than two weeks ago, a goal not in the person's plan
        (or finished), an address that is not http(s), overlong text.
    """
    if cohort.is_archived:
        raise DomainError("This cohort is archived: nothing new can be logged.")
    if kind is None:
        raise DomainError("Choose what you did.", field="kind")
    if (minutes is None or isinstance(minutes, bool) or not isinstance(minutes, int)
            or not 1 <= minutes <= MAX_MINUTES):
        raise DomainError(f"Enter minutes from 1 to {MAX_MINUTES} (10 hours).", field="minutes")
    today = local_date(now_utc(), cohort.timezone)
    day = day or today
    if day > today:
        raise DomainError("That day is still to come: log what you have done.", field="day")
    if day < cohort.start_date:
        raise DomainError(f"The programme started on {cohort.start_date:%-d %B %Y}.",
                          field="day")
    if day < today - timedelta(days=BACKDATE_DAYS):
        raise DomainError(f"Log time within {BACKDATE_DAYS} days of doing it.", field="day")
    goal = None
    if goal_id is not None:
        goal = db.session.scalar(
            select(PlanGoal).join(Plan, Plan.id == PlanGoal.plan_id)
            .where(PlanGoal.id == goal_id, Plan.participant_id == user.id,
                   Plan.cohort_id == cohort.id))
        if goal is None or goal.status in (GoalStatus.DONE, GoalStatus.DROPPED):
            raise DomainError("Choose one of your goals that is under way.", field="goal")
    activity = WebActivity(
        user_id=user.id, cohort_id=cohort.id, kind=kind,
        title=clean_text(title, field="title", max_len=TITLE_MAX, label="what it was",
                    required=True),
        url=clean_url(url), minutes=minutes, goal_id=goal.id if goal else None,
        note=clean_text(note, field="note", max_len=NOTE_MAX, label="a note"),
        local_date=day, created_by_id=actor.id,
    )
    db.session.add(activity)
    db.session.flush()
    return activity


EDIT_WINDOW = timedelta(hours=24)


def can_delete(activity: WebActivity) -> bool:
    """Logged web time can be taken back for 24 hours (a mistyped 300 for 30)."""
    return now_utc() - activity.created_at < EDIT_WINDOW


def delete_web_activity(activity: WebActivity) -> None:
    """Take back a web activity logged in the last 24 hours.

    :raise DomainError: when it is older.
    """
    if not can_delete(activity):
        raise DomainError("Web time can be taken back for 24 hours; this entry is older.")
    db.session.delete(activity)
    db.session.flush()


def week_activities(user_id: int, cohort: Cohort | CapRules, *, today: date | None = None
                    ) -> list[WebActivity]:
    """This week's logged web activities, newest first (one query)."""
    today = today or local_date(now_utc(), cohort.timezone)
    monday = monday_of(today)
    return list(db.session.scalars(
        select(WebActivity).where(WebActivity.user_id == user_id,
                                  WebActivity.cohort_id == cohort.id,
                                  WebActivity.local_date.between(monday, today))
        .order_by(WebActivity.local_date.desc(), WebActivity.id.desc())))


# --- exemptions ---------------------------------------------------------------------------------


def set_exemption(membership: Membership, *, actor: User, exempt: bool, reason: str) -> None:
    """Exempt a participant from the cap (with a reason), or end the exemption. Audited.

    :raise DomainError: not a participant, archived cohort, no reason for an exemption.
    """
    if membership.role is not CohortRole.PARTICIPANT:
        raise DomainError("Only participants are capped.")
    if membership.cohort.is_archived:
        raise DomainError("This cohort is archived: it cannot be changed.")
    if exempt:
        membership.cap_exempt_reason = clean_text(
            reason, field="reason", max_len=200, required=True,
            label="a reason (supported digital, accessibility…)")
    else:
        membership.cap_exempt_reason = ""
    changed = membership.cap_exempt != exempt
    membership.cap_exempt = exempt
    if changed:
        record("timecap.exempted" if exempt else "timecap.exemption_ended", actor=actor,
               cohort=membership.cohort, subject=membership.user,
               reason=membership.cap_exempt_reason)
    db.session.flush()


# --- what to try on the web ---------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    goal_title: str
    text: str
    link: str


def challenge_for(user_id: int, cohort: Cohort | CapRules, library, *, today: date | None = None
                  ) -> Challenge | None:
    """A "try it on the web" challenge from the participant's active library goals, a
    different one each day; from the library's starter goals when they have none yet (one
    query)."""
    slugs = list(db.session.scalars(
        select(PlanGoal.library_slug).join(Plan, Plan.id == PlanGoal.plan_id)
        .where(Plan.participant_id == user_id, Plan.cohort_id == cohort.id,
               PlanGoal.library_slug.is_not(None),
               PlanGoal.status.in_([GoalStatus.ACTIVE, GoalStatus.PLANNED]))
        .order_by(PlanGoal.position, PlanGoal.id)))
    options = [(goal.title, c) for slug in slugs
               if (goal := library.goals.get(slug)) is not None for c in goal.challenges]
    if not options:
        options = [(goal.title, c) for goal in library.goals.values() if goal.level == "starter"
                   for c in goal.challenges]
    if not options:
        return None
    today = today or local_date(now_utc(), cohort.timezone)
    title, chosen = options[today.toordinal() % len(options)]
    return Challenge(goal_title=title, text=chosen.text, link=chosen.link or "")


__all__ = ["ActivityKind", "Balance", "Measured", "allowance", "balance", "beat",
           "challenge_for", "clean_url", "log_web_activity", "measured", "set_exemption"]
