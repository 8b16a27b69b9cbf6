"""pg-restart: PostgreSQL stopped for 7 s and started again under load, gunicorn left running.

What it breaks: a private PostgreSQL cluster made for the run (Debian's ``pg_createcluster``
on a free port, trust on loopback; never the machine's own cluster, which others use) holds
a database seeded with ``flask demo --scale 12``; gunicorn (4 workers) serves it. Twelve
signed-in participants send heartbeats and check-ins through ``/sync/check-ins`` (as a
phone sends what it queued: each with its own Idempotency-Key, retried with the same key
after a 5xx or no answer). After 5 s the cluster is stopped (``pg_ctlcluster … stop``, fast
mode: open connections are cut), started again 7 s later, and the load goes on for 10 s;
then every check-in still waiting is retried until answered. The cluster is dropped at
the end (``pg_dropcluster --stop``), whatever happened.

What it promises: while the database is away every request is answered, with a clean 503
(the 503 page for the heartbeat, problem details for /sync; Retry-After), never a 500 or a
dropped connection; within a few seconds of PostgreSQL being back requests succeed again
(``pool_pre_ping`` replaces the dead pooled connections) without restarting gunicorn; no
write is half-done: each check-in answered 201 is stored exactly once with its
idempotency record (whose answer names that check-in), none answered only with 5xx is
half-present, and ``platform_days`` keeps one row per participant-day.

How it checks: every request is recorded with its times, status and headers; the
database afterwards with the load test's ``verify`` (bench/load/run.py: check-ins by note
token, platform seconds within what the answered heartbeats allow, rows per day) and a
query pairing check-ins with idempotency records; the workers' pids before and after.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import data_shared as shared
import gunicorn_bench as gb
from sqlalchemy import create_engine, func, make_url, select, text
from verdict import Outcome

from dap.accounts.models import User
from dap.api.models import IdempotentRequest
from dap.demo_scale import participant_email
from dap.plans.models import CheckIn, GoalStatus, Plan, PlanGoal

DESCRIPTION = ("PostgreSQL (a private cluster) stopped 7 s and started under heartbeats and "
               "check-ins: clean 503s, 2xx again, no partial writes, same workers")

CLIENTS = 12
WARM, GAP, AFTER = 5.0, 7.0, 10.0  #: seconds of load before the stop, stopped, after the start
DRAIN = 15.0  #: seconds for the check-ins still waiting to be retried at the end
PAUSE = 0.3  #: between one client's requests
RETRY_PAUSE = 0.5  #: before a check-in is sent again after a 5xx or no answer
RECOVERY = 3.0  #: seconds after PostgreSQL is back by which every request must succeed
COMMAND_TIMEOUT = 60


# --- the private cluster ------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """An empty database for the app; it goes with the cluster (an engine kept for
        dropping it would hold a connection the restart cuts)."""
        server = make_url(self.url)
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text('CREATE DATABASE "dap"'))
        finally:
            admin.dispose()
        return server.set(database="dap").render_as_string(hide_password=False)

    def ctl(self, action: str) -> float:
        """``pg_ctlcluster VERSION NAME ACTION``; the seconds it took."""
        started = time.perf_counter()
        _run("pg_ctlcluster", self.version, self.name, action)
        return time.perf_counter() - started


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,  # noqa: S603
                          check=False)
    if check and done.returncode != 0:
        raise gb.BenchError(f"`{' '.join(command)}` failed ({done.returncode}):\n"
                            f"{done.stdout}{done.stderr}")
    return done


def _server_version() -> str:
    versions = [p.name for p in Path("/usr/lib/postgresql").iterdir() if (p / "bin" / "postgres").exists()]
    if not versions:
        raise gb.BenchError("no PostgreSQL server under /usr/lib/postgresql (Debian's packages)")
    return max(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


@contextlib.contextmanager
def private_cluster(outcome: Outcome) -> Iterator[Cluster]:
    """A new cluster of this machine's PostgreSQL on a free port, started; stopped and
    dropped on the way out (also when it half failed to be made)."""
    cluster = Cluster(_server_version(), f"dapfault{uuid.uuid4().hex[:8]}", gb.free_port())
    try:
        _run("pg_createcluster", cluster.version, cluster.name, "--port", str(cluster.port),
             "--start-conf=manual", "--", "--auth-host=trust", "--auth-local=trust")
        cluster.ctl("start")
        yield cluster
    finally:
        dropped = _run("pg_dropcluster", "--stop", cluster.version, cluster.name, check=False)
        left = cluster.name in _run("pg_lsclusters", check=False).stdout
        outcome.check("the private cluster is dropped", dropped.returncode == 0 and not left,
                      f"{cluster.version}/{cluster.name} on port {cluster.port}: "
                      f"pg_dropcluster --stop exited {dropped.returncode}"
                      f"{'' if not left else ', still listed by pg_lsclusters'} "
                      f"{dropped.stderr.strip()[:200]}".strip())


# --- the scenario -------------------------------------------------------------------------


def run(pg_server: str, workdir: Path) -> Outcome:
    """``pg_server`` is not used: the scenario restarts a cluster of its own."""
    outcome = Outcome("pg-restart")
    checks = shared.load_checks()
    run_id = uuid.uuid4().hex[:8]
    with private_cluster(outcome) as cluster:
        url = cluster.new_database()
        port = gb.free_port()
        env = gb.app_environment(url, workdir, port)
        seeded = shared.seed(env, CLIENTS)
        engine = create_engine(url, pool_pre_ping=True)
        try:
            emails = [participant_email(i) for i in range(CLIENTS)]
            goals = _open_goals(engine, emails)
            server = gb.start_gunicorn(env, port, workdir)
            try:
                clients = shared.sign_in_all(port, emails)
                before = checks.snapshot(engine, CLIENTS)
                outcome.note(f"set up in {seeded:.0f} s (migrate, demo --scale {CLIENTS}); "
                             f"{CLIENTS} participants signed in")
                answers, times, tokens = _drive(cluster, clients, goals, run_id)
                workers_after = gb.children_of(server.process.pid)
            finally:
                gb.stop_gunicorn(server)
            beats = {i: [checks.Beat(a.sent, a.answered, 0 < a.status < 500)
                         for a in answers if a.kind == "heartbeat" and a.who == i]
                     for i in range(CLIENTS)}
            recorded = {t for t, got in tokens.items() if any(a.status == 201 for a in got)}
            unsure = set(tokens) - recorded
            lines, stored_ok = checks.verify(engine, before, beats, recorded, unsure, run_id)
            pairs = _check_ins_and_records(engine, run_id)
        finally:
            engine.dispose()
    _judge(outcome, answers, times, tokens, lines, stored_ok, pairs, server.workers,
           workers_after)
    return outcome


def _open_goals(engine, emails: list[str]) -> dict[str, int]:
    """A goal still open in each participant's plan, for their check-ins."""
    with engine.connect() as conn:
        found = dict(conn.execute(
            select(User.email, func.min(PlanGoal.id))
            .join(Plan, Plan.participant_id == User.id).join(PlanGoal, PlanGoal.plan_id == Plan.id)
            .where(User.email.in_(emails),
                   PlanGoal.status.in_([GoalStatus.ACTIVE, GoalStatus.PLANNED]))
            .group_by(User.email)).all())
    missing = [email for email in emails if email not in found]
    if missing:
        raise gb.BenchError(f"no open goal for {missing[:3]}")
    return found


