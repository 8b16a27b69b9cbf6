"""Test data at scale (``flask --app dap demo --scale N``): N participants in running cohorts
of ``COHORT_SIZE``, across several organisations and teams, each with up to a year of
activity, written with bulk inserts so that 10,000 participants take minutes, not hours.

Every account shares the documented demo password (``dap.demo.DEMO_PASSWORD``, hashed
once): this data is for test and load-test machines only, never for a real deployment.
The addresses are predictable, for load-test scripts:

- participants ``participant00000@scale.example.org`` onwards (``participant{i:05d}``);
- patrons ``patron0000@scale.example.org`` onwards, about one per ten participants, each
  linked to up to ten participants of one cohort;
- facilitators ``facilitator000@scale.example.org`` onwards: one per cohort (cohort ``c``
  is run by ``facilitator{c:03d}``), a second in every other cohort;
- admins ``admin0@scale.example.org`` to ``admin2@scale.example.org``.

Each cohort started within the last year and ends in the future, so the time cap,
heartbeats and check-ins apply to it now. One transaction per cohort; the caller is told
the progress after each.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select

from dap.accounts.models import User
from dap.accounts.services import HashParams, hash_password
from dap.clock import now_utc
from dap.cohorts.models import Cohort, Membership, Organisation, PatronLink, Team
from dap.demo import DEMO_PASSWORD
from dap.events.models import Attendance, Event, Rsvp
from dap.extensions import db
from dap.nudges.models import Notification
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.timecap.models import PlatformDay, WebActivity

#: participants per cohort (the last cohort may be smaller)
COHORT_SIZE = 250
#: the most participants one run makes
MAX_PARTICIPANTS = 200_000
#: rows per INSERT statement batch
BATCH = 5000
#: participants per patron
PER_PATRON = 10
ADMINS = 3
DOMAIN = "scale.example.org"

TEAMS = ("Customer Services", "Communications", "Policy", "Housing", "Libraries",
         "Finance")
#: most cohorts run in London time; every fourth elsewhere
TIMEZONES = ("Europe/London", "Europe/London", "Europe/London", "Europe/Dublin",
             "Europe/London", "Europe/London", "Europe/London", "America/Toronto")
FIRST_NAMES = ("Alex", "Sam", "Priya", "Jordan", "Grace", "Tom", "Amara", "Dev", "Lucy",
               "Owen", "Helen", "Martin", "Sana", "Kai", "Rita", "Ian", "Jo", "Marcus",
               "Noor", "Ewan", "Fatima", "Liam", "Chloe", "Ravi", "Ada")
LAST_NAMES = ("Morgan", "Lee", "Rahman", "Fletcher", "Obi", "Kowalski", "Price", "Patel",
              "Ward", "Hughes", "Shah", "Mensah", "Cole", "Frost", "Bright", "Webb",
              "Okafor", "Newman", "Evans", "Byrne", "Nowak", "Khan", "Murphy", "Ali",
              "Jones", "Smith", "Taylor", "Brown", "Wilson", "Davies", "Roberts")
GOALS = ("Find where people talk about our service online",
         "Write a page people can scan in 30 seconds",
         "Answer one resident's question on our Facebook page each week",
         "Run a short online survey",
         "Share a team calendar",
         "Make a one-minute video about a service change",
         "Use a password manager",
         "Hold a meeting on video with screen sharing")
NOTES = ("Tried it with a colleague", "Read a guide and made notes",
         "Half done; more next week", "Shared it at the team huddle", "", "")
WEB = ("Read a guide to writing for screens", "Tried a free survey tool",
       "Joined a discussion on the community forum", "Compared three password managers",
       "Watched a webinar on accessible documents", "Made a short video")
WEB_KINDS = ("read", "tried", "joined", "read", "made", "shared")
NUDGE_KINDS = ("nudge", "enthuse", "cajole")
NUDGE_TITLES = {"nudge": "A nudge from your patron", "enthuse": "Your patron is cheering you on",
                "cajole": "Your patron says: go on, try it"}


def participant_email(i: int) -> str:
    return f"participant{i:05d}@{DOMAIN}"


def patron_email(i: int) -> str:
    return f"patron{i:04d}@{DOMAIN}"


def facilitator_email(i: int) -> str:
    return f"facilitator{i:03d}@{DOMAIN}"


def admin_email(i: int) -> str:
    return f"admin{i}@{DOMAIN}"


def person_name(i: int) -> str:
    return f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i // 7) % len(LAST_NAMES)]}"


def scale_data_present() -> bool:
    """True when a scale run has already written its first participant."""
    return db.session.scalar(select(User.id).where(User.email == participant_email(0))) \
        is not None


@dataclass
class CohortDone:
    """What one cohort's transaction wrote, for the progress line."""

    number: int
    of: int
    participants: int
    rows: int
    seconds: float


