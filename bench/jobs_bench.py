"""The scheduled scans at scale: wall time and SQL statements of one ``jobs run-due`` pass for
a programme of N participants (default 500 and 50,000).

Run from the project root (``make bench-jobs``)::

    .venv/bin/python bench/jobs_bench.py [--sizes 500 50000] [--database sqlite|postgresql]

For each size, a throwaway database gets N participants in cohorts of 250 (each with a
facilitator, 25 patrons looking out for 10 participants each, a plan with a Monday-to-Friday
rhythm at 18:00, an event on Tuesday evening with 50 people going and five 1:1 sessions on
Tuesday evening); four in five participants checked in three days ago, one in five has been
quiet since joining 30 days ago; one in ten chose a daily digest for reminders and has two
messages waiting. The clock is frozen at Monday 18:05 in London, when check-in reminders,
the patrons' Monday summary, the 24-hour reminders, silence and daily digests are all due.

Two passes of every scan except delivery (``deliver_outbox`` sends at most 200 a run; its
throughput is a matter for the SMTP server) and housekeeping:

1. **first pass**: everything due goes out; statements grow only with the messages stored,
   one multi-row INSERT per 500 rows;
2. **second pass**, a minute later: nothing new is due; the statements must be the same for
   every N (set-based scans: no statement per participant).

Data is generated with multi-row INSERTs (no password hashing, no ORM objects), so 50,000
participants take well under a minute to set up.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gunicorn_bench
import run as bench
from sqlalchemy import func, insert, select

from dap import clock, create_app
from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership, Organisation, PatronLink
from dap.events.models import Event, Rsvp, RsvpStatus
from dap.extensions import db
from dap.jobs import registry
from dap.nudges.models import MessagePreference, Notification, OutboxMessage
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.support.models import BookingStatus, SupportBooking, SupportSlot

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: Monday 2 March 2026, 18:05 in London (GMT)
NOW = datetime(2026, 3, 2, 18, 5, tzinfo=UTC)
COHORT_SIZE = 250
PATRON_SPAN = 10
SKIPPED = {"deliver_outbox", "prune_history"}
CHUNK = 5000


def _bulk(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start:start + CHUNK])


def _ids(model, column, **where) -> list[int]:
    stmt = select(column)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return list(db.session.scalars(stmt.order_by(column)))


def generate(participants: int) -> None:
    """The programme described in the module docstring."""
    joined = NOW - timedelta(days=30)
    db.session.add(Organisation(name="Bench Org"))
    db.session.flush()
    org_id = db.session.scalar(select(Organisation.id))
    cohorts = max(1, participants // COHORT_SIZE)
    _bulk(Cohort, [{"organisation_id": org_id, "name": f"Cohort {c}", "timezone": "Europe/London",
                    "start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31),
                    "created_at": joined} for c in range(cohorts)])
    cohort_ids = _ids(Cohort, Cohort.id)
    patrons_per = COHORT_SIZE // PATRON_SPAN
    users = []
    for c in range(cohorts):
        users.append({"email": f"f{c}@bench.example", "name": f"Facilitator {c}"})
        users += [{"email": f"p{c}-{i}@bench.example", "name": f"Patron {c}-{i}"}
                  for i in range(patrons_per)]
        users += [{"email": f"u{c}-{i}@bench.example", "name": f"Person {c}-{i}"}
                  for i in range(COHORT_SIZE)]
    _bulk(User, [{**u, "password_hash": "", "timezone": "Europe/London", "created_at": joined}
                 for u in users])
    by_email = dict(db.session.execute(select(User.email, User.id)).all())
    memberships, links, plans = [], [], []
    for c, cohort_id in enumerate(cohort_ids):
        def member(email: str, role: CohortRole, cohort_id: int = cohort_id) -> None:
            memberships.append({"cohort_id": cohort_id, "user_id": by_email[email],
                                "role": role.value, "status": "active", "joined_at": joined,
                                "is_visible": False, "cap_exempt": False,
                                "cap_exempt_reason": ""})
        member(f"f{c}@bench.example", CohortRole.FACILITATOR)
        for i in range(patrons_per):
            member(f"p{c}-{i}@bench.example", CohortRole.PATRON)
        for i in range(COHORT_SIZE):
            person = by_email[f"u{c}-{i}@bench.example"]
            member(f"u{c}-{i}@bench.example", CohortRole.PARTICIPANT)
            links.append({"cohort_id": cohort_id, "participant_id": person,
                          "patron_id": by_email[f"p{c}-{i // PATRON_SPAN}@bench.example"],
                          "source": "facilitator", "created_at": joined})
            plans.append({"cohort_id": cohort_id, "participant_id": person, "state": "active",
                          "days_per_week": 2, "rhythm_days": [0, 1, 2, 3, 4],
                          "rhythm_time": "18:00", "rhythm_minutes": 15, "pause_reason": "",
                          "created_at": joined})
    _bulk(Membership, memberships)
    _bulk(PatronLink, links)
    _bulk(Plan, plans)
    plan_rows = db.session.execute(select(Plan.id, Plan.participant_id, Plan.cohort_id)
                                   .order_by(Plan.id)).all()
    _bulk(PlanGoal, [{"plan_id": plan_id, "title": "Try a poll", "why": "",
                      "visibility": "patrons", "status": "active", "drop_reason": "",
                      "position": 0, "progress": 0, "reflection": "", "evidence": [],
                      "created_at": joined} for plan_id, _, _ in plan_rows])
    goal_of = dict(db.session.execute(select(PlanGoal.plan_id, PlanGoal.id)).all())
    three_days_ago = NOW - timedelta(days=3)
    _bulk(CheckIn, [{"goal_id": goal_of[plan_id], "plan_id": plan_id,
                     "created_at": three_days_ago, "local_date": three_days_ago.date(),
                     "progress": 20, "minutes": 15, "note": ""}
                    for n, (plan_id, _, _) in enumerate(plan_rows) if n % 5])
    tuesday_evening = NOW + timedelta(days=1, minutes=-5)  # Tuesday 18:00
    _bulk(Event, [{"cohort_id": cohort_id, "kind": "workshop", "title": "Evening workshop",
                   "description": "", "starts_at": tuesday_evening,
                   "ends_at": tuesday_evening + timedelta(hours=2), "mode": "in_person",
                   "venue": "Room 1", "address": "", "join_url": "", "status": "scheduled",
                   "uid": f"bench-{cohort_id}@dap", "sequence": 0, "cancel_reason": "",
                   "created_at": joined} for cohort_id in cohort_ids])
    event_of = dict(db.session.execute(select(Event.cohort_id, Event.id)).all())
    people_of: dict[int, list[int]] = {}
    for _, person, cohort_id in plan_rows:
        people_of.setdefault(cohort_id, []).append(person)
    _bulk(Rsvp, [{"event_id": event_of[cohort_id], "user_id": person,
                  "status": RsvpStatus.GOING.value, "created_at": joined,
                  "updated_at": joined}
                 for cohort_id, people in people_of.items() for person in people[:50]])
    _bulk(SupportSlot, [{"cohort_id": cohort_id, "facilitator_id": by_email[f"f{c}@bench.example"],
                         "starts_at": tuesday_evening + timedelta(minutes=30 * s),
                         "ends_at": tuesday_evening + timedelta(minutes=30 * s + 25),
                         "mode": "phone", "place": "", "join_url": "", "book_until_minutes": 60,
                         "cancel_until_minutes": 120, "status": "open", "withdraw_reason": "",
                         "uid": f"bench-slot-{cohort_id}-{s}@dap", "sequence": 0,
                         "created_at": joined, "updated_at": joined}
                        for c, cohort_id in enumerate(cohort_ids) for s in range(5)])
    slots = db.session.execute(select(SupportSlot.id, SupportSlot.cohort_id)
                               .order_by(SupportSlot.id)).all()
    _bulk(SupportBooking, [{"slot_id": slot_id, "participant_id": people_of[cohort_id][60 + n % 5],
                            "note": "", "status": BookingStatus.BOOKED.value, "created_at": joined,
                            "cancel_message": ""}
                           for n, (slot_id, cohort_id) in enumerate(slots)])
    digest_people = [person for n, (_, person, _) in enumerate(plan_rows) if n % 10 == 3]
    _bulk(MessagePreference, [{"user_id": person, "category": "reminders", "delivery": "daily",
                               "updated_at": joined} for person in digest_people])
    _bulk(Notification, [{"user_id": person, "kind": "checkin_reminder", "title": "Waiting",
                          "body": "", "link": "", "dedup_key": f"bench:{person}:{k}",
                          "created_at": NOW - timedelta(days=1), "email_state": "digest"}
                         for person in digest_people for k in range(2)])
    db.session.commit()


def one_pass(app, counter: bench.QueryCounter) -> list[dict]:
    """Every scan but delivery and housekeeping, once, each in a fresh app context (as
    ``run_due`` does), with its wall time and statements."""
    rows = []
    for job in registry.JOBS:
        if job.id in SKIPPED:
            continue
        with app.app_context():
            counter.count = 0
            started = time.perf_counter()
            result = job.func(app)
            db.session.commit()
            rows.append({"job": job.id, "ms": round((time.perf_counter() - started) * 1000, 1),
                         "statements": counter.count, "result": result})
    return rows


def measure(size: int, database: str, pg_server: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="dap-jobs-bench-") as tmp, \
            gunicorn_bench.throwaway_database(database, Path(tmp), pg_server) as url:
        app = create_app({"TESTING": False, "SQLALCHEMY_DATABASE_URI": url,
                          "SECRET_KEY": "bench-secret-key", "OUTBOX_DIR": str(Path(tmp) / "outbox"),
                          "RATELIMIT_STORAGE_URI": "memory://", "MAIL_URL": "",
                          "SCHEDULER": "off", "BASE_URL": "https://dap.example.org"})
        logging.getLogger("dap").setLevel(logging.WARNING)
        clock.freeze(NOW)
        try:
            with app.app_context():
                db.create_all()
                started = time.perf_counter()
                generate(size)
                setup_s = time.perf_counter() - started
                counter = bench.QueryCounter().watch(db.engine)
            first = one_pass(app, counter)
            clock.freeze(NOW + timedelta(minutes=1))
            second = one_pass(app, counter)
            with app.app_context():
                stored = db.session.scalar(select(func.count(Notification.id)))
                emails = db.session.scalar(select(func.count(OutboxMessage.id)))
                counter.stop()
                db.engine.dispose()
        finally:
            clock.freeze(None)
    return {"participants": size, "database": database, "setup_s": round(setup_s, 1),
            "notifications": stored, "emails_queued": emails, "first": first,
            "second": second}


def print_size(report: dict) -> None:
    print(f"\n{report['participants']:,} participants on {report['database']} "
          f"(set up in {report['setup_s']} s; afterwards {report['notifications']:,} "
          f"notifications, {report['emails_queued']:,} emails queued)")
    print(f"  {'scan':<22}{'1st pass ms':>12}{'stmts':>7}  {'2nd pass ms':>12}{'stmts':>7}  result")
    for first, second in zip(report["first"], report["second"], strict=True):
        print(f"  {first['job']:<22}{first['ms']:>12,.1f}{first['statements']:>7}  "
              f"{second['ms']:>12,.1f}{second['statements']:>7}  {first['result']}")
    total = sum(r["ms"] for r in report["first"]), sum(r["ms"] for r in report["second"])
    stmts = (sum(r["statements"] for r in report["first"]),
             sum(r["statements"] for r in report["second"]))
    print(f"  {'all':<22}{total[0]:>12,.1f}{stmts[0]:>7}  {total[1]:>12,.1f}{stmts[1]:>7}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 50_000])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if any(size < COHORT_SIZE for size in args.sizes):
        parser.error(f"each size must be at least {COHORT_SIZE} (one cohort)")
    reports = []
    for size in args.sizes:
        report = measure(size, args.database, gunicorn_bench.pg_server_url(args.pg_url))
        print_size(report)
        reports.append(report)
    second = {r["participants"]: sum(x["statements"] for x in r["second"]) for r in reports}
    flat = len(set(second.values())) == 1
    print(f"\nsecond-pass statements by size: {second} -> "
          f"{'flat' if flat else 'GROWS with participants'}")
    path = args.json or RESULTS / f"latest-jobs-{args.database}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                "reports": reports, "flat": flat}, indent=2, default=str) + "\n")
    print(f"written to {path}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
