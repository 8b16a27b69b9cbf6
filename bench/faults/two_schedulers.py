"""two-schedulers: two processes run every scan at the same moments, with no lease between
them, for a busy simulated hour; and two real scheduler processes share one lease.

What it breaks:

1. **The race.** On a throwaway PostgreSQL database holding the jobs bench's programme for
   750 participants (sched_driver), two processes (sched_driver.Stepper) each run a whole
   ``run_due`` pass, every registered scan including email delivery to a local SMTP sink,
   for each minute of Monday 2 March 2026 17:30-18:30 London (GMT), deliberately without
   the scheduler lease: the worst case, as if the lease were lost or two hosts ran cron.
   The scenario sends both processes the same simulated minute at once and waits for both
   before the next, so they race on every minute. That hour has real work: silence notices
   and their patron alerts, the patrons' Monday summary and the daily digests from the
   first minute; check-in reminders at 18:00; day-before reminders for Tuesday's 18:00
   workshop and 1:1 sessions from 18:00; the emails of all of them.
2. **The lease.** Two ``flask --app dap scheduler`` processes started together on an empty
   database: one must hold the lease and run the scans while the other waits; after the
   holder is killed (SIGKILL) the other takes over within the lease's time to live. The
   lease's timings are shortened (sched_lease: they are constants with no setting; with
   the real 90 s lease renewed every 30 s a takeover takes up to two minutes).

What DAP promises (docs/ARCHITECTURE.md, Scheduler): every message has a dedup key with a
unique constraint and every email is claimed before it is sent, so two scheduler processes
never make or send anything twice; one process holds the lease and a second waits
harmlessly.

How it checks: the same hour with one process, on a copy of the database made before the
race (the control). Every notification and email by dedup key, with its kind and email
state, must be the same in both; the sink must have received each sent email's Message-ID
exactly once; the totals by kind must equal the control's. For the lease: the job runs
recorded name one runner while both live, and the lease row names the other soon after the
kill.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gunicorn_bench as gb
import sched_data as sd
from mail_sink import MailSink
from sched_driver import Run, Stepper, wait_all
from verdict import Outcome

DESCRIPTION = ("two lease-less processes run every scan for the same simulated hour; two "
               "real schedulers share one lease")

PARTICIPANTS = 750
#: Monday 2 March 2026 17:30 in London (GMT, so UTC too); one pass per minute to 18:30
START = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
MINUTES = 61
#: the shortened lease (seconds): time to live, renewal, every scan's interval
LEASE_TTL = 8
LEASE_RENEW = 2
SCAN_EVERY = 3
#: how long both schedulers run before the holder is killed
BOTH_RUNNING = 12
SLACK = 3  #: seconds allowed on top of TTL + renewal for processes to be scheduled


@dataclass
class Hour:
    """What one simulated hour left: the job runs, the sink's arrivals, timings."""

    runs: dict[str, list[Run]]
    arrivals: Counter[str]
    seconds: float
    #: seconds during which both processes were running the same minute
    overlap: float
    #: the largest gap between the two processes' starts of one minute, in seconds
    start_gap: float


def run(pg_server: str, workdir: Path) -> Outcome:
    outcome = Outcome("two-schedulers")
    with sd.programme_database(pg_server, workdir, PARTICIPANTS) as url, \
            sd.cloned_database(pg_server, url) as control_url:
        control = simulate_hour(control_url, workdir, ("control",))
        race = simulate_hour(url, workdir, ("racer-a", "racer-b"))
        compare(url, control_url, race, control, outcome)
    lease_takeover(pg_server, workdir, outcome)
    return outcome


def simulate_hour(url: str, workdir: Path, runners: tuple[str, ...]) -> Hour:
    """One ``run_due`` pass per simulated minute in each of ``runners``' processes, all
    sent the same minute at once."""
    runs: dict[str, list[Run]] = {name: [] for name in runners}
    overlap = start_gap = 0.0
    with MailSink() as sink, contextlib.ExitStack() as stack:
        steppers = [stack.enter_context(Stepper(url, workdir, runner=name, mail_url=sink.url))
                    for name in runners]
        started = time.monotonic()
        for minute in range(MINUTES):
            for stepper in steppers:
                stepper.begin(START + timedelta(minutes=minute))
            for stepper, step in zip(steppers, wait_all(steppers), strict=True):
                runs[stepper.runner].extend(step)
            if len(steppers) == 2:
                (a_start, a_end), (b_start, b_end) = [
                    (s.started[0][1], s.finished_at) for s in steppers]
                overlap += max(0.0, min(a_end, b_end) - max(a_start, b_start))
                start_gap = max(start_gap, abs(a_start - b_start))
        seconds = time.monotonic() - started
        arrivals = sink.message_ids()
    return Hour(runs, arrivals, seconds, overlap, start_gap)


