"""DAP's API bench: the JSON API's main requests against ``/healthz``, and SQL statements
per request with little and with much data.

Run from the project root (``make bench-api``)::

    .venv/bin/python bench/api_bench.py [--database sqlite|postgresql]

A throwaway database with the demo data; the demo participant (Alex) gets a read-write
token. The rate limit is on (memory storage, a limit no run reaches), so its cost is in
the figures, as in production. Each request is measured twice: with Alex's plan as the
demo has it ("little": a handful of goals and web activities) and after adding
``LARGE_GOALS`` goals, ``LARGE_CHECK_INS`` check-ins and ``LARGE_ACTIVITIES`` web
activities ("much"); the statements per request must not grow (exit 1 if they do).
Requests per second are a ratio to ``/healthz``, measured in alternating rounds
(``run.paired_ratio``'s method).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gunicorn_bench
import run as bench
from sqlalchemy import insert, select

from dap import create_app
from dap.accounts import api_tokens
from dap.accounts.models import TokenScope, User
from dap.accounts.services import HashParams
from dap.clock import local_date
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.demo import load_demo
from dap.extensions import db
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal
from dap.timecap.models import ActivityKind, WebActivity

LARGE_GOALS = 200
LARGE_CHECK_INS = 5_000
LARGE_ACTIVITIES = 5_000
ROUNDS = 9
ROUND_SECONDS = 0.4
SCALING_REQUESTS = 20
PARTICIPANT = "participant@example.org"


def make_app(workdir: Path, url: str):
    app = create_app({
        "TESTING": False, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key",
        "PASSWORD_HASH_PARAMS": None, "OUTBOX_DIR": str(workdir / "outbox"),
        "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": True,
        "API_RATE_LIMIT": "100000000 per minute", "MAIL_URL": "", "SCHEDULER": "off",
    })
    logging.getLogger("dap.request").setLevel(logging.WARNING)
    return app


def seed_much(user_id: int) -> None:
    """Many goals, check-ins and web activities for the participant, with bulk inserts."""
    plan = db.session.scalars(select(Plan).where(Plan.participant_id == user_id)).first()
    cohort = db.session.get(Cohort, plan.cohort_id)
    now = datetime.now(UTC)
    db.session.execute(insert(PlanGoal), [
        {"plan_id": plan.id, "title": f"Bench goal {n}", "why": "", "status": GoalStatus.ACTIVE,
         "position": 100 + n, "progress": 0, "reflection": "", "evidence": [],
         "created_by_id": user_id, "created_at": now - timedelta(minutes=n)}
        for n in range(LARGE_GOALS)])
    goal_ids = list(db.session.scalars(select(PlanGoal.id).where(PlanGoal.plan_id == plan.id)))
    cycle = itertools.cycle(goal_ids)
    db.session.execute(insert(CheckIn), [
        {"goal_id": next(cycle), "plan_id": plan.id, "created_at": now - timedelta(hours=n),
         "local_date": local_date(now - timedelta(hours=n), cohort.timezone), "progress": None,
         "minutes": 5, "note": "", "created_by_id": user_id}
        for n in range(LARGE_CHECK_INS)])
    db.session.execute(insert(WebActivity), [
        {"user_id": user_id, "cohort_id": cohort.id, "kind": ActivityKind.READ,
         "title": f"Bench reading {n}", "url": "", "minutes": 5, "note": "",
         "local_date": local_date(now - timedelta(hours=n), cohort.timezone),
         "created_at": now - timedelta(hours=n), "created_by_id": user_id}
        for n in range(LARGE_ACTIVITIES)])
    db.session.commit()


class Caller:
    """One kind of API request, repeated: ``call()`` sends it and checks the status."""

    def __init__(self, client, method: str, path: str, token: str | None, body=None,
                 expect: int = 200, idempotent: bool = False) -> None:
        self.client, self.method, self.path, self.body = client, method, path, body
        self.expect, self.idempotent = expect, idempotent
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.keys = itertools.count()

    def call(self) -> None:
        headers = dict(self.headers)
        if self.idempotent:
            headers["Idempotency-Key"] = f"bench-{time.time_ns()}-{next(self.keys)}"
        response = self.client.open(self.path, method=self.method, json=self.body,
                                    headers=headers)
        if response.status_code != self.expect:
            raise SystemExit(f"bench: {self.method} {self.path} answered "
                             f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
        response.close()


def paired(healthz: Caller, caller: Caller) -> dict:
    ratios, rates = [], []
    for _ in range(ROUNDS):
        pair = []
        for who in (healthz, caller):
            n, started = 0, time.perf_counter()
            deadline = started + ROUND_SECONDS
            while time.perf_counter() < deadline:
                who.call()
                n += 1
            pair.append(n / (time.perf_counter() - started))
        ratios.append(pair[1] / pair[0])
        rates.append(pair[1])
    return {"median": statistics.median(ratios), "low": min(ratios), "high": max(ratios),
            "rps": statistics.median(rates)}


def statements(caller: Caller, counter: bench.QueryCounter) -> float:
    caller.call()
    counter.count = 0
    for _ in range(SCALING_REQUESTS):
        caller.call()
    return counter.count / SCALING_REQUESTS


def callers(client, token: str, goal_id: int) -> dict[str, Caller]:
    activity = {"kind": "read", "title": "A guide to video calls", "minutes": 10,
                "url": "https://example.org/guide"}
    return {
        "GET /api/v1/me": Caller(client, "GET", "/api/v1/me", token),
        "GET /api/v1/time": Caller(client, "GET", "/api/v1/time", token),
        "GET /api/v1/goals": Caller(client, "GET", "/api/v1/goals", token),
        "GET /api/v1/check-ins": Caller(client, "GET", "/api/v1/check-ins", token),
        "GET /api/v1/web-activities": Caller(client, "GET", "/api/v1/web-activities", token),
        "POST /api/v1/web-activities": Caller(client, "POST", "/api/v1/web-activities", token,
                                              activity, 201),
        "POST /api/v1/web-activities (Idempotency-Key)": Caller(
            client, "POST", "/api/v1/web-activities", token, activity, 201, idempotent=True),
        "POST /api/v1/check-ins": Caller(client, "POST", "/api/v1/check-ins", token,
                                         {"goal_id": goal_id, "minutes": 5}, 201),
        "GET /api/v1/openapi.json": Caller(client, "GET", "/api/v1/openapi.json", None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    args.json = args.json or bench.RESULTS / f"latest-api-{args.database}.json"
    report: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "database": args.database, "requests": {}}
    with tempfile.TemporaryDirectory(prefix="dap-bench-") as tmp, \
            gunicorn_bench.throwaway_database(args.database, Path(tmp),
                                              gunicorn_bench.pg_server_url(args.pg_url)) as url:
        app = make_app(Path(tmp), url)
        with app.app_context():
            db.create_all()
            load_demo(params=HashParams())
            db.session.commit()
            user = db.session.scalars(select(User).where(User.email == PARTICIPANT)).one()
            _, token = api_tokens.create(user, name="Bench", scope=TokenScope.READ_WRITE,
                                         expires_on=None, actor=user)
            user_id = user.id
            goal_id = db.session.scalar(
                select(PlanGoal.id).join(Plan).join(
                    Membership, (Membership.user_id == Plan.participant_id)
                    & (Membership.cohort_id == Plan.cohort_id))
                .where(Plan.participant_id == user_id,
                       Membership.role == CohortRole.PARTICIPANT,
                       PlanGoal.status == GoalStatus.ACTIVE).limit(1))
            db.session.commit()
            counter = bench.QueryCounter().watch(db.engine)
        client = app.test_client()
        healthz = Caller(client, "GET", "/healthz", None)
        cases = callers(client, token, goal_id)
        for name, caller in cases.items():
            report["requests"][name] = {"statements_little": statements(caller, counter)}
        with app.app_context():
            seed_much(user_id)
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            db.session.remove()
        for name, caller in cases.items():
            row = report["requests"][name]
            row["statements_much"] = statements(caller, counter)
            ratio = paired(healthz, caller)
            row.update(vs_healthz=round(ratio["median"], 3), low=round(ratio["low"], 3),
                       high=round(ratio["high"], 3), rps=round(ratio["rps"], 1))
            print(f"{name:48} {row['statements_little']:4.1f} → {row['statements_much']:4.1f} "
                  f"statements  {row['vs_healthz']:.3f} of /healthz ({row['low']:.3f}–"
                  f"{row['high']:.3f}), {row['rps']:.0f}/s", flush=True)
        with app.app_context():
            db.engine.dispose()
    grows = {name: row["statements_much"] > row["statements_little"]
             for name, row in report["requests"].items()}
    report["statements_grow"] = grows
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return 1 if any(grows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
