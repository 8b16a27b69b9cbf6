"""scheduler-kill: the process running the scans dies (SIGKILL) in the middle of its work.

What it breaks, twice, on a throwaway PostgreSQL database holding the jobs bench's
programme for 1,500 participants (sched_driver):

1. **A generating scan.** A scan process (sched_driver.Stepper, the clock pinned at Monday
   2 March 2026 18:05 London, when check-in reminders, silence notices, the patrons' Monday
   summary, day-before reminders and the daily digests are all due) runs every scan that
   makes messages, and is killed half-way through the check-in reminder scan (half of that
   scan's time in an uninterrupted run). A fresh process then runs them all again.
2. **Delivery.** The messages that made (about 2,500 emails) go to a local SMTP sink that
   takes a few milliseconds over each (mail_sink). ``flask --app dap jobs run-due`` delivers
   them and is killed when 40 % have arrived, at the worst moment: the sink has received a
   message and not yet answered it. ``jobs run-due`` is then run again until the outbox has
   drained.

What DAP promises (docs/ARCHITECTURE.md: scans and the outbox): a scan that is cut short
leaves nothing half-made and its rerun creates each message once (dedup keys) and skips
nobody; a delivery cut short loses no message, and sends none twice except a message that
was in flight at the kill, which stays claimed ("sending") until its claim is stale
(``STALE_CLAIM``, 10 minutes) and then goes again with the same Message-ID, so the receiver
can drop the copy.

How it checks: the killed-and-rerun database against a copy of it (``CREATE DATABASE …
TEMPLATE``) where the same scans ran uninterrupted: the same notifications and emails, by
dedup key, kind and email state. At the sink: every outbox row's Message-ID arrived, none
more than once except the rows in flight at the kill. And the job runs each process
recorded.

Two stand-ins, said in the notes: before delivery the cohorts are archived, because
``jobs run-due`` runs every scan at the real date (December 2026) and the programme's
cohorts would otherwise make new messages for today; and the claim of the message in
flight is moved back by ``STALE_CLAIM`` instead of waiting ten minutes for it to go stale.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import sched_data as sd
from jobs_bench import NOW
from mail_sink import MailSink
from sched_driver import GENERATING, Stepper
from verdict import Outcome

from dap.nudges.services import STALE_CLAIM

DESCRIPTION = ("SIGKILL a scan half-way and a delivery run with a message in flight; reruns "
               "make and send each message once, and skip none")

PARTICIPANTS = 1500
#: the scan that is cut short (the longest that makes messages)
KILLED_SCAN = "checkin_reminders"
#: the dedup keys of what KILLED_SCAN makes (dap.plans.reminders)
REMINDER_KEYS = ("reminder:checkin:", "reminder:lastchance:")
#: the sink's time over each message, in seconds (a remote server is slower still)
SINK_DELAY = 0.003
#: the share of the emails that has arrived when delivery is killed
KILL_SHARE = 0.4
#: `jobs run-due` runs after the kill, at most, before the outbox must have drained
DRAIN_RUNS = 4


def run(pg_server: str, workdir: Path) -> Outcome:
    outcome = Outcome("scheduler-kill")
    with sd.programme_database(pg_server, workdir, PARTICIPANTS) as url, \
            sd.cloned_database(pg_server, url) as control_url:
        kill_a_scan(url, control_url, workdir, outcome)
        kill_delivery(url, workdir, outcome)
    return outcome


def kill_a_scan(url: str, control_url: str, workdir: Path, outcome: Outcome) -> None:
    """Part 1: the scans uninterrupted on the copy; on the original, killed half-way
    through KILLED_SCAN, then run again by a new process."""
    with Stepper(control_url, workdir, runner="uninterrupted") as control:
        control_runs = {r.job_id: r for r in control.step(NOW, GENERATING)}
    scan_ms = control_runs[KILLED_SCAN].duration_ms

    with Stepper(url, workdir, runner="killed") as killed:
        killed.begin(NOW, GENERATING)
        deadline = time.monotonic() + 120
        began = None
        while began is None and time.monotonic() < deadline:
            began = next((at for job, at in killed.poll_started() if job == KILLED_SCAN), None)
            time.sleep(0.005)
        if began is None:
            outcome.check("the scan was killed half-way", False,
                          f"{KILLED_SCAN} never started: {killed.started}")
            return
        time.sleep(max(0.0, began + scan_ms / 2000 - time.monotonic()))
        killed_after_ms = (time.monotonic() - began) * 1000
        killed.kill()
    recorded = sd.job_runs(url)
    half = sd.notifications(url)
    reminders = [key for key in half if key.startswith(REMINDER_KEYS)]
    outcome.check(
        "the scan was killed half-way",
        KILLED_SCAN not in {job for job, _, _ in recorded},
        f"SIGKILL {killed_after_ms:.0f} ms into {KILLED_SCAN} (an uninterrupted run took "
        f"{scan_ms} ms); runs recorded before the kill: {len(recorded)} "
        f"({', '.join(job for job, _, _ in recorded)})")
    outcome.check(
        "a killed scan leaves nothing half-made",
        not reminders,
        f"reminders stored by the killed scan: {len(reminders)} (the uninterrupted run: "
        f"{control_runs[KILLED_SCAN].result}); notifications in the database after the kill: "
        f"{len(half)} (the seeded ones and those of the scans that finished before it)")

    with Stepper(url, workdir, runner="rerun") as rerun:
        rerun_runs = rerun.step(NOW, GENERATING)
    errors = [r for r in rerun_runs if r.status != "ok"]
    mine, theirs = sd.notifications(url), sd.notifications(control_url)
    mails, control_mails = sd.emails(url), sd.emails(control_url)
    same_notifications = mine == theirs
    same_emails = ({(m.dedup_key, m.kind, m.status) for m in mails}
                   == {(m.dedup_key, m.kind, m.status) for m in control_mails})
    kinds = Counter(kind for kind, _ in mine.values())
    outcome.check(
        "the rerun makes each message once and skips nobody",
        same_notifications and same_emails and not errors and len(mails) == len(control_mails),
        f"after kill + rerun: {len(mine)} notifications, {len(mails)} emails; uninterrupted: "
        f"{len(theirs)} notifications, {len(control_mails)} emails; same dedup keys, kinds and "
        f"email states: notifications {same_notifications}, emails {same_emails}; rerun "
        f"errors {len(errors)}; by kind {dict(sorted(kinds.items()))}")


def kill_delivery(url: str, workdir: Path, outcome: Outcome) -> None:
    """Part 2: `jobs run-due` killed with a message in flight, then run until drained."""
    sd.query(url, "UPDATE cohorts SET is_archived = true")
    queued = sd.emails(url)
    kill_at = int(len(queued) * KILL_SHARE)
    outcome.note(f"stand-in: the {PARTICIPANTS // 250} cohorts were archived before delivery, "
                 "so that `jobs run-due` at the real date makes no new messages for them")
    with MailSink(delay=SINK_DELAY, hold_at=kill_at) as sink:
        env = sd.cli_environment(url, workdir, sink.url)
        started = time.monotonic()
        first = sd.start_run_due(env, workdir / "run-due-killed.log")
        try:
            held = sink.wait_holding(timeout=sd.RUN_DUE_TIMEOUT)
        finally:
            first.kill()  # SIGKILL
            first.wait(timeout=10)
            sink.release()
        killed_after = time.monotonic() - started
        if held is None:
            outcome.check("delivery was killed with a message in flight", False,
                          f"only {sink.count()} of {len(queued)} arrived in "
                          f"{killed_after:.0f} s; `jobs run-due` exited {first.returncode}")
            return
        at_kill = sd.emails(url)
        in_flight = [m for m in at_kill if m.status == "sending"]
        sent_by_first = sum(m.status == "sent" for m in at_kill)
        outcome.check(
            "delivery was killed with a message in flight",
            [m.message_id for m in in_flight] == [held.message_id],
            f"SIGKILL {killed_after:.1f} s in, while the sink held message {kill_at} of "
            f"{len(queued)} unanswered; rows then: {sent_by_first} sent, {len(in_flight)} "
            f"sending (in flight), {sum(m.status == 'pending' for m in at_kill)} pending")

        drains = []
        for n in range(DRAIN_RUNS):
            code, line = sd.run_due(env, workdir / f"run-due-{n + 1}.log")
            drains.append((code, line))
            left = [m for m in sd.emails(url) if m.status == "pending"]
            if not left:
                break
        after_drain = sd.emails(url)
        still_claimed = [m for m in after_drain if m.status == "sending"]
        arrivals = sink.message_ids()
        outcome.check(
            "a message in flight stays claimed until its claim is stale",
            [m.id for m in still_claimed] == [m.id for m in in_flight]
            and all(arrivals[m.message_id] == 1 for m in in_flight)
            and all(code == 0 for code, _ in drains),
            f"{len(drains)} `jobs run-due` after the kill ({'; '.join(line for _, line in drains)}); "
            f"then {sum(m.status == 'pending' for m in after_drain)} pending, "
            f"{len(still_claimed)} still 'sending', received "
            f"{sum(arrivals[m.message_id] for m in in_flight)} time(s) so far")

        sd.query(url, "UPDATE outbox_messages SET claimed_at = claimed_at - :age "
                      "WHERE status = 'sending'", age=STALE_CLAIM)
        outcome.note(f"stand-in: the in-flight claim's claimed_at was moved back by "
                     f"{STALE_CLAIM.seconds // 60} minutes (STALE_CLAIM) instead of waiting "
                     "for it to go stale")
        code, line = sd.run_due(env, workdir / "run-due-stale.log")
        wall = time.monotonic() - started
        final = sd.emails(url)
        arrivals = sink.message_ids()
    expected = {m.message_id for m in final}
    statuses = Counter(m.status for m in final)
    twice = sd.repeated(arrivals)
    in_flight_ids = {m.message_id for m in in_flight}
    outcome.check(
        "nothing skipped: every email sent and received",
        statuses == Counter({"sent": len(queued)}) and expected <= set(arrivals)
        and set(arrivals) <= expected and code == 0,
        f"{len(queued)} queued; after the stale claim's run ({line}): "
        f"{dict(statuses)}; {len(set(arrivals) & expected)} of {len(expected)} Message-IDs "
        f"received, {len(set(arrivals) - expected)} unknown ones")
    outcome.check(
        "no duplicates beyond the messages in flight at the kill",
        set(twice) <= in_flight_ids and all(n == 2 for n in twice.values()),
        f"{sum(arrivals.values())} arrivals for {len(arrivals)} Message-IDs: "
        f"{len(twice)} received twice ({', '.join(twice) or 'none'}), "
        f"{len(in_flight)} in flight at the kill; a resend carries the same Message-ID")
    runs = sd.job_runs(url)
    by_runner = Counter(runner for _, runner, _ in runs if runner.startswith("cli@"))
    failed = [(job, runner) for job, runner, status in runs if status != "ok"]
    killed_runner = [runner for runner in by_runner if by_runner[runner] < 10]
    outcome.check(
        "job runs recorded",
        len(by_runner) == len(drains) + 2 and not failed
        and len(killed_runner) == 1 and by_runner[killed_runner[0]] == 7,
        f"{len(by_runner)} `jobs run-due` processes recorded runs: "
        f"{sorted(by_runner.values())} runs each (the killed one: the 7 scans before "
        f"delivery, no record of the delivery run it was in); {len(failed)} failed runs")
    outcome.note(f"delivery wall time {wall:.0f} s for {len(queued)} emails "
                 f"(sink delay {SINK_DELAY * 1000:.0f} ms a message)")