class _Writer:
    """Bulk inserts in batches, counting rows per table."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()

    def insert(self, model: type, rows: list[dict]) -> None:
        table: Table = model.__table__
        for start in range(0, len(rows), BATCH):
            db.session.execute(insert(table), rows[start:start + BATCH])
        self.rows[table.name] += len(rows)

    def insert_ids(self, model: type, rows: list[dict]) -> list[int]:
        """Insert ``rows`` and return their new ids, in the same order."""
        table: Table = model.__table__
        ids: list[int] = []
        for start in range(0, len(rows), BATCH):
            result = db.session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True),
                rows[start:start + BATCH])
            ids.extend(result.scalars())
        self.rows[table.name] += len(rows)
        return ids


def load_scale(participants: int, *, params: HashParams, cohort_size: int = COHORT_SIZE,
               progress: Callable[[CohortDone], None] | None = None) -> dict[str, int]:
    """Write ``participants`` participants with their cohorts, patrons, facilitators and a
    year of activity; commit after each cohort. Returns the rows written per table."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise ValueError(f"participants must be between 1 and {MAX_PARTICIPANTS}")
    if cohort_size < 1:
        raise ValueError("cohort_size must be at least 1")
    writer = _Writer()
    password_hash = hash_password(DEMO_PASSWORD, params)
    now = now_utc()
    cohorts = math.ceil(participants / cohort_size)
    organisations = max(min(cohorts, 3), math.ceil(cohorts / 8))
    org_ids = writer.insert_ids(Organisation, [
        {"name": f"Scale test organisation {o + 1:02d}"} for o in range(organisations)])
    team_ids = writer.insert_ids(Team, [
        {"organisation_id": org_id, "name": name} for org_id in org_ids for name in TEAMS])
    writer.insert(User, [
        {"email": admin_email(a), "name": f"Scale Admin {a}", "password_hash": password_hash,
         "is_admin": True} for a in range(ADMINS)])
    second_facilitator = cohorts  # the next free facilitator number
    next_patron = 0
    for c in range(cohorts):
        started = time.perf_counter()
        before = sum(writer.rows.values())
        first = c * cohort_size
        last = min(participants, first + cohort_size)
        o = c % organisations
        facilitators = [c]
        if c % 2 == 0:
            facilitators.append(second_facilitator)
            second_facilitator += 1
        patrons = list(range(next_patron, next_patron + math.ceil((last - first) / PER_PATRON)))
        next_patron += len(patrons)
        _write_cohort(writer, c, range(first, last), facilitators, patrons, org_ids[o],
                      team_ids[o * len(TEAMS):(o + 1) * len(TEAMS)], password_hash, now)
        db.session.commit()
        if progress:
            progress(CohortDone(c + 1, cohorts, last - first, sum(writer.rows.values()) - before,
                                time.perf_counter() - started))
    if db.session.get_bind().dialect.name == "postgresql":
        # as autovacuum would soon after: without statistics the planner takes the new
        # tables for empty
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return dict(writer.rows)


