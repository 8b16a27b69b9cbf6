"""DAP's insights bench: the facilitators' insights pages for a cohort with a year of
activity, at 25, 250 and 1,000 participants.

Run from the project root (``make bench-insights``)::

    .venv/bin/python bench/insights_bench.py [--database sqlite|postgresql] [--sizes 25,250,1000]

A throwaway database with the demo data, plus a cohort that started a year ago, facilitated
by the demo facilitator, which grows to each size in turn. Every participant has a year of
activity (see ``add_people``). For each page: SQL statements per request at each size (they
must not grow: exit 1 if they do) and requests per second as a ratio to ``/healthz``,
measured in alternating rounds (``run.paired_ratio``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gunicorn_bench
import run as bench
from sqlalchemy import insert, select

from dap.accounts.models import User
from dap.accounts.services import HashParams
from dap.baseline.models import Assessment
from dap.baseline.services import ensure_baseline_checkpoint
from dap.cohorts.models import Cohort, CohortRole, Membership, Organisation, PatronLink, Team
from dap.community.models import Comment, Post
from dap.demo import load_demo
from dap.events.models import Attendance, Event
from dap.extensions import db
from dap.nudges.models import Notification
from dap.plans.models import CheckIn, Plan, PlanGoal
from dap.support.models import SupportBooking, SupportSlot
from dap.timecap.models import PlatformDay, WebActivity

DEFAULT_SIZES = (25, 250, 1000)
WEEKS = 52
ROUNDS = 7
ROUND_SECONDS = 0.5


def make_cohort() -> tuple[int, list[int]]:
    """The year cohort (started 52 weeks ago, ends in four) and its fortnightly workshops."""
    org = db.session.scalars(select(Organisation).order_by(Organisation.id)).first()
    facilitator = db.session.scalars(
        select(User).where(User.email == "facilitator@example.org")).one()
    today = datetime.now(UTC).date()
    cohort = Cohort(organisation=org, name="Bench: a year of activity",
                    start_date=today - timedelta(weeks=WEEKS), end_date=today + timedelta(weeks=4),
                    timezone="Europe/London")
    db.session.add(cohort)
    db.session.flush()
    db.session.add(Membership(cohort=cohort, user=facilitator, role=CohortRole.FACILITATOR))
    ensure_baseline_checkpoint(cohort)
    start = datetime.combine(cohort.start_date, datetime.min.time(), tzinfo=UTC)
    rows = [{"cohort_id": cohort.id, "kind": "workshop", "title": f"Workshop {n}",
             "starts_at": start + timedelta(weeks=2 * n, hours=10),
             "ends_at": start + timedelta(weeks=2 * n, hours=12), "mode": "in_person",
             "uid": f"bench-{cohort.id}-{n}@dap", "status": "scheduled"}
            for n in range(WEEKS // 2)]
    db.session.execute(insert(Event), rows)
    events = list(db.session.scalars(select(Event.id).where(Event.cohort_id == cohort.id)
                                     .order_by(Event.starts_at)))
    db.session.commit()
    return cohort.id, events


def add_people(cohort_id: int, events: list[int], first: int, last: int) -> None:
    """Participants ``first`` to ``last - 1``, each with a year of activity: a plan of six
    goals (three done), two check-ins a week (none after week 20 for one in four, who go
    quiet), web time once a week, platform time twice a week, every other workshop, a 1:1
    each quarter, a nudge a month, a post and a comment a quarter, a sent baseline."""
    cohort = db.session.get(Cohort, cohort_id)
    teams = db.session.scalars(select(Team).order_by(Team.id)).all()
    patron = db.session.scalars(select(User).where(User.email == "patron@example.org")).one()
    facilitator = db.session.scalars(
        select(User).where(User.email == "facilitator@example.org")).one()
    checkpoint = ensure_baseline_checkpoint(cohort)
    start = datetime.combine(cohort.start_date, datetime.min.time(), tzinfo=UTC)
    now = datetime.now(UTC)
    users = [{"email": f"bench.year{i:05d}@example.org", "name": f"Year Participant {i:05d}",
              "password_hash": patron.password_hash, "timezone": cohort.timezone}
             for i in range(first, last)]
    db.session.execute(insert(User), users)
    ids = list(db.session.scalars(select(User.id).where(
        User.email.in_([u["email"] for u in users])).order_by(User.id)))
    db.session.execute(insert(Membership), [
        {"cohort_id": cohort_id, "user_id": uid, "role": "participant", "status": "active",
         "team_id": teams[n % len(teams)].id, "joined_at": start, "accepted_at": start}
        for n, uid in enumerate(ids)])
    db.session.execute(insert(PatronLink), [
        {"cohort_id": cohort_id, "patron_id": patron.id, "participant_id": uid}
        for uid in ids[::5]])
    db.session.execute(insert(Plan), [{"cohort_id": cohort_id, "participant_id": uid}
                                      for uid in ids])
    plans = dict(db.session.execute(select(Plan.participant_id, Plan.id).where(
        Plan.cohort_id == cohort_id, Plan.participant_id.in_(ids))).all())
    goals = []
    for uid in ids:
        for g in range(6):
            done = g < 3
            goals.append({"plan_id": plans[uid], "title": f"Goal {g}", "position": g,
                          "status": "done" if done else "active", "progress": 100 if done else 40,
                          "done_at": start + timedelta(weeks=8 * (g + 1), days=uid % 5)
                          if done else None, "created_at": start + timedelta(weeks=g)})
    db.session.execute(insert(PlanGoal), goals)
    goal_of = dict(db.session.execute(select(PlanGoal.plan_id, PlanGoal.id).where(
        PlanGoal.plan_id.in_(list(plans.values())), PlanGoal.position == 3)).all())
    check_ins, web, platform, attendance, nudges = [], [], [], [], []
    for n, uid in enumerate(ids):
        quiet_after = 20 if n % 4 == 3 else WEEKS
        for week in range(min(WEEKS, quiet_after)):
            for day in (1, 4):
                at = start + timedelta(weeks=week, days=day, hours=18)
                if at > now:
                    continue
                check_ins.append({"goal_id": goal_of[plans[uid]], "plan_id": plans[uid],
                                  "created_at": at, "local_date": at.date(), "minutes": 15,
                                  "progress": None, "note": ""})
                platform.append({"user_id": uid, "day": at.date(), "seconds": 900,
                                 "last_beat": 0})
            at = start + timedelta(weeks=week, days=2, hours=12)
            if at <= now:
                web.append({"user_id": uid, "cohort_id": cohort_id, "kind": "read",
                            "title": "An article", "url": "", "minutes": 30, "note": "",
                            "local_date": at.date(), "created_at": at})
            if week % 4 == 0 and at <= now:
                nudges.append({"user_id": uid, "cohort_id": cohort_id, "kind": "nudge",
                               "title": "Hello", "body": "", "link": "", "sender_id": patron.id,
                               "dedup_key": f"bench-nudge-{uid}-{week}", "created_at": at,
                               "email_state": "none"})
        for e, event_id in enumerate(events):
            if (e + n) % 2 == 0 and e < quiet_after // 2:
                attendance.append({"event_id": event_id, "user_id": uid, "mark": "attended",
                                   "recorded_at": now})
    for rows, model in ((check_ins, CheckIn), (web, WebActivity), (platform, PlatformDay),
                        (attendance, Attendance), (nudges, Notification)):
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[chunk:chunk + 5000])
    slots = [{"cohort_id": cohort_id, "facilitator_id": facilitator.id,
              "starts_at": start + timedelta(weeks=13 * q + 1, hours=9, minutes=(n % 16) * 30),
              "ends_at": start + timedelta(weeks=13 * q + 1, hours=9, minutes=(n % 16) * 30 + 30),
              "mode": "video", "uid": f"bench-slot-{uid}-{q}@dap", "status": "open"}
             for n, uid in enumerate(ids) for q in range(4)]
    db.session.execute(insert(SupportSlot), slots)
    slot_ids = dict(db.session.execute(select(SupportSlot.uid, SupportSlot.id).where(
        SupportSlot.uid.in_([s["uid"] for s in slots]))).all())
    db.session.execute(insert(SupportBooking), [
        {"slot_id": slot_ids[f"bench-slot-{uid}-{q}@dap"], "participant_id": uid,
         "status": "booked", "note": "", "created_at": start}
        for uid in ids for q in range(4)])
    posts = [{"cohort_id": cohort_id, "author_id": uid, "kind": "tip", "body": "A tip",
              "created_at": start + timedelta(weeks=13 * q + 2)} for uid in ids for q in range(4)]
    db.session.execute(insert(Post), posts)
    post_ids = list(db.session.scalars(select(Post.id).where(Post.cohort_id == cohort_id)
                                       .order_by(Post.id.desc()).limit(len(posts))))
    db.session.execute(insert(Comment), [
        {"post_id": post_ids[(n * 7) % len(post_ids)], "author_id": uid, "body": "Thanks",
         "created_at": start + timedelta(weeks=13 * q + 3)}
        for n, uid in enumerate(ids) for q in range(4)])
    db.session.execute(insert(Assessment), [
        {"checkpoint_id": checkpoint.id, "cohort_id": cohort_id, "user_id": uid,
         "started_at": start, "updated_at": start, "submitted_at": start} for uid in ids])
    db.session.commit()


def pages(cohort_id: int) -> list[tuple[str, str, str]]:
    base = f"/cohorts/{cohort_id}/insights"
    return [("insights overview", "facilitator", base),
            ("people (roster)", "facilitator", f"{base}/people"),
            ("activity by week", "facilitator", f"{base}/activity"),
            ("channels compared", "facilitator", f"{base}/channels"),
            ("roster CSV", "facilitator", f"{base}/people.csv"),
            ("organisation report", "admin", "/admin/insights")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="participants at each step, growing (default 25,250,1000)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if sizes != sorted(set(sizes)) or sizes[0] < 1:
        parser.error("--sizes must be growing whole numbers")
    args.json = args.json or bench.RESULTS / f"latest-insights-{args.database}.json"
    report: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "database": args.database, "sizes": sizes, "weeks": WEEKS, "pages": {}}
    with tempfile.TemporaryDirectory(prefix="dap-bench-") as tmp, \
            gunicorn_bench.throwaway_database(args.database, Path(tmp),
                                              gunicorn_bench.pg_server_url(args.pg_url)) as url:
        app = bench.make_app(Path(tmp), url)
        with app.app_context():
            db.create_all()
            load_demo(params=HashParams())
            db.session.commit()
            counter = bench.QueryCounter().watch(db.engine)
            cohort_id, events = make_cohort()
            db.session.remove()
        clients = {"anonymous": app.test_client(),
                   "facilitator": bench.signed_in(app, "facilitator@example.org"),
                   "admin": bench.signed_in(app, "admin@example.org")}
        have = 0
        for size in sizes:
            started = time.perf_counter()
            with app.app_context():
                add_people(cohort_id, events, have, size)
                if db.engine.dialect.name == "postgresql":
                    # as autovacuum would soon after such a load: without statistics the
                    # planner takes the new tables for empty and picks nested loops
                    with db.engine.connect() as conn:
                        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                            "ANALYZE")
                db.session.remove()
            have = size
            seeded = time.perf_counter() - started
            print(f"{size} participants: seeded in {seeded:.1f} s", flush=True)
            for name, who, path in pages(cohort_id):
                queries = bench.queries_per_request(clients[who], path, counter)
                t0 = time.perf_counter()
                bench.get_ok(clients[who], path)
                one = (time.perf_counter() - t0) * 1000
                ratio = bench.paired_ratio(clients["anonymous"], clients[who], path, ROUNDS,
                                           ROUND_SECONDS)
                report["pages"].setdefault(name, []).append(
                    {"participants": size, "queries": queries, "ms": round(one, 1),
                     "vs_healthz": round(ratio["median"], 4),
                     "rps": round(ratio["rps_median"], 1)})
                print(f"  {name:22} {queries:5.1f} queries  {one:8.1f} ms  "
                      f"{ratio['median']:.4f} of /healthz", flush=True)
        with app.app_context():
            db.engine.dispose()
    grows = {name: rows[-1]["queries"] > rows[0]["queries"]
             for name, rows in report["pages"].items()}
    report["queries_grow"] = grows
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return 1 if any(grows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
