"""The heartbeat against /healthz over real HTTP: gunicorn with 4 workers on 127.0.0.1.

Run through bench/run.py (``--server gunicorn``)::

    .venv/bin/python bench/run.py --server gunicorn --database sqlite
    .venv/bin/python bench/run.py --server gunicorn --database postgresql

It creates a throwaway database (a SQLite file in a temporary folder, or a new PostgreSQL
database that is dropped at the end), runs ``flask --app dap db upgrade`` and
``flask --app dap demo`` against it, starts gunicorn (``wsgi:app``) on a free loopback
port, signs one client thread in as each of several demo participants through the real
form, and measures ``GET /healthz`` (anonymous) and ``POST /time/heartbeat`` with the
same number of concurrent client threads for a fixed time each. gunicorn is stopped and
the database dropped on the way out, whatever happened. See bench/README.md.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine, create_engine, make_url, text

from dap.demo import DEMO_PASSWORD, PARTICIPANTS

ROOT = Path(__file__).resolve().parent.parent

#: where throwaway PostgreSQL databases are created (any database on that server will do)
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WORKERS = 4
FORM_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
META_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SETUP_TIMEOUT = 60  # seconds for each of db upgrade, demo, gunicorn's start
REQUEST_TIMEOUT = 30


class BenchError(Exception):
    """Something the bench cannot go on from; the message says what."""


# --- throwaway databases ------------------------------------------------------------------------


def pg_server_url(cli_value: str | None) -> str:
    return cli_value or os.environ.get("DAP_BENCH_DATABASE_URL") or DEFAULT_PG_SERVER


@contextlib.contextmanager
def throwaway_database(kind: str, workdir: Path, pg_server: str) -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL. PostgreSQL databases are dropped
    (``WITH (FORCE)``) on the way out; SQLite files go with ``workdir``."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    with postgres_database(pg_server, "dap_bench") as url:
        yield url


@contextlib.contextmanager
def postgres_database(pg_server: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database on ``pg_server`` named ``prefix`` and a random suffix, empty or a copy
    of ``template`` (nobody may be connected to that meanwhile); yields its URL and drops it
    (``WITH (FORCE)``) on the way out."""
    server = make_url(pg_server)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- CPU time from /proc (Linux; None elsewhere) ---------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of ``pids`` so far (None when /proc cannot tell)."""
    total = 0.0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            return None
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry.name))
    return sorted(found)


# --- gunicorn -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_environment(database_url: str, workdir: Path, port: int) -> dict[str, str]:
    """A production configuration on loopback: own instance folder, quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAP_")}
    env.update({
        "DAP_ENV": "production",
        "DAP_SECRET_KEY": secrets.token_hex(32),
        "DAP_DATABASE_URL": database_url,
        "DAP_INSTANCE_PATH": str(workdir / "instance"),
        "DAP_BASE_URL": f"http://127.0.0.1:{port}",
        "DAP_SCHEDULER": "off",
        "DAP_LOG_LEVEL": "WARNING",  # no line per request, as in the in-process bench
        "PYTHONUNBUFFERED": "1",
    })
    return env


def flask_cli(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "-m", "flask", "--app", "dap", *args]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=SETUP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`flask {' '.join(args)}` took more than {SETUP_TIMEOUT} s") from None
    if done.returncode != 0:
        raise BenchError(f"`flask {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path
    workers: list[int] = field(default_factory=list)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_gunicorn(env: dict[str, str], port: int, workdir: Path, wsgi: str = "wsgi:app") -> Server:
    log_path = workdir / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
               "--error-logfile", str(log_path), "--graceful-timeout", "5", wsgi]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,  # noqa: S603
                                   stderr=subprocess.STDOUT)
    server = Server(process=process, port=port, log_path=log_path)
    deadline = time.monotonic() + SETUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
        try:
            status, _ = Client(port).request("GET", "/healthz")
        except OSError:
            status = 0
        workers = children_of(process.pid)
        if status == 200 and len(workers) >= WORKERS:
            server.workers = workers
            return server
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer /healthz within {SETUP_TIMEOUT} s:\n"
                     f"{server.log_tail()}")


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM ``process`` if it still runs, SIGKILL after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def stop_gunicorn(server: Server) -> None:
    """SIGTERM the master (it stops its workers), SIGKILL after 10 s; then make sure no
    worker it started is left (by pid)."""
    process = server.process
    workers = server.workers or children_of(process.pid)
    stop_process(process)
    for pid in workers:  # a worker that outlived its master (still running gunicorn)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- the client ---------------------------------------------------------------------------------