def _sent(runs: list[Run], job_id: str) -> int:
    """What a scan's runs say they made or sent: the number after the first word of each
    result ("sent 12, will retry 0, …", "sent 1000 reminders")."""
    total = 0
    for run in runs:
        words = run.result.split()
        if run.job_id == job_id and len(words) > 1 and words[1].rstrip(",").isdigit():
            total += int(words[1].rstrip(","))
    return total


def compare(url: str, control_url: str, race: Hour, control: Hour, outcome: Outcome) -> None:
    a, b = race.runs["racer-a"], race.runs["racer-b"]
    outcome.check(
        "the two processes raced on every minute",
        len(a) == len(b) == len(control.runs["control"]) and race.overlap > 0,
        f"{MINUTES} simulated minutes, {len(a)} + {len(b)} scan runs (control: "
        f"{len(control.runs['control'])}); both busy on the same minute for "
        f"{race.overlap:.1f} s of {race.seconds:.1f} s; starts of a minute at most "
        f"{race.start_gap * 1000:.0f} ms apart; emails each sent: "
        f"{_sent(a, 'deliver_outbox')} + {_sent(b, 'deliver_outbox')}; check-in reminders "
        f"each made: {_sent(a, 'checkin_reminders')} + {_sent(b, 'checkin_reminders')}")
    errors = [f"{r.job_id}: {r.error.splitlines()[0][:160]}" for r in a + b if r.status != "ok"]
    control_errors = [r for r in control.runs["control"] if r.status != "ok"]
    outcome.check(
        "no scan failed in either process",
        not errors and not control_errors,
        f"{len(errors)} failed runs in the race ({'; '.join(sorted(set(errors))[:3]) or 'none'}), "
        f"{len(control_errors)} in the control")

    notes, control_notes = sd.notifications(url), sd.notifications(control_url)
    mails, control_mails = sd.emails(url), sd.emails(control_url)
    outcome.check(
        "every notification once, as with one process",
        notes == control_notes,
        f"{len(notes)} notifications (control {len(control_notes)}); same dedup keys, kinds "
        f"and email states: {notes == control_notes}; "
        f"{len(set(notes) ^ set(control_notes))} keys in one only, "
        f"{sum(notes[k] != control_notes[k] for k in set(notes) & set(control_notes))} "
        "with another kind or email state")
    rows = {(m.dedup_key, m.kind, m.status) for m in mails}
    control_rows = {(m.dedup_key, m.kind, m.status) for m in control_mails}
    outcome.check(
        "every email once in the outbox, as with one process",
        rows == control_rows and len(mails) == len(control_mails),
        f"{len(mails)} emails (control {len(control_mails)}), statuses "
        f"{dict(Counter(m.status for m in mails))} (control "
        f"{dict(Counter(m.status for m in control_mails))}); same dedup keys, kinds and "
        f"statuses: {rows == control_rows}")

    for name, hour, outbox in (("race", race, mails), ("control", control, control_mails)):
        sent = {m.message_id for m in outbox if m.status == "sent"}
        twice = sd.repeated(hour.arrivals)
        outcome.check(
            f"each email received exactly once at the sink ({name})",
            set(hour.arrivals) == sent and not twice,
            f"{sum(hour.arrivals.values())} arrivals, {len(hour.arrivals)} Message-IDs, "
            f"{len(twice)} received more than once; {len(sent)} rows sent, "
            f"{len(sent - set(hour.arrivals))} of them never received, "
            f"{len(set(hour.arrivals) - sent)} arrivals not sent according to the outbox")

    kind_of = {m.message_id: m.kind for m in mails}
    control_kind_of = {m.message_id: m.kind for m in control_mails}
    received = Counter(kind_of.get(mid, "?") for mid in race.arrivals.elements())
    control_received = Counter(control_kind_of.get(mid, "?")
                               for mid in control.arrivals.elements())
    note_kinds = Counter(kind for kind, _ in notes.values())
    control_note_kinds = Counter(kind for kind, _ in control_notes.values())
    outcome.check(
        "totals by kind equal the control's",
        received == control_received and note_kinds == control_note_kinds
        and sd.by_kind(mails) == sd.by_kind(control_mails),
        f"emails received by kind {dict(sorted(received.items()))} (control equal: "
        f"{received == control_received}); notifications by kind equal: "
        f"{note_kinds == control_note_kinds}; outbox by kind equal: "
        f"{sd.by_kind(mails) == sd.by_kind(control_mails)}")
    outcome.note(f"wall time: control hour {control.seconds:.0f} s (one process), race hour "
                 f"{race.seconds:.0f} s (two)")


