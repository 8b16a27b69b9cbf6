"""Scan processes with a simulated clock, for the scheduler fault scenarios.

A ``Stepper`` is a real child process (multiprocessing, spawned) holding one DAP app on one
database. The scenario sends it a simulated instant and which scans to run; the child pins
DAP's clock there (``dap.clock.freeze``), runs them exactly as a scheduler pass does
(``dap.jobs.runner.run_due``, or ``run_job`` one scan at a time) and answers with each
run's record. Sending the same instant to two steppers and waiting for both before the next
makes them race on the same simulated minute; killing one mid-scan (SIGKILL) is a crash.

The data is the jobs bench's programme (``bench/jobs_bench.py``: ``generate``), so a
scenario knows what is due when: Monday 2 March 2026, London (GMT), with check-in reminders
at 18:00, the patrons' Monday summary and the daily digests from 08:00, one participant in
five silent, day-before reminders for an event and 1:1 sessions on Tuesday evening.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent

#: the signing key and public address every driver's app uses, so that the same data gives
#: the same messages in every database (the address also names the Message-ID domain)
SECRET_KEY = "fault-scenarios-not-secret"  # noqa: S105 - throwaway databases only
BASE_URL = "https://dap.example.org"
MAIL_DOMAIN = "dap.example.org"
#: the scans that make messages (not delivery, webhooks or housekeeping), in registry order
GENERATING = ("event_reminders", "support_reminders", "checkin_reminders",
              "silent_participants", "patron_summaries", "event_feedback", "daily_digests")
#: how long the scenario waits for a child's answer before taking it for stuck
ANSWER_TIMEOUT = 240


class DriverError(Exception):
    """A stepper died or did not answer in time."""


@dataclass(frozen=True)
class Run:
    """One scan run as the child recorded it (dap.jobs.models.JobRun)."""

    job_id: str
    status: str
    result: str
    error: str
    duration_ms: int


# --- the child ------------------------------------------------------------------------------


def _serve(conn: Connection, database_url: str, mail_url: str, runner: str, log_level: str,
           instance: str) -> None:
    """The child's loop: build the app once, then run what it is sent until told to stop."""
    sys.path.insert(0, str(BENCH))  # jobs_bench and gunicorn_bench, for seeding
    os.environ["DAP_INSTANCE_PATH"] = instance
    from dap import clock, create_app
    from dap.extensions import db
    from dap.jobs import registry
    from dap.jobs.runner import run_due, run_job

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY,
        "BASE_URL": BASE_URL, "MAIL_URL": mail_url, "SCHEDULER": "off",
        "RATELIMIT_STORAGE_URI": "memory://", "LOG_LEVEL": log_level,
    })
    conn.send(("ready", os.getpid()))
    while True:
        command, *args = conn.recv()
        if command == "stop":
            break
        if command == "seed":
            import jobs_bench

            with app.app_context():
                jobs_bench.generate(args[0])
            conn.send(("done", []))
            continue
        at, job_ids = args
        clock.freeze(at)
        if job_ids is None:  # a whole pass, exactly as `jobs run-due` and the scheduler run it
            conn.send(("start", "*"))
            runs = run_due(app, runner=runner)
        else:
            runs = []
            for job_id in job_ids:
                job = registry.job_by_id(job_id)
                if job is None:
                    raise SystemExit(f"no job {job_id}")
                conn.send(("start", job_id))
                runs.append(run_job(app, job, runner=runner))
        conn.send(("done", [Run(r.job_id, r.status, r.result, r.error, r.duration_ms or 0)
                            for r in runs]))
    with app.app_context():
        db.engine.dispose()


# --- the scenario's side -------------------------------------------------------------------


class Stepper:
    """One scan process on ``database_url`` (see the module). ``runner`` names it in the
    job runs it records. Always ``close`` it (or use it as a context manager)."""

    def __init__(self, database_url: str, workdir: Path, *, runner: str, mail_url: str = "",
                 log_level: str = "WARNING") -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        instance = workdir / f"instance-{runner}"
        self.process = context.Process(
            target=_serve, name=runner, daemon=True,
            args=(child, database_url, mail_url, runner, log_level, str(instance)))
        self.process.start()
        child.close()
        self.runner = runner
        #: (job id, time.monotonic()) of each scan the child has started in the current step
        self.started: list[tuple[str, float]] = []
        self._finished: list[Run] | None = None  #: an answer poll_started read early
        self.finished_at = 0.0  #: time.monotonic() when the last answer arrived
        self.pid = self._answer("ready")

    def _answer(self, expected: str, timeout: float = ANSWER_TIMEOUT) -> object:
        """The child's next answer of kind ``expected``, noting "start" messages on the
        way."""
        if expected == "done" and self._finished is not None:
            finished, self._finished = self._finished, None
            return finished
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._conn.poll(left):
                raise DriverError(f"{self.runner} gave no {expected!r} within {timeout:.0f} s")
            try:
                kind, value = self._conn.recv()
            except EOFError:
                raise DriverError(f"{self.runner} exited ({self.process.exitcode}) before "
                                  f"{expected!r}") from None
            if kind == "start":
                self.started.append((value, time.monotonic()))
                continue
            if kind != expected:
                raise DriverError(f"{self.runner} answered {kind!r}, not {expected!r}")
            self.finished_at = time.monotonic()
            return value

    def seed(self, participants: int) -> None:
        """Write the jobs bench's programme for ``participants`` (whole cohorts of 250)."""
        self._conn.send(("seed", participants))
        self._answer("done")

    def begin(self, at: datetime, jobs: tuple[str, ...] | None = None) -> None:
        """Start running ``jobs`` (None: a whole ``run_due`` pass) at the simulated ``at``."""
        self.started, self._finished = [], None
        self._conn.send(("run", at, list(jobs) if jobs is not None else None))

    def wait(self, timeout: float = ANSWER_TIMEOUT) -> list[Run]:
        """The runs of the step begun last, once it has finished."""
        return self._answer("done", timeout)  # type: ignore[return-value]

    def step(self, at: datetime, jobs: tuple[str, ...] | None = None) -> list[Run]:
        self.begin(at, jobs)
        return self.wait()

    def poll_started(self) -> list[tuple[str, float]]:
        """Read the child's progress without waiting; returns every scan started so far.

        :raise DriverError: when the child has exited."""
        while self._conn.poll():
            try:
                kind, value = self._conn.recv()
            except EOFError:
                raise DriverError(f"{self.runner} exited ({self.process.exitcode})") from None
            if kind == "start":
                self.started.append((value, time.monotonic()))
            else:  # finished already: keep the answer for wait()
                self._finished, self.finished_at = value, time.monotonic()
                break
        return list(self.started)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the child."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self._conn.send(("stop",))
            self.process.join(timeout=15)
        if self.process.is_alive():
            self.kill()
        self._conn.close()

    def __enter__(self) -> Stepper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_all(steppers: list[Stepper], timeout: float = ANSWER_TIMEOUT) -> list[list[Run]]:
    """The runs of each stepper's current step, reading answers as they arrive, so that
    each one's ``started`` and ``finished_at`` say when it really ran."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = [s for s in steppers if s._finished is None]
        if not waiting:
            return [s.wait() for s in steppers]
        left = deadline - time.monotonic()
        if left <= 0:
            raise DriverError(f"{', '.join(s.runner for s in waiting)} gave no answer within "
                              f"{timeout:.0f} s")
        for conn in wait([s._conn for s in waiting], timeout=min(left, 1.0)):
            next(s for s in waiting if s._conn is conn).poll_started()  # raises if it died
