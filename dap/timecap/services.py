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
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, select, text

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import local_date, now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.errors import DomainError
from dap.extensions import db
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.text import clean_text
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


@dataclass(frozen=True)
class Measured:
    """A measured participant's membership and the rules of the cohort that apply."""

    membership_id: int
    cohort: CapRules
    exempt: bool


#: built once: the heartbeat runs this for every beat of every learner
_MEASURED = (
    select(Membership.id, Membership.cap_exempt, Cohort.id, Cohort.timezone, Cohort.start_date,
           Cohort.platform_minutes_per_week, Cohort.web_share, Cohort.grace_minutes)
    .join(Cohort, Cohort.id == Membership.cohort_id)
    .where(Membership.user_id == bindparam("user_id"),
           Membership.role == CohortRole.PARTICIPANT,
           Membership.status == MembershipStatus.ACTIVE, Cohort.is_archived.is_(False))
    .order_by(Cohort.start_date.desc(), Cohort.id.desc()).limit(1)
)


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

_BEAT = text("""
INSERT INTO platform_days (user_id, day, seconds, last_beat)
SELECT :user_id, :day,
       CASE WHEN :now - previous.last_beat BETWEEN 1 AND :max_gap
            THEN CASE WHEN :now - previous.last_beat > :max_credit THEN :max_credit
                      ELSE :now - previous.last_beat END
            ELSE 0 END,
       :now
FROM (SELECT (SELECT last_beat FROM platform_days WHERE user_id = :user_id
              ORDER BY day DESC LIMIT 1) AS last_beat) AS previous
WHERE true
ON CONFLICT (user_id, day) DO UPDATE SET
    seconds = platform_days.seconds
        + CASE WHEN :now - platform_days.last_beat BETWEEN 1 AND :max_gap
               THEN CASE WHEN :now - platform_days.last_beat > :max_credit THEN :max_credit
                         ELSE :now - platform_days.last_beat END
               ELSE 0 END,
    last_beat = CASE WHEN :now > platform_days.last_beat THEN :now
                     ELSE platform_days.last_beat END
""")


def beat(user_id: int, cohort: Cohort | CapRules) -> None:
    """Count a heartbeat (or a page request) of a measured participant: one atomic
    statement, safe under several workers and processes (the row is locked by the upsert;
    the first beat of a day reads the gap from the day before). Does not commit."""
    now = now_utc()
    db.session.connection().execute(_BEAT, {
        "user_id": user_id, "day": local_date(now, cohort.timezone),
        "now": int(now.timestamp()), "max_gap": MAX_GAP, "max_credit": MAX_CREDIT,
    })


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

    @property
    def web_needed(self) -> int:
        """Web minutes that would lift the allowance to the weekly cap (0 when it is)."""
        return max(0, self.weekly_cap - self.allowance_minutes)


def allowance(cohort: Cohort | CapRules, web_minutes: int) -> int:
    """Allowed platform minutes this week: min(weekly cap, web × (1 − share) / share +
    grace), rounded down to whole minutes."""
    share = cohort.web_share
    earned = web_minutes * (1 - share) / share if share > 0 else 0
    return min(cohort.platform_minutes_per_week, math.floor(earned + 1e-9) + cohort.grace_minutes)


_WEEK = {"user_id": bindparam("user_id"), "cohort_id": bindparam("cohort_id"),
         "monday": bindparam("monday"), "sunday": bindparam("sunday")}
#: built once (the heartbeat answers it on every beat): platform seconds, logged web
#: minutes and check-in minutes of one participant's week
_BALANCE = select(
    select(func.coalesce(func.sum(PlatformDay.seconds), 0))
    .where(PlatformDay.user_id == _WEEK["user_id"],
           PlatformDay.day.between(_WEEK["monday"], _WEEK["sunday"]))
    .scalar_subquery(),
    select(func.coalesce(func.sum(WebActivity.minutes), 0))
    .where(WebActivity.user_id == _WEEK["user_id"], WebActivity.cohort_id == _WEEK["cohort_id"],
           WebActivity.local_date.between(_WEEK["monday"], _WEEK["sunday"]))
    .scalar_subquery(),
    select(func.coalesce(func.sum(CheckIn.minutes), 0))
    .join(Plan, Plan.id == CheckIn.plan_id)
    .where(Plan.participant_id == _WEEK["user_id"], Plan.cohort_id == _WEEK["cohort_id"],
           CheckIn.local_date.between(_WEEK["monday"], _WEEK["sunday"]))
    .scalar_subquery(),
)


def balance(user_id: int, cohort: Cohort | CapRules, *, exempt: bool = False,
            today: date | None = None) -> Balance:
    """This week's figures for a participant (one query)."""
    today = today or local_date(now_utc(), cohort.timezone)
    monday = monday_of(today)
    seconds, web_logged, web_checked = db.session.connection().execute(_BALANCE, {
        "user_id": user_id, "cohort_id": cohort.id, "monday": monday,
        "sunday": monday + timedelta(days=6)}).one()
    web = int(web_logged) + int(web_checked)
    return Balance(platform_seconds=int(seconds), web_minutes=web,
                   allowance_minutes=allowance(cohort, web),
                   weekly_cap=cohort.platform_minutes_per_week, exempt=exempt)


