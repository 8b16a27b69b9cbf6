"""What the database and disk scenarios (pg-restart, slow-db, disk-full) share: seeding a
throwaway database, signing participants in, requests recorded with their times, status
and headers (and whether a 503 was a clean one), figures from gunicorn's request log, and
the load test's checks of the database (bench/load)."""

from __future__ import annotations

import http.client
import importlib.util
import json
import math
import re
import statistics
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import gunicorn_bench as gb

LOAD_DIR = gb.ROOT / "bench" / "load"
UNAVAILABLE_PAGE = b"DAP is unavailable for a moment"  # the 503 page's title
_REQUEST_LINE = re.compile(r"method=(\w+) path=(\S+) status=(\d+) duration_ms=([\d.]+)")


def load_checks() -> ModuleType:
    """bench/load/run.py, for its ``snapshot`` (each participant's platform seconds and last
    beat) and ``verify`` (check-ins stored once, platform seconds within what the beats
    allow, one row per participant-day). Loaded by path: bench/faults/run.py has the name."""
    if str(LOAD_DIR) not in sys.path:
        sys.path.insert(0, str(LOAD_DIR))  # its own imports: check, memory
    spec = importlib.util.spec_from_file_location("load_run", LOAD_DIR / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed(env: dict[str, str], participants: int | None = None) -> float:
    """Migrate, then ``flask demo`` (or ``demo --scale N``); the seconds it took."""
    started = time.perf_counter()
    gb.flask_cli(env, "db", "upgrade")
    gb.flask_cli(env, "demo", *(["--scale", str(participants)] if participants else []))
    return time.perf_counter() - started


def sign_in_all(port: int, emails: list[str]) -> list[gb.Client]:
    """Each through the real form (4 at a time, as many as gunicorn has workers)."""
    with ThreadPoolExecutor(max_workers=gb.WORKERS) as pool:
        return list(pool.map(lambda email: gb.sign_in_participant(port, email), emails))


@dataclass(frozen=True)
class Answer:
    """One request as the client saw it. ``status`` 0: no HTTP answer at all (refused,
    reset, timed out): what a dropped connection looks like."""

    kind: str  #: what was asked, e.g. "heartbeat", "check-in", "healthz"
    who: int  #: the participant's number (-1: anonymous)
    sent: float  #: time.time() when sent
    answered: float  #: time.time() when the answer (or the error) came
    status: int
    content_type: str = ""
    retry_after: str | None = None
    replayed: bool = False  #: Idempotent-Replayed: true
    body: bytes = b""
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.answered - self.sent

    @property
    def clean_503(self) -> bool:
        """A 503 that says what it is: the styled page, or problem details with status 503,
        and a Retry-After."""
        if self.status != 503 or not self.retry_after:
            return False
        if self.content_type.startswith("application/problem+json"):
            try:
                return json.loads(self.body).get("status") == 503
            except ValueError:
                return False
        return self.content_type.startswith("text/html") and UNAVAILABLE_PAGE in self.body


def fetch(client: gb.Client, kind: str, who: int, method: str, path: str,
          body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    """A request with ``client``'s cookies and headers, kept with its headers (which
    ``Client.request`` does not return); its cookies are not updated (a signed-in
    session's cookie stays good)."""
    sent = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=gb.REQUEST_TIMEOUT)
    try:
        response, data = client.send(conn, method, path, body, headers, agent="dap-fault")
        return Answer(kind, who, sent, time.time(), response.status,
                      response.getheader("Content-Type", ""), response.getheader("Retry-After"),
                      response.getheader("Idempotent-Replayed") == "true", data)
    except (OSError, http.client.HTTPException) as error:
        return Answer(kind, who, sent, time.time(), 0, error=f"{type(error).__name__}: {error}")
    finally:
        conn.close()


def ms(seconds: Iterable[float]) -> str:
    """``p50 … ms, p95 … ms, max … ms (n …)`` of durations in seconds."""
    values = sorted(seconds)
    if not values:
        return "none"
    p95 = values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]
    return (f"p50 {statistics.median(values) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {values[-1] * 1000:.0f} ms (n {len(values)})")


def statuses(answers: Iterable[Answer]) -> str:
    """``200×312, 503×40`` (0 stands for no HTTP answer)."""
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return ", ".join(f"{status}×{n}" for status, n in sorted(counts.items())) or "none"


def logged_requests(log_path: Path) -> list[tuple[str, str, int, float]]:
    """(method, path, status, seconds) of every request line in gunicorn's log (the app
    logs one per request at INFO: run it with ``DAP_LOG_LEVEL=INFO``)."""
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        match = _REQUEST_LINE.search(line)
        if match:
            method, path, status, duration = match.groups()
            found.append((method, path, int(status), float(duration) / 1000))
    return found