def lease_takeover(pg_server: str, workdir: Path, outcome: Outcome) -> None:
    """Two real scheduler processes on an empty database: one leads; kill it, the other
    takes over."""
    with gb.throwaway_database("postgresql", workdir, pg_server) as url:
        sd.migrate(url, workdir)
        env = sd.cli_environment(url, workdir)
        env["DAP_LOG_LEVEL"] = "INFO"
        command = [sys.executable, str(Path(__file__).with_name("sched_lease.py")),
                   str(LEASE_TTL), str(LEASE_RENEW), str(SCAN_EVERY)]
        processes: list[subprocess.Popen] = []
        try:
            for n in range(2):
                with open(workdir / f"scheduler-{n}.log", "ab") as log:
                    processes.append(subprocess.Popen(  # noqa: S603 - our own script
                        command, cwd=gb.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            _lease_checks(url, processes, workdir, outcome)
        finally:
            for process in processes:
                gb.stop_process(process)


def _holder_pid(holder: str) -> int:
    return int(holder.rsplit(":", 1)[1])


def _lease_checks(url: str, processes: list[subprocess.Popen], workdir: Path,
                  outcome: Outcome) -> None:
    time.sleep(BOTH_RUNNING)
    runs = sd.job_runs(url)
    lease = sd.lease_holder(url)
    runners = Counter(runner for _, runner, _ in runs)
    pids = {process.pid for process in processes}
    alive = [process.poll() is None for process in processes]
    leader = _holder_pid(lease[0]) if lease else None
    outcome.check(
        "two schedulers started together: one holds the lease and runs the scans",
        lease is not None and leader in pids and all(alive)
        and set(runners) == {lease[0]} and runs,
        f"after {BOTH_RUNNING} s: both alive {all(alive)}; lease held by "
        f"{lease[0] if lease else 'nobody'}; {len(runs)} job runs, by "
        f"{len(runners)} runner(s) {dict(runners)} (lease {LEASE_TTL} s, renewed every "
        f"{LEASE_RENEW} s, scans every {SCAN_EVERY} s)")
    if lease is None or leader not in pids:
        return
    leading = next(p for p in processes if p.pid == leader)
    other = next(p for p in processes if p.pid != leader)
    leading.kill()
    leading.wait(timeout=10)
    killed = time.monotonic()
    killed_at = datetime.now(UTC)
    took_lease = first_run = None
    deadline = killed + LEASE_TTL + LEASE_RENEW + SCAN_EVERY + 3 * SLACK
    while time.monotonic() < deadline and (took_lease is None or first_run is None):
        now = time.monotonic() - killed
        holder = sd.lease_holder(url)
        if took_lease is None and holder and _holder_pid(holder[0]) == other.pid:
            took_lease = now
        if first_run is None and took_lease is not None and any(
                runner.endswith(f":{other.pid}") for _, runner, _ in sd.job_runs(url)):
            first_run = now
        time.sleep(0.2)
    after = sd.query(url, "SELECT runner, count(*) FROM job_runs WHERE started_at >= :at "
                          "GROUP BY runner", at=killed_at)
    before = sd.query(url, "SELECT count(*) FROM job_runs WHERE started_at < :at "
                           "AND runner LIKE :other", at=killed_at, other=f"%:{other.pid}")
    limit = LEASE_TTL + LEASE_RENEW + SLACK
    outcome.check(
        "the second takes over within the lease's time to live after the first is killed",
        took_lease is not None and took_lease <= limit and first_run is not None
        and other.poll() is None and before[0][0] == 0,
        f"lease taken {took_lease if took_lease is None else round(took_lease, 1)} s after "
        f"the SIGKILL (at most {limit} s: lease {LEASE_TTL} s + renewal {LEASE_RENEW} s + "
        f"{SLACK} s), first job run by it "
        f"{first_run if first_run is None else round(first_run, 1)} s after; runs by it "
        f"before the kill: {before[0][0]}; runs since, by runner: "
        f"{ {runner.rsplit(':', 1)[1]: n for runner, n in after} }")
    outcome.note("the lease timings are constants in dap/jobs/scheduler.py (LEASE_TTL 90 s, "
                 "LEASE_RENEW_SECONDS 30 s) with no setting; sched_lease.py shortens them in "
                 "the `flask --app dap scheduler` processes it starts")
