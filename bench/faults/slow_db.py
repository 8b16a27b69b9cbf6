"""slow-db: the heartbeats' table locked for 15 s while participants keep beating.

What it breaks: gunicorn (4 workers) serves a throwaway PostgreSQL database seeded with
``flask demo --scale 16``, with a short statement timeout (``DAP_DB_STATEMENT_TIMEOUT=2``).
Sixteen signed-in participants send heartbeats (one every 0.2 s after each answer) and an
anonymous client polls ``/healthz``. After 5 s another connection takes ``platform_days``
(the table every heartbeat writes) in ACCESS EXCLUSIVE mode, as a careless migration or a
hand-typed ``LOCK TABLE`` would, and holds it for 15 s; the load goes on 8 s after.

What it promises: a locked database cannot hold a worker for as long as the lock lasts.
Every heartbeat that meets the lock is cancelled at the statement timeout and answered with
a clean 503 (the styled page, Retry-After), never a 500 or a hang; ``/healthz`` (which
needs no locked table) keeps answering 200, only as slowly as the queue for a free worker
makes it; once the lock is gone every request answers 200; a cancelled heartbeat leaves
nothing behind (each is one statement), so platform seconds stay within what the answered
beats allow, with one row per participant-day; no worker is restarted.

How it checks: every request is recorded with its times, status and headers; gunicorn's
request log (``DAP_LOG_LEVEL=INFO``) gives the time each 503 took inside the server; the
database is checked with the load test's ``verify`` (bench/load/run.py).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from pathlib import Path

import data_shared as shared
import gunicorn_bench as gb
from sqlalchemy import create_engine, text
from verdict import Outcome

from dap.demo_scale import participant_email

DESCRIPTION = ("platform_days locked for 15 s under 16 beating participants: clean 503s at "
               "the 2 s statement timeout, /healthz answering, then 200s")

STATEMENT_TIMEOUT = 2  #: seconds (DAP_DB_STATEMENT_TIMEOUT for gunicorn)
LOCK_SECONDS = 15
CLIENTS = 16
BEFORE, AFTER = 5.0, 8.0  #: seconds of load before the lock is taken and after it is released
PAUSE = 0.2  #: seconds between one client's answer and its next request
#: how much longer than the timeout a cancelled request may take inside the server
SERVER_SLACK = 1.0


def run(pg_server: str, workdir: Path) -> Outcome:
    outcome = Outcome("slow-db")
    checks = shared.load_checks()
    with gb.throwaway_database("postgresql", workdir, pg_server) as url:
        port = gb.free_port()
        env = {**gb.app_environment(url, workdir, port),
               "DAP_DB_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT), "DAP_LOG_LEVEL": "INFO"}
        seeded = shared.seed(env, CLIENTS)
        engine = create_engine(url)
        try:
            server = gb.start_gunicorn(env, port, workdir)
            try:
                clients = shared.sign_in_all(port, [participant_email(i) for i in range(CLIENTS)])
                before = checks.snapshot(engine, CLIENTS)
                outcome.note(f"set up in {seeded:.0f} s (migrate, demo --scale {CLIENTS}); "
                             f"{CLIENTS} participants signed in")
                answers, lock = _drive(port, clients, engine)
                workers_after = gb.children_of(server.process.pid)
            finally:
                gb.stop_gunicorn(server)
            logged = shared.logged_requests(server.log_path)
            cancelled = server.log_path.read_text(errors="replace").count(
                "canceling statement due to statement timeout")
            beats = {i: [checks.Beat(a.sent, a.answered, 0 < a.status < 500)
                         for a in answers if a.kind == "heartbeat" and a.who == i]
                     for i in range(CLIENTS)}
            lines, stored_ok = checks.verify(engine, before, beats, set(), set(), "none")
        finally:
            engine.dispose()
    _judge(outcome, answers, lock, logged, cancelled, lines, stored_ok,
           server.workers, workers_after)
    return outcome


def _drive(port: int, clients: list[gb.Client], engine) -> tuple[list[shared.Answer], dict]:
    """The load, and the lock in the middle of it; the answers and the lock's times."""
    answers: list[shared.Answer] = []
    lock: dict[str, float] = {}
    stop = threading.Event()

    def beater(i: int) -> None:
        while not stop.is_set():
            answers.append(shared.fetch(clients[i], "heartbeat", i, "POST", "/time/heartbeat"))
            stop.wait(PAUSE)

    def poller() -> None:
        anonymous = gb.Client(port)
        while not stop.is_set():
            answers.append(shared.fetch(anonymous, "healthz", -1, "GET", "/healthz"))
            stop.wait(PAUSE)

    def locker() -> None:
        time.sleep(BEFORE)
        with engine.connect() as conn:
            lock["asked"] = time.time()
            conn.execute(text("LOCK TABLE platform_days IN ACCESS EXCLUSIVE MODE"))
            lock["taken"] = time.time()
            time.sleep(LOCK_SECONDS)
            conn.commit()
            lock["released"] = time.time()

    threads = [threading.Thread(target=beater, args=(i,), daemon=True) for i in range(CLIENTS)]
    threads.append(threading.Thread(target=poller, daemon=True))
    for thread in threads:
        thread.start()
    holder = threading.Thread(target=locker, daemon=True)
    holder.start()
    holder.join(timeout=BEFORE + LOCK_SECONDS + 60)
    if "released" not in lock:
        stop.set()
        raise gb.BenchError(f"the lock was not taken and released in time: {lock}")
    time.sleep(AFTER)
    stop.set()
    for thread in threads:
        thread.join(timeout=gb.REQUEST_TIMEOUT + 5)
    hung = sum(thread.is_alive() for thread in threads)
    if hung:
        raise gb.BenchError(f"{hung} client(s) still waiting {gb.REQUEST_TIMEOUT + 5} s after the end")
    return answers, lock