class Client:
    """One browser: a cookie jar and a new connection per request (gunicorn's sync workers
    close the connection after each response)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}

    def send(self, conn: http.client.HTTPConnection, method: str, path: str,
             body: bytes | None = None, headers: dict[str, str] | None = None,
             agent: str = "dap-bench") -> tuple[http.client.HTTPResponse, bytes]:
        """Send a request on ``conn`` with this browser's cookies and headers; the answer
        and its body. The cookies are not updated."""
        sent = {"User-Agent": agent, **self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST" and body is None:
            body = b""
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response, response.read()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            response, data = self.send(conn, method, path, body, headers)
            for header in response.msg.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel.value == "" or morsel["max-age"] == "0":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, data
        finally:
            conn.close()


def sign_in_participant(port: int, email: str) -> Client:
    """Sign in through the form and keep the page's CSRF token for the heartbeat."""
    client = Client(port)
    status, page = client.request("GET", "/login")
    match = FORM_CSRF_RE.search(page.decode())
    if status != 200 or not match:
        raise BenchError(f"GET /login answered {status} without a CSRF token")
    form = urlencode({"csrf_token": next(g for g in match.groups() if g), "email": email,
                      "password": DEMO_PASSWORD}).encode()
    status, _ = client.request("POST", "/login", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 302:
        raise BenchError(f"signing in as {email} answered {status}")
    status, page = client.request("GET", "/")
    meta = META_CSRF_RE.search(page.decode())
    if status != 200 or not meta:
        raise BenchError(f"GET / as {email} answered {status} without <meta name=csrf-token>")
    client.headers["X-CSRFToken"] = meta.group(1)
    status, body = client.request("POST", "/time/heartbeat")
    if status != 200 or b"platform_minutes" not in body:
        raise BenchError(f"the first heartbeat of {email} answered {status}: {body[:200]!r}")
    return client


# --- load ---------------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    rps: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    server_cpu_ms: float | None  # gunicorn workers' CPU per request
    db_cpu_ms: float | None  # PostgreSQL backends' CPU per request (None on SQLite)
    first_error: str = ""


def run_load(clients: list[Client], send: Callable[[Client], tuple[int, bytes]], expect: int,
             seconds: float, cpu_pids: list[int], db_pids: list[int]) -> Load:
    """Every client in its own thread, sending back to back for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in clients]
    errors = [0] * len(clients)
    first_error: list[str] = []
    start = threading.Barrier(len(clients) + 1)
    deadline = 0.0

    def worker(i: int) -> None:
        start.wait()
        mine = latencies[i]
        while True:
            t0 = time.perf_counter()
            try:
                status, body = send(clients[i])
            except OSError as error:
                status, body = 0, str(error).encode()
            t1 = time.perf_counter()
            if status == expect:
                mine.append(t1 - t0)
            else:
                errors[i] += 1
                if not first_error:
                    first_error.append(f"{status}: {body[:200]!r}")
            if t1 >= deadline:
                return

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    cpu_before, db_before = cpu_seconds(cpu_pids), cpu_seconds(db_pids) if db_pids else None
    started = time.perf_counter()
    deadline = started + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + REQUEST_TIMEOUT + 5)
    elapsed = time.perf_counter() - started
    cpu_after, db_after = cpu_seconds(cpu_pids), cpu_seconds(db_pids) if db_pids else None
    merged = sorted(x for per in latencies for x in per)
    n = len(merged)
    if n == 0:
        raise BenchError(f"no request succeeded; first error {first_error[:1]}")

    def per_request(before: float | None, after: float | None) -> float | None:
        return None if before is None or after is None else (after - before) * 1000 / n

    quantiles = statistics.quantiles(merged, n=20, method="inclusive") if n > 1 else [merged[0]] * 19
    return Load(requests=n, errors=sum(errors), seconds=round(elapsed, 3), rps=n / elapsed,
                mean_ms=statistics.fmean(merged) * 1000, p50_ms=statistics.median(merged) * 1000,
                p95_ms=quantiles[18] * 1000, server_cpu_ms=per_request(cpu_before, cpu_after),
                db_cpu_ms=per_request(db_before, db_after),
                first_error=first_error[0] if first_error else "")


def postgres_backends(database_url: str, engine: Engine | None = None) -> list[int]:
    """The server processes serving ``database_url``'s database (the workers' pooled
    connections), when PostgreSQL runs on this machine and /proc shows them. Asks through
    ``engine`` when given (one kept for repeated lookups), else through a connection of its
    own."""
    url = make_url(database_url)
    if url.host not in ("127.0.0.1", "localhost", None):
        return []
    asking = engine or create_engine(url)
    try:
        with asking.connect() as conn:
            pids = list(conn.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")))
    finally:
        if engine is None:
            asking.dispose()
    return pids if cpu_seconds(pids) is not None else []


def run(database: str, seconds: float, client_count: int, pg_server: str,
        wsgi: str = "wsgi:app") -> dict:
    emails = [email for email, _, _ in PARTICIPANTS]
    with tempfile.TemporaryDirectory(prefix="dap-bench-http-") as tmp:
        workdir = Path(tmp)
        with throwaway_database(database, workdir, pg_server) as database_url:
            port = free_port()
            env = app_environment(database_url, workdir, port)
            setup_started = time.perf_counter()
            flask_cli(env, "db", "upgrade")
            flask_cli(env, "demo")
            server = start_gunicorn(env, port, workdir, wsgi)
            try:
                # One session per demo participant; more clients than participants share.
                sessions = [sign_in_participant(port, email)
                            for email in emails[:min(client_count, len(emails))]]
                beaters = [sessions[i % len(sessions)] for i in range(client_count)]
                anonymous = [Client(port) for _ in range(client_count)]
                db_pids = []
                setup_seconds = time.perf_counter() - setup_started

                def healthz(client: Client) -> tuple[int, bytes]:
                    return client.request("GET", "/healthz")

                def heartbeat(client: Client) -> tuple[int, bytes]:
                    return client.request("POST", "/time/heartbeat")

                warm = min(1.0, seconds)
                run_load(anonymous, healthz, 200, warm, [], [])
                run_load(beaters, heartbeat, 200, warm, [], [])
                if database == "postgresql":
                    db_pids = postgres_backends(database_url)
                results = {
                    "healthz": run_load(anonymous, healthz, 200, seconds, server.workers, db_pids),
                    "heartbeat": run_load(beaters, heartbeat, 200, seconds, server.workers,
                                          db_pids),
                }
            except BaseException:
                sys.stderr.write(f"gunicorn log:\n{server.log_tail()}\n")
                raise
            finally:
                stop_gunicorn(server)
    base = results["healthz"].rps

    def cpu(r: Load) -> float | None:
        return None if r.server_cpu_ms is None else r.server_cpu_ms + (r.db_cpu_ms or 0.0)

    healthz_cpu, heartbeat_cpu = cpu(results["healthz"]), cpu(results["heartbeat"])
    return {
        # what the ratio tends to when the server's CPU is the limit (clients elsewhere)
        "cpu_ratio": (healthz_cpu / heartbeat_cpu if healthz_cpu and heartbeat_cpu else None),
        "setup_seconds": round(setup_seconds, 1),
        "clients": client_count,
        "participants": len(sessions),
        "workers": WORKERS,
        "database": database,
        "wsgi": wsgi,
        "db_backends_measured": len(db_pids),
        "results": [{"name": name, "vs_healthz": r.rps / base, **r.__dict__}
                    for name, r in results.items()],
    }


def print_report(report: dict) -> None:
    print(f"DAP bench · {report['date']} · Python {report['python']} · {report['platform']}")
    print(f"gunicorn {report['workers']} sync workers ({report['wsgi']}) on 127.0.0.1, "
          f"{report['database']}, "
          f"{report['clients']} client threads ({report['participants']} participants signed in), "
          f"{report['seconds_per_case']:g} s per case, {report['cpus']} CPUs shared with the "
          "clients\n")
    header = (f"{'case':<10} {'requests':>8} {'req/s':>8} {'vs healthz':>10} {'p50 ms':>7} "
              f"{'p95 ms':>7} {'mean ms':>7} {'errors':>6} {'worker CPU ms/req':>17} "
              f"{'PG CPU ms/req':>13}")
    print(header)
    print("-" * len(header))

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for r in report["results"]:
        print(f"{r['name']:<10} {r['requests']:>8} {r['rps']:>8.0f} {r['vs_healthz']:>10.2f} "
              f"{r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} {r['mean_ms']:>7.2f} {r['errors']:>6} "
              f"{ms(r['server_cpu_ms']):>17} {ms(r['db_cpu_ms']):>13}")
        if r["first_error"]:
            print(f"           first unexpected answer: {r['first_error']}")
    ratio = report["results"][1]["vs_healthz"]
    print(f"\nheartbeat / healthz = {ratio:.2f} (target at least 0.6: "
          f"{'met' if ratio >= 0.6 else 'NOT met'})")
    if report["cpu_ratio"] is not None:
        print(f"by server CPU per request (workers{' + PostgreSQL' if report['db_backends_measured'] else ''}"
              f"): {report['cpu_ratio']:.2f}")