# --- the whole heartbeat in one round trip (PostgreSQL) ---------------------------------------

#: Who is measured, the beat and the week's balance in one statement: the heartbeat is the
#: hottest request there is, and on PostgreSQL its cost is round trips. The same rules as
#: ``measured``, ``beat`` and ``balance`` (the tests run both paths, one per database): the
#: day in the cohort's time zone; the first beat of a day reads the gap from the last row;
#: the week from Monday. The week's platform time is the days before today (as they were:
#: the upsert's own change is not visible to the rest of the statement) plus today's row as
#: the upsert left it.
_HEARTBEAT_PG = text("""
WITH m AS (
    SELECT ms.id AS membership_id, ms.cap_exempt, c.id AS cohort_id, c.timezone,
           c.start_date, c.platform_minutes_per_week, c.web_share, c.grace_minutes,
           (to_timestamp(:now) AT TIME ZONE c.timezone)::date AS today
    FROM memberships ms JOIN cohorts c ON c.id = ms.cohort_id
    WHERE ms.user_id = :user_id AND ms.role = 'participant' AND ms.status = 'active'
      AND NOT c.is_archived
    ORDER BY c.start_date DESC, c.id DESC LIMIT 1
), w AS (
    SELECT m.*, m.today - (extract(isodow FROM m.today)::int - 1) AS monday FROM m
), up AS (
    INSERT INTO platform_days (user_id, day, seconds, last_beat)
    SELECT :user_id, w.today,
           CASE WHEN :now - previous.last_beat BETWEEN 1 AND :max_gap
                THEN LEAST(:now - previous.last_beat, :max_credit) ELSE 0 END,
           :now
    FROM w, (SELECT (SELECT last_beat FROM platform_days WHERE user_id = :user_id
                     ORDER BY day DESC LIMIT 1) AS last_beat) AS previous
    ON CONFLICT (user_id, day) DO UPDATE SET
        seconds = platform_days.seconds
            + CASE WHEN :now - platform_days.last_beat BETWEEN 1 AND :max_gap
                   THEN LEAST(:now - platform_days.last_beat, :max_credit) ELSE 0 END,
        last_beat = GREATEST(platform_days.last_beat, :now)
    RETURNING seconds
)
SELECT w.membership_id, w.cap_exempt, w.cohort_id, w.timezone, w.start_date,
       w.platform_minutes_per_week, w.web_share, w.grace_minutes,
       (SELECT coalesce(sum(seconds), 0) FROM platform_days
         WHERE user_id = :user_id AND day >= w.monday AND day < w.today)
       + (SELECT seconds FROM up) AS platform_seconds,
       (SELECT coalesce(sum(minutes), 0) FROM web_activities
         WHERE user_id = :user_id AND cohort_id = w.cohort_id
           AND local_date BETWEEN w.monday AND w.monday + 6) AS web_logged,
       (SELECT coalesce(sum(ci.minutes), 0) FROM check_ins ci JOIN plans p ON p.id = ci.plan_id
         WHERE p.participant_id = :user_id AND p.cohort_id = w.cohort_id
           AND ci.local_date BETWEEN w.monday AND w.monday + 6) AS web_checked
FROM w
""")


def heartbeat_in_one(user_id: int) -> tuple[Measured, Balance] | None:
    """``measured``, ``beat`` and ``balance`` in one statement (PostgreSQL only), or None
    when the person is not measured (nothing is stored then). Does not commit."""
    row = db.session.connection().execute(_HEARTBEAT_PG, {
        "user_id": user_id, "now": int(now_utc().timestamp()), "max_gap": MAX_GAP,
        "max_credit": MAX_CREDIT}).first()
    if row is None:
        return None
    found = Measured(membership_id=row[0], exempt=row[1], cohort=CapRules(*row[2:8]))
    web = int(row.web_logged) + int(row.web_checked)
    return found, Balance(platform_seconds=int(row.platform_seconds), web_minutes=web,
                          allowance_minutes=allowance(found.cohort, web),
                          weekly_cap=found.cohort.platform_minutes_per_week,
                          exempt=found.exempt)


def heartbeat(user: User) -> Balance | None:
    """A heartbeat: count it and answer the week's balance, or None (nothing stored) for
    someone who is not measured. PostgreSQL does it in one round trip; elsewhere the same
    steps run one by one. Does not commit (commit after reading: nothing is reloaded)."""
    if getattr(user, "is_managed", False):
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        both = heartbeat_in_one(user.id)
        return both[1] if both is not None else None
    found = measured(user)
    if found is None:
        return None
    beat(user.id, found.cohort)
    return balance(user.id, found.cohort, exempt=found.exempt)


# --- logging web time ---------------------------------------------------------------------------


def clean_url(raw: str | None, *, field: str = "url") -> str:
    """An optional web address: http or https only (no javascript:, data: or file:).

    :raise DomainError: naming ``field``.
    """
    url = (raw or "").strip()
    if not url:
        return ""
    if len(url) > URL_MAX:
        raise DomainError(f"Use a web address of at most {URL_MAX} characters.", field=field)
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise DomainError("Enter a web address starting with https:// (or leave it empty).",
                          field=field)
    return url


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
