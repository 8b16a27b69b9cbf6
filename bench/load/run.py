"""The load test (``make load``): gunicorn with 4 workers on PostgreSQL, on loopback, under
simulated participants, patrons and facilitators (bench/load/locustfile.py), then checks of
the database. See docs/OPERATIONS.md, "Load test".

    .venv/bin/python bench/load/run.py --participants 500 --patrons 50 --facilitators 10 --duration 5m

1. creates a throwaway PostgreSQL database (``dap_bench_<random>``), migrates it and loads
   ``flask --app dap demo --scale N`` (N = the participants);
2. starts gunicorn (4 sync workers, 127.0.0.1, a free port, no scheduler, one reverse
   proxy trusted so that each simulated person has their own address);
3. runs locust headless for the duration, then stops gunicorn;
4. checks the database: every check-in answered as recorded is there exactly once and no
   other; each participant's platform seconds grew by what their beats allow
   (bench/load/check.py); no participant has two rows for one day;
5. prints requests, requests a second, p50/p95/p99 per endpoint, failures, the verdicts and
   each gunicorn process's resident memory at the start and end (bench/load/memory.py);
   drops the database. Exit 1 on any failed request or failed check, and with ``--soak``
   (``make soak``) when a worker's memory grew.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/, for gunicorn_bench
sys.path.insert(0, str(HERE))

import gunicorn_bench as gb  # noqa: E402
from check import Beat, compare_check_ins, platform_seconds_range  # noqa: E402
from cpu import CpuWatch  # noqa: E402
from memory import MemoryWatch  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from dap.demo_scale import facilitator_email, participant_email, patron_email  # noqa: E402

SEED_TIMEOUT = 1800


def seed(env: dict[str, str], participants: int) -> float:
    started = time.perf_counter()
    gb.flask_cli(env, "db", "upgrade")
    command = [sys.executable, "-m", "flask", "--app", "dap", "demo", "--scale", str(participants)]
    done = subprocess.run(command, cwd=gb.ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=SEED_TIMEOUT, check=False)
    if done.returncode != 0:
        raise gb.BenchError(f"`flask demo --scale` failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def snapshot(engine, participants: int) -> dict[str, dict]:
    """Per participant email: user id, platform seconds so far, latest beat."""
    emails = [participant_email(i) for i in range(participants)]
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.email, u.id, COALESCE(SUM(p.seconds), 0), MAX(p.last_beat) FROM users u "
            "LEFT JOIN platform_days p ON p.user_id = u.id WHERE u.email = ANY(:emails) "
            "GROUP BY u.email, u.id"), {"emails": emails}).all()
    return {email: {"id": uid, "seconds": int(seconds), "last_beat": last}
            for email, uid, seconds, last in rows}


def accounts(engine, make, limit: int) -> int:
    """How many of ``make(0), make(1), …`` exist (up to ``limit``)."""
    with engine.connect() as conn:
        found = set(conn.scalars(text("SELECT email FROM users WHERE email = ANY(:e)"),
                                 {"e": [make(i) for i in range(limit)]}))
    count = 0
    while count < limit and make(count) in found:
        count += 1
    return count


def read_log(log_dir: Path, stopped: float):
    beats: dict[int, list[Beat]] = defaultdict(list)
    sent, recorded = set(), set()
    statuses: dict[int, int] = defaultdict(int)
    failures: list[str] = []
    measured_from: float | None = None
    for path in sorted(log_dir.glob("log-*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if "measured_from" in record:
                measured_from = min(measured_from or record["measured_from"],
                                    record["measured_from"])
                continue
            if "fail" in record:
                failures.append(f"{record['fail']}: {record['error']}")
                continue
            if "checkin" in record:
                (recorded if record["state"] == "recorded" else sent).add(record["checkin"])
                continue
            status = record.get("st", 0)
            statuses[status] += 1
            answered = record["a"] if record["a"] is not None else stopped
            certain = record["a"] is not None and 0 < status < 500
            beats[record["u"]].append(Beat(record["s"], answered, certain))
    return beats, recorded, sent - recorded, failures, measured_from


def verify(engine, before: dict[str, dict], beats: dict[int, list[Beat]], recorded: set[str],
           unsure: set[str], run_id: str) -> tuple[list[str], bool]:
    lines, ok = [], True
    with engine.connect() as conn:
        stored = list(conn.scalars(text("SELECT note FROM check_ins WHERE note LIKE :p"),
                                   {"p": f"load-{run_id}-%"}))
        doubled = conn.execute(text("SELECT COUNT(*) FROM (SELECT user_id, day FROM platform_days "
                                    "GROUP BY user_id, day HAVING COUNT(*) > 1) d")).scalar()
    verdict = compare_check_ins(recorded, unsure, stored)
    ok &= verdict.ok
    lines.append(f"check-ins: {len(recorded)} answered as recorded, {len(stored)} in the database; "
                 f"missing {len(verdict.missing)}, twice or more {len(verdict.duplicated)}, "
                 f"never sent {len(verdict.unexpected)}; without a clear answer: "
                 f"{verdict.unsure_found} stored, {verdict.unsure_absent} not"
                 f" -> {'OK' if verdict.ok else 'FAILED'}")
    after = snapshot(engine, len(before))
    low_total = high_total = got_total = 0
    wrong = []
    for number, mine in sorted(beats.items()):
        email = participant_email(number)
        low, high = platform_seconds_range(mine, before[email]["last_beat"])
        got = after[email]["seconds"] - before[email]["seconds"]
        low_total, high_total, got_total = low_total + low, high_total + high, got_total + got
        if not low <= got <= high:
            wrong.append(f"{email}: {got} s, expected {low}–{high} s ({len(mine)} requests)")
    untouched = [e for e in before if after[e]["seconds"] != before[e]["seconds"]
                 and int(e[len("participant"):len("participant") + 5]) not in beats]
    ok &= not wrong and not untouched and doubled == 0
    lines.append(f"platform seconds: {got_total:,} s added for {len(beats)} participants, expected "
                 f"{low_total:,}–{high_total:,} s; {len(beats) - len(wrong)} of {len(beats)} within "
                 f"their own range{'' if not untouched else f', {len(untouched)} not simulated changed'}"
                 f" -> {'OK' if not wrong and not untouched else 'FAILED'}")
    lines.extend(f"  {w}" for w in wrong[:10])
    lines.append(f"platform days: {doubled} participant-days with more than one row "
                 f"-> {'OK' if doubled == 0 else 'FAILED'}")
    return lines, ok


def stats_table(csv_path: Path) -> tuple[list[str], int, float, int]:
    rows = list(csv.DictReader(csv_path.open()))
    out = [f"{'endpoint':<28} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
           f"{'p99 ms':>7} {'failures':>8}"]
    out.append("-" * len(out[0]))
    failures, total_rps, requests = 0, 0.0, 0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        if row["Request Count"] == "0":
            continue  # sign-in pages: all before the measured time
        if name == "all":
            out.append("-" * len(out[0]))
            failures, total_rps = int(row["Failure Count"]), float(row["Requests/s"])
            requests = int(row["Request Count"])
        out.append(f"{name:<28} {row['Request Count']:>8} {float(row['Requests/s']):>7.1f} "
                   f"{row['50%']:>7} {row['95%']:>7} {row['99%']:>7} {row['Failure Count']:>8}")
    return out, failures, total_rps, requests


def seconds_of(duration: str) -> int:
    """``90``, ``30s``, ``5m`` or ``1h`` in seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if duration[-1:] in units:
        return int(float(duration[:-1]) * units[duration[-1]])
    return int(float(duration))