def _judge(outcome: Outcome, answers: list[shared.Answer], lock: dict, logged, cancelled: int,
           db_lines: list[str], stored_ok: bool, workers: list[int],
           workers_after: list[int]) -> None:
    taken, released = lock["taken"], lock["released"]
    beats = [a for a in answers if a.kind == "heartbeat"]
    health = [a for a in answers if a.kind == "healthz"]
    outcome.note(f"lock taken {taken - lock['asked']:.2f} s after it was asked for, held "
                 f"{released - taken:.1f} s; {len(beats)} heartbeats ({shared.statuses(beats)}), "
                 f"{len(health)} /healthz ({shared.statuses(health)})")

    # sent once the lock was held and answered before it went: each had to wait for it (one
    # already in flight when the lock was asked for finished first: LOCK waits for it)
    locked = [a for a in beats if a.sent > taken and a.answered < released]
    in_flight = [a for a in beats if a.sent < taken < a.answered]
    unclean = [a for a in locked if not a.clean_503]
    outcome.check(
        "every heartbeat that met the lock is a clean 503",
        bool(locked) and not unclean,
        f"{len(locked)} sent and answered while locked: {shared.statuses(locked)}; "
        f"{len(locked) - len(unclean)} the 503 page with Retry-After"
        + (f"; first other: {unclean[0].status} {unclean[0].body[:120]!r}" if unclean else "")
        + f" (in flight as the lock was taken: {shared.statuses(in_flight)})")

    server_503 = [seconds for method, path, status, seconds in logged
                  if path == "/time/heartbeat" and status == 503]
    near = [s for s in server_503 if STATEMENT_TIMEOUT - 0.05 <= s <= STATEMENT_TIMEOUT + SERVER_SLACK]
    client_503 = [a.seconds for a in beats if a.status == 503]
    outcome.check(
        f"each 503 came at the {STATEMENT_TIMEOUT} s statement timeout (inside the server)",
        bool(server_503) and len(near) == len(server_503) and cancelled >= len(server_503),
        f"{len(server_503)} heartbeat 503s in gunicorn's log, {len(near)} took "
        f"{STATEMENT_TIMEOUT}–{STATEMENT_TIMEOUT + SERVER_SLACK:g} s: {shared.ms(server_503)}; "
        f"{cancelled} 'canceling statement due to statement timeout' in the log; "
        f"as the clients saw them (with the wait for a free worker): {shared.ms(client_503)}")

    bad = [a for a in answers if a.status not in (200, 503)]
    slowest = max((a.seconds for a in answers), default=0.0)
    outcome.check(
        "no 500, no dropped connection, nothing hangs",
        not bad and slowest < gb.REQUEST_TIMEOUT,
        f"{len(answers)} requests, {len(bad)} answered other than 200/503"
        + (f" (first: {bad[0].status} {bad[0].error or bad[0].body[:120]!r})" if bad else "")
        + f"; slowest {slowest:.1f} s (client gives up at {gb.REQUEST_TIMEOUT} s)")

    during = [a for a in health if a.answered > taken and a.sent < released]
    outside = [a.seconds for a in health if a.answered < taken or a.sent > released + 1]
    # the most a poll can wait: one turn per worker for everyone ahead of it, each cancelled
    # at the timeout, plus a second
    bound = math.ceil((len({a.who for a in beats}) + 1) / gb.WORKERS) * STATEMENT_TIMEOUT + 1
    slow_health = [a for a in during if a.status != 200 or a.seconds > bound]
    outcome.check(
        "/healthz keeps answering 200 during the lock",
        bool(during) and not slow_health,
        f"{len(during)} polls during the lock ({shared.statuses(during)}): "
        f"{shared.ms(a.seconds for a in during)} "
        f"(bound {bound:g} s: the queue for a free worker); outside the lock "
        f"{shared.ms(outside)}")

    after = [a for a in answers if a.sent > released]
    first_ok = min((a.answered for a in beats if a.sent > released and a.status == 200),
                   default=None)
    last_503 = max((a.answered for a in beats if a.status == 503), default=taken)
    outcome.check(
        "after the lock every request answers 200",
        bool(after) and all(a.status == 200 for a in after),
        f"{len(after)} requests sent after the release: {shared.statuses(after)}; first 200 "
        + (f"{first_ok - released:.2f} s after the release" if first_ok else "never")
        + f"; last 503 answered {last_503 - released:+.2f} s from the release")

    outcome.check("no heartbeat half-written (bench/load verify)", stored_ok,
                  "; ".join(line for line in db_lines if not line.startswith("check-ins")))
    outcome.check("workers never restarted", workers == workers_after,
                  f"worker pids before {workers}, after {workers_after}")
    if server_503:
        outcome.note(f"503s inside the server: median {statistics.median(server_503):.2f} s")