def _write_cohort(writer: _Writer, c: int, people: range, facilitators: list[int],
                  patrons: list[int], org_id: int, team_ids: list[int], password_hash: str,
                  now: datetime) -> None:
    zone_name = TIMEZONES[c % len(TIMEZONES)]
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    # started between 3 and 52 weeks ago, ends 1 to 10 weeks from now
    start = today - timedelta(weeks=52 - (c * 7) % 50)
    end = today + timedelta(weeks=1 + c % 10)
    cohort_id = writer.insert_ids(Cohort, [{
        "organisation_id": org_id, "name": f"Scale test cohort {c + 1:03d}",
        "description": "A generated cohort for testing DAP at scale.",
        "start_date": start, "end_date": end, "timezone": zone_name,
        "is_volunteer": c % 3 == 0}])[0]
    began = _at(start, 9, zone)

    def account(email: str, name: str, **flags: bool) -> dict:
        return {"email": email, "name": name, "password_hash": password_hash,
                "timezone": zone_name, "is_facilitator": False, **flags}

    user_ids = writer.insert_ids(User, [
        *(account(participant_email(i), person_name(i)) for i in people),
        *(account(patron_email(p), person_name(p + 3)) for p in patrons),
        *(account(facilitator_email(f), person_name(f + 5), is_facilitator=True)
          for f in facilitators)])
    participant_ids = user_ids[:len(people)]
    patron_ids = user_ids[len(people):len(people) + len(patrons)]
    facilitator_ids = user_ids[len(people) + len(patrons):]

    def member(user_id: int, role: str, team_id: int | None, visible: bool) -> dict:
        return {"cohort_id": cohort_id, "user_id": user_id, "role": role, "status": "active",
                "team_id": team_id, "is_visible": visible, "joined_at": began,
                "accepted_at": began}

    writer.insert(Membership, [
        *(member(uid, "participant", team_ids[n % len(team_ids)], n % 3 != 2)
          for n, uid in enumerate(participant_ids)),
        *(member(uid, "patron", team_ids[n % len(team_ids)], False)
          for n, uid in enumerate(patron_ids)),
        *(member(uid, "facilitator", None, False) for uid in facilitator_ids)])
    patron_of = {uid: patron_ids[n // PER_PATRON] for n, uid in enumerate(participant_ids)}
    writer.insert(PatronLink, [
        {"cohort_id": cohort_id, "patron_id": patron, "participant_id": uid,
         "source": "facilitator", "created_by_id": facilitator_ids[0], "created_at": began}
        for uid, patron in patron_of.items()])
    plan_ids = writer.insert_ids(Plan, [
        {"cohort_id": cohort_id, "participant_id": uid, "state": "active" if n % 5 else "draft",
         "days_per_week": 2, "rhythm_days": [1, 3], "rhythm_time": "12:30",
         "created_at": began} for n, uid in enumerate(participant_ids)])

    # four goals each: the first two done when the cohort is old enough, the others going
    goal_rows = []
    for n, (uid, plan_id) in enumerate(zip(participant_ids, plan_ids, strict=True)):
        for g in range(4):
            created = began + timedelta(weeks=g, hours=n % 8)
            done_at = began + timedelta(weeks=8 * (g + 1), hours=n % 8)
            done = g < 2 and done_at < now - timedelta(days=1)
            goal_rows.append({
                "plan_id": plan_id, "title": GOALS[(n + g) % len(GOALS)], "position": g,
                "status": "done" if done else "active",
                "progress": 100 if done else (n * 7 + g * 20) % 90,
                "done_at": done_at if done else None, "done_by_id": uid if done else None,
                "created_at": created, "created_by_id": uid,
                "reflection": "It worked better than I expected." if done else ""})
    goal_ids = writer.insert_ids(PlanGoal, goal_rows)

    # events: a kick-off on the first day, then a workshop every fortnight to the end
    event_rows = []
    day, n = start, 0
    while day <= end:
        kick_off = n == 0
        event_rows.append({
            "cohort_id": cohort_id, "kind": "kick_off" if kick_off else "workshop",
            "title": "Kick-off" if kick_off else f"Workshop {n}",
            "starts_at": _at(day, 10, zone), "ends_at": _at(day, 12, zone),
            "mode": "in_person" if n % 2 == 0 else "online",
            "venue": "Town Hall" if n % 2 == 0 else "",
            "join_url": "" if n % 2 == 0 else "https://meet.example.org/workshop",
            "uid": f"scale-{cohort_id}-{n}@dap", "status": "scheduled",
            "created_by_id": facilitator_ids[0], "created_at": began, "updated_at": began})
        day += timedelta(weeks=2)
        n += 1
    event_ids = writer.insert_ids(Event, event_rows)

    check_ins: list[dict] = []
    web: list[dict] = []
    platform: list[dict] = []
    rsvps: list[dict] = []
    attendance: list[dict] = []
    nudges: list[dict] = []
    weeks = (today - start).days // 7 + 1
    for n, uid in enumerate(participant_ids):
        plan_id = plan_ids[n]
        goals = goal_ids[4 * n:4 * n + 4]
        goal_done = [goal_rows[4 * n + g]["done_at"] for g in range(4)]
        # one in eight has gone quiet for the last three weeks
        quiet_from = now - timedelta(weeks=3) if n % 8 == 7 else now
        for week in range(weeks):
            for d, weekday in enumerate((1, 3)):
                at = _at(start + timedelta(weeks=week, days=weekday), 12 + n % 6, zone)
                if at > quiet_from or at < began:
                    continue
                # the newest goal that was made by then and not yet done
                live = [g for g in range(4) if goal_rows[4 * n + g]["created_at"] <= at
                        and (goal_done[g] is None or goal_done[g] > at)]
                if live:
                    g = live[(week + d) % len(live)]
                    check_ins.append({
                        "goal_id": goals[g], "plan_id": plan_id, "created_at": at,
                        "local_date": at.astimezone(zone).date(),
                        "progress": None, "minutes": 10 + 5 * ((n + week) % 4),
                        "note": NOTES[(n + week + d) % len(NOTES)], "created_by_id": uid})
                platform.append({"user_id": uid, "day": at.astimezone(zone).date(),
                                 "seconds": 300 + 60 * ((n + week + d) % 10),
                                 "last_beat": int(at.timestamp())})
            at = _at(start + timedelta(weeks=week, days=2), 17, zone)
            if began <= at <= quiet_from and (n + week) % 3 != 0:
                web.append({
                    "user_id": uid, "cohort_id": cohort_id,
                    "kind": WEB_KINDS[(n + week) % len(WEB_KINDS)],
                    "title": WEB[(n + week) % len(WEB)], "url": "",
                    "minutes": 15 + 5 * ((n + week) % 6), "note": "",
                    "local_date": at.astimezone(zone).date(), "created_at": at,
                    "created_by_id": uid})
            if week % 4 == 2 and began <= at <= now:
                kind = NUDGE_KINDS[(n + week // 4) % len(NUDGE_KINDS)]
                old = at < now - timedelta(days=7)
                nudges.append({
                    "user_id": uid, "cohort_id": cohort_id, "kind": kind,
                    "title": NUDGE_TITLES[kind], "body": "How is your plan going this week?",
                    "link": f"/cohorts/{cohort_id}/plan", "sender_id": patron_of[uid],
                    "dedup_key": f"scale-nudge-{uid}-{week}", "created_at": at,
                    "read_at": at + timedelta(hours=20) if old else None,
                    "reaction": "thumbs_up" if old and n % 2 == 0 else None,
                    "reacted_at": at + timedelta(hours=21) if old and n % 2 == 0 else None,
                    "email_state": "none"})
        for e, (event_id, row) in enumerate(zip(event_ids, event_rows, strict=True)):
            answer = (n + e) % 5
            if row["ends_at"] <= now:
                if answer == 4 or row["starts_at"] > quiet_from:
                    continue
                rsvps.append(_rsvp(event_id, uid, "going", began))
                attendance.append({
                    "event_id": event_id, "user_id": uid,
                    "mark": ("attended", "attended", "partly", "no_show")[answer],
                    "recorded_by_id": facilitator_ids[0], "recorded_at": row["ends_at"]})
            elif row["starts_at"] <= now + timedelta(weeks=4):
                rsvps.append(_rsvp(event_id, uid, "declined" if answer == 4 else "going", now))
    for model, rows in ((CheckIn, check_ins), (WebActivity, web), (PlatformDay, platform),
                        (Rsvp, rsvps), (Attendance, attendance), (Notification, nudges)):
        writer.insert(model, rows)


def _rsvp(event_id: int, user_id: int, status: str, at: datetime) -> dict:
    return {"event_id": event_id, "user_id": user_id, "status": status, "created_at": at,
            "updated_at": at}


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """``hour`` o'clock on ``day`` in ``zone``, in UTC."""
    return datetime.combine(day, clock_time(hour), tzinfo=zone).astimezone(UTC)


def describe(rows: dict[str, int]) -> Iterable[str]:
    """One line per table: name and rows written, largest first."""
    for name, count in sorted(rows.items(), key=lambda item: (-item[1], item[0])):
        yield f"  {name:18} {count:>10,}"