def failure_lines(csv_path: Path) -> list[str]:
    if not csv_path.exists():
        return []
    return [f"{row['Occurrences']:>5} {row['Method']} {row['Name']}: {row['Error']}"
            for row in csv.DictReader(csv_path.open())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--patrons", type=int, default=50)
    parser.add_argument("--facilitators", type=int, default=10)
    parser.add_argument("--duration", default="5m",
                        help="time measured once everyone has started, e.g. 30s, 5m")
    parser.add_argument("--spawn-rate", type=float, default=5.0,
                        help="people started (and signed in) a second")
    parser.add_argument("--beat-seconds", type=float, default=4.0,
                        help="mean seconds between a participant's requests (default 4)")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--keep", type=Path, default=None, help="copy locust's CSV files here")
    parser.add_argument("--soak", action="store_true",
                        help="fail unless each worker's memory stays flat (bench/load/memory.py)")
    args = parser.parse_args(argv)
    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="dap-load-") as tmp:
        workdir = Path(tmp)
        with gb.throwaway_database("postgresql", workdir, gb.pg_server_url(args.pg_url)) as url:
            port = gb.free_port()
            env = {**gb.app_environment(url, workdir, port), "DAP_PROXY_COUNT": "1"}
            print(f"seeding {args.participants} participants (flask demo --scale) ...", flush=True)
            seconds = seed(env, args.participants)
            engine = create_engine(url)
            try:
                before = snapshot(engine, args.participants)
                patron_accounts = accounts(engine, patron_email, max(args.patrons, 1))
                facilitator_accounts = accounts(engine, facilitator_email, max(args.facilitators, 1))
                print(f"seeded in {seconds:.0f} s: {len(before)} participants, {patron_accounts} "
                      f"patron and {facilitator_accounts} facilitator accounts", flush=True)
                server = gb.start_gunicorn(env, port, workdir)
                master = server.process.pid
                memory = MemoryWatch(master, gb.children_of)
                memory.start()
                cpu_watch = CpuWatch({"gunicorn workers": lambda: gb.children_of(master),
                                      "PostgreSQL backends": lambda: gb.postgres_backends(url, engine)},
                                     lambda pid: gb.cpu_seconds([pid]), every=1.0)
                cpu_watch.start()
                log_dir = workdir / "log"
                locust_env = {**os.environ, "DAP_LOAD_PARTICIPANTS": str(args.participants),
                              "DAP_LOAD_PATRONS": str(args.patrons),
                              "DAP_LOAD_FACILITATORS": str(args.facilitators),
                              "DAP_LOAD_PATRON_ACCOUNTS": str(patron_accounts),
                              "DAP_LOAD_FACILITATOR_ACCOUNTS": str(facilitator_accounts),
                              "DAP_LOAD_LOG_DIR": str(log_dir), "DAP_LOAD_RUN": run_id,
                              "DAP_LOAD_BEAT_SECONDS": str(args.beat_seconds),
                              "DAP_LOAD_MEASURE_SECONDS": str(seconds_of(args.duration)),
                              "PYTHONPATH": str(gb.ROOT)}
                users = args.participants + args.patrons + args.facilitators
                ramp = math.ceil(users / args.spawn_rate)
                command = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"),
                           "--headless", "-u", str(users), "-r", str(args.spawn_rate),
                           "-t", f"{4 * ramp + seconds_of(args.duration) + 120}s",
                           "--stop-timeout", "30", "--only-summary",
                           "--csv", str(workdir / "locust"), "--host", f"http://127.0.0.1:{port}",
                           "--loglevel", "WARNING", "--exit-code-on-error", "0"]
                print(f"locust: {users} people ({args.participants} participants, {args.patrons} "
                      f"patrons, {args.facilitators} facilitators), started over {ramp} s; measured "
                      f"for {args.duration} from when all have signed in; against "
                      f"gunicorn ({gb.WORKERS} workers) on 127.0.0.1:{port}", flush=True)
                started = time.time()
                children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                try:
                    done = subprocess.run(command, cwd=gb.ROOT, env=locust_env, check=False,  # noqa: S603
                                          capture_output=True, text=True)
                    stopped = time.time()
                    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = {"locust": (children_after.ru_utime + children_after.ru_stime
                                      - children_before.ru_utime - children_before.ru_stime),
                           "gunicorn workers": gb.cpu_seconds(server.workers),
                           "PostgreSQL backends": gb.cpu_seconds(gb.postgres_backends(url))}
                finally:
                    stopped = time.time()
                    memory.stop()
                    cpu_watch.stop()
                    gb.stop_gunicorn(server)
                if done.returncode not in (0,) or not (workdir / "locust_stats.csv").exists():
                    sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
                    sys.stderr.write(f"\ngunicorn log:\n{server.log_tail()}\n")
                    return 1
                table, failures, total_rps, requests = stats_table(workdir / "locust_stats.csv")
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    for path in workdir.glob("locust_*.csv"):
                        (args.keep / path.name).write_bytes(path.read_bytes())
                failed = failure_lines(workdir / "locust_failures.csv")
                beats, recorded, unsure, all_failures, measured_from = read_log(log_dir, stopped)
                rss = memory.report(measured_from)
                window = (measured_from or started,
                          min(stopped, (measured_from or started) + seconds_of(args.duration)))
                measured_cpu = cpu_watch.between(*window)
                checks, ok = verify(engine, before, beats, recorded, unsure, run_id)
            finally:
                engine.dispose()
    print()
    print("\n".join(table))
    print(f"\n{total_rps:.1f} requests a second in all once everyone was signed in; failed requests: "
          f"{failures} then, {len(all_failures)} in the whole run "
          f"({stopped - started:.0f} s)")
    if all_failures and not failed:
        print("failures while signing everyone in:\n  " + "\n  ".join(sorted(set(all_failures))[:20]))
    cores = os.cpu_count() or 1
    print(f"CPU seconds over the run ({cores} cores: {cores * (stopped - started):.0f} s available; "
          "other work on the machine not counted): " + ", ".join(
              f"{k} {v:.0f}" for k, v in cpu.items() if v is not None))
    spent = sum(measured_cpu.values())
    print(f"CPU seconds in the measured {window[1] - window[0]:.0f} s (sampled every second): " + ", ".join(
        f"{k} {v:.0f}" for k, v in measured_cpu.items())
        + (f"; {1000 * spent / requests:.1f} ms of server CPU per request ({requests} requests)"
           if requests else ""))
    if failed:
        print("failures (occurrences, request, what):\n  " + "\n  ".join(failed[:20]))
    if "Traceback" in done.stderr:
        print("locust's log has a traceback:\n" + done.stderr[-3000:])
    print("\n".join(checks))
    print("\nresident memory of gunicorn's processes:\n" + "\n".join(rss.lines))
    verdict = ok and failures == 0 and not all_failures and (rss.flat or not args.soak)
    print(f"\n{'PASSED' if verdict else 'FAILED'}")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