def _drive(cluster: Cluster, clients: list[gb.Client], goals: dict[str, int], run_id: str):
    """The load, with the stop and the start in the middle; the answers, the moments of
    the restart, and every check-in's answers by its note token."""
    answers: list[shared.Answer] = []
    tokens: dict[str, list[shared.Answer]] = {}
    times: dict[str, float] = {}
    stop, drained = threading.Event(), threading.Event()

    def participant(i: int) -> None:
        client, goal = clients[i], goals[participant_email(i)]
        pending: tuple[str, str, bytes] | None = None  # (token, key, body) not yet answered
        n = 0
        while not drained.is_set():
            if stop.is_set() and pending is None:
                return
            if not stop.is_set():
                answers.append(shared.fetch(client, "heartbeat", i, "POST", "/time/heartbeat"))
            if pending is None:
                token = f"load-{run_id}-{i}-{n}"
                n += 1
                made_at = datetime.now(UTC).isoformat()
                body = json.dumps({"goal_id": goal, "minutes": 5, "note": token,
                                   "made_at": made_at}).encode()
                pending = (token, str(uuid.uuid4()), body)
                tokens[token] = []
            token, key, body = pending
            answer = shared.fetch(client, "check-in", i, "POST", "/sync/check-ins", body,
                                  {"Content-Type": "application/json",
                                   "Accept": "application/json", "Idempotency-Key": key})
            answers.append(answer)
            tokens[token].append(answer)
            if answer.status == 0 or answer.status >= 500:
                drained.wait(RETRY_PAUSE)  # the same key again, as a phone would
                continue
            pending = None
            if not stop.is_set():
                stop.wait(PAUSE)

    threads = [threading.Thread(target=participant, args=(i,), daemon=True)
               for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(WARM)
        times["stop_asked"] = time.time()
        cluster.ctl("stop")
        times["stopped"] = time.time()
        time.sleep(GAP)
        times["start_asked"] = time.time()
        cluster.ctl("start")
        times["started"] = time.time()
        time.sleep(AFTER)
    finally:
        stop.set()
        deadline = time.monotonic() + DRAIN
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        drained.set()
        for thread in threads:
            thread.join(timeout=gb.REQUEST_TIMEOUT + 5)
    times["ended"] = time.time()
    return answers, times, tokens


def _check_ins_and_records(engine, run_id: str) -> dict[str, tuple[int | None, list]]:
    """By note token: the check-in's id, and the idempotency records of its author whose
    answer names it; plus records naming no check-in (under the key ``""``)."""
    with engine.connect() as conn:
        entries = conn.execute(select(CheckIn.id, CheckIn.note, Plan.participant_id)
                               .join(Plan, Plan.id == CheckIn.plan_id)
                               .where(CheckIn.note.like(f"load-{run_id}-%"))).all()
        users = {user for _, _, user in entries}
        records = conn.execute(select(IdempotentRequest.user_id, IdempotentRequest.body)
                               .where(IdempotentRequest.user_id.in_(users))).all()
    by_id: dict[int, list] = {}
    for user, body in records:
        by_id.setdefault(json.loads(body).get("id"), []).append(user)
    pairs = {note: (entry, by_id.pop(entry, [])) for entry, note, _ in entries}
    pairs[""] = (None, list(by_id))  # records whose check-in is not there
    return pairs


def _judge(outcome: Outcome, answers: list[shared.Answer], times: dict[str, float],
           tokens: dict[str, list[shared.Answer]], db_lines: list[str], stored_ok: bool,
           pairs: dict, workers: list[int], workers_after: list[int]) -> None:
    stopped, back = times["stopped"], times["started"]
    outcome.note(f"cluster stop took {stopped - times['stop_asked']:.2f} s, down "
                 f"{times['start_asked'] - stopped:.1f} s, start took "
                 f"{back - times['start_asked']:.2f} s; {len(answers)} requests: "
                 + "; ".join(f"{kind} {shared.statuses(a for a in answers if a.kind == kind)}"
                             for kind in ("heartbeat", "check-in")))

    gap = [a for a in answers if a.answered > stopped and a.sent < times["start_asked"]]
    unclean = [a for a in gap if not a.clean_503]
    kinds = {kind: sum(1 for a in gap if a.kind == kind and a.clean_503)
             for kind in ("heartbeat", "check-in")}
    problems = sum(1 for a in gap if a.clean_503 and a.content_type.startswith("application/problem+json"))
    outcome.check(
        "while PostgreSQL is away every answer is a clean 503",
        bool(gap) and not unclean,
        f"{len(gap)} answered during the gap ({shared.statuses(gap)}): {kinds['heartbeat']} "
        f"heartbeats got the 503 page, {kinds['check-in']} check-ins a 503 problem "
        f"({problems} problem+json), all with Retry-After"
        + (f"; first other: {unclean[0].status} {unclean[0].error or unclean[0].body[:120]!r}"
           if unclean else ""))

    bad = [a for a in answers if a.status not in (200, 201, 503)]
    outcome.check(
        "no 500 and no dropped connection, ever",
        not bad,
        f"{len(answers)} requests, {len(bad)} answered other than 200/201/503"
        + (f" (first: {bad[0].status} {bad[0].error or bad[0].body[:120]!r})" if bad else "")
        + f"; slowest {max(a.seconds for a in answers):.2f} s")

    starting = [a for a in answers if times["start_asked"] <= a.sent < back]
    after = [a for a in answers if a.sent >= back]
    first_ok = min((a.answered for a in after if 200 <= a.status < 300), default=None)
    late = [a for a in after if a.status >= 500 or a.status == 0]
    settled = [a for a in answers if a.sent >= back + RECOVERY]
    outcome.check(
        f"2xx again within {RECOVERY:g} s of PostgreSQL being back",
        first_ok is not None and all(200 <= a.status < 300 for a in settled),
        (f"first 2xx {first_ok - back:.2f} s after `pg_ctlcluster start` returned" if first_ok
         else "no 2xx after the start")
        + f"; {len(late)} of {len(after)} requests sent after it answered 5xx"
        + (f" (last answered {max(a.answered for a in late) - back:.2f} s after)" if late else "")
        + f"; from {RECOVERY:g} s on: {shared.statuses(settled)}; sent while it was starting: "
        f"{shared.statuses(starting)}")

    answered_201 = {t: a for t, got in tokens.items() for a in got if a.status == 201}
    ids = {t: json.loads(a.body)["id"] for t, a in answered_201.items()}
    mismatched = [t for t, i in ids.items() if pairs.get(t, (None, []))[0] != i]
    unpaired = [t for t, (entry, records) in pairs.items() if t and len(records) != 1]
    orphans = pairs.get("", (None, []))[1]
    after_5xx = [t for t, got in tokens.items()
                 if any(a.status >= 500 or a.status == 0 for a in got)]
    replayed = [t for t in after_5xx if any(a.replayed for a in tokens[t])]
    unsure = [t for t, got in tokens.items() if t not in answered_201]
    half = [t for t in unsure if t in pairs and len(pairs[t][1]) != 1]
    outcome.check(
        "no partial writes",
        stored_ok and not mismatched and not unpaired and not orphans and not half,
        f"{len(tokens)} check-ins sent, {len(answered_201)} answered 201, "
        f"{len(after_5xx)} of them first answered 5xx or nothing and retried with their key "
        f"({len(replayed)} replayed: saved by an attempt answered 5xx); "
        f"{len(pairs) - 1} stored, {len(mismatched)} answered with another id, "
        f"{len(unpaired)} without exactly one idempotency record, {len(orphans)} records "
        f"without their check-in; never answered 201: {len(unsure)} ({len(half)} half-present); "
        + "; ".join(db_lines))
    outcome.check("workers never restarted", workers == workers_after,
                  f"worker pids before {workers}, after {workers_after}")
