"""smtp-down: the mail server is down while a busy hour's emails are queued.

What it breaks: on a throwaway PostgreSQL database holding the jobs bench's programme for
500 participants (sched_driver), one scan process runs a whole ``run_due`` pass (every
scan, email delivery included) for each simulated minute from Monday 2 March 2026 17:30
London, as the scheduler would. The SMTP server (mail_sink) is down, nothing listening on
its port, from 17:30 until 18:15: the silence notices, patron summaries and digests of
17:30 and the check-in reminders of 18:00 are all queued while it is down. Then it comes
up, and the minutes go on until everything queued during the outage has gone.

What DAP promises (dap.nudges.services): an email that cannot be sent stays in the outbox,
its attempts counted, and is tried again after about 1 minute, 5 minutes, 30 minutes, 2
hours and 12 hours (``RETRY_WAITS``), never into its person's quiet hours (a retry that
would fall there waits for 08:00, as the email itself did when queued); only after the
sixth attempt is it given up. So an outage shorter than that loses nothing and fails
nothing, and each email arrives once after the server is back, none in quiet hours.

How it checks: at the last minute of the outage, every email queued so far is pending,
none sent or failed, and each one's attempts and next attempt are exactly what the
schedule gives from the minute it was queued. Afterwards: every email received exactly once
by Message-ID, none failed, none sent in its person's quiet hours, and the simulated
minute the outbox drained (the last outage email sent), counted from the start and from
the server's return. Once the server is back, minutes when nothing is due are skipped (the
clock jumps to the next attempt), so the night's wait costs no passes.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sched_data as sd
from mail_sink import MailSink
from sched_driver import Stepper
from verdict import Outcome

from dap.nudges.governance import QUIET_END, QUIET_START, after_quiet_hours
from dap.nudges.services import backoff

DESCRIPTION = ("the SMTP server is down for 45 simulated minutes of a busy hour: nothing lost "
               "or failed, each email received once after it returns")

PARTICIPANTS = 500
#: Monday 2 March 2026 17:30 in London (GMT, so UTC too)
START = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
OUTAGE = timedelta(minutes=45)
#: the simulated span at most: the retries that wait out the night must fit
MAX_MINUTES = 24 * 60
#: every person of the programme lives in London (sched_data)
ZONE = ZoneInfo("Europe/London")

#: emails sent in their recipient's quiet hours (local time), though planned outside them
QUIET_SENDS = (
    "SELECT count(*) FROM outbox_messages o JOIN users u ON u.id = o.user_id "
    "WHERE o.status = 'sent' AND o.planned_at IS NOT NULL "
    "AND ((o.sent_at AT TIME ZONE u.timezone)::time >= :start "
    "OR (o.sent_at AT TIME ZONE u.timezone)::time < :end) "
    "AND (o.planned_at AT TIME ZONE u.timezone)::time < :start "
    "AND (o.planned_at AT TIME ZONE u.timezone)::time >= :end")


def expected_attempts(queued: datetime, until: datetime) -> tuple[int, datetime]:
    """Attempts made by ``until`` (all failing) on an email first tried the minute it was
    queued, one delivery pass a minute, and the time of its next attempt."""
    attempts, attempt_at = 0, queued
    while attempt_at <= until:
        attempts += 1
        attempt_at = after_quiet_hours(attempt_at + backoff(attempts), ZONE)
    return attempts, attempt_at


def run(pg_server: str, workdir: Path) -> Outcome:
    outcome = Outcome("smtp-down")
    up_at = START + OUTAGE
    with sd.programme_database(pg_server, workdir, PARTICIPANTS) as url:
        sink = MailSink()  # not started: nothing listens on its port
        try:
            with Stepper(url, workdir, runner="scheduler", mail_url=sink.url,
                         log_level="ERROR") as stepper:
                started = time.monotonic()
                minute, steps, retried, drained_at = 0, 0, 0, None
                while minute < MAX_MINUTES:
                    at = START + timedelta(minutes=minute)
                    if at >= up_at and not sink.is_up:
                        during = sd.emails(url)
                        outage_checks(during, at - timedelta(minutes=1), outcome)
                        sink.start()
                    runs = stepper.step(at)
                    retried += sum(int(r.result.split("retry ")[1].split(",")[0])
                                   for r in runs if r.job_id == "deliver_outbox")
                    if sink.is_up:
                        pending = [m for m in sd.emails(url)
                                   if m.created_at < up_at and m.status != "sent"]
                        if not pending:
                            drained_at = at
                            break
                        due = min(m.next_attempt_at for m in pending)
                        if due > at + timedelta(minutes=1):  # nothing due until then
                            minute = max(minute, -(-(due - START) // timedelta(minutes=1)) - 1)
                    minute += 1
                    steps += 1
                seconds = time.monotonic() - started
            final = sd.emails(url)
            arrivals = sink.message_ids()
            quiet = sd.query(url, QUIET_SENDS, start=QUIET_START, end=QUIET_END)[0][0]
        finally:
            sink.stop()
    if not any(c.name.startswith("during the outage") for c in outcome.checks):
        outcome.check("during the outage", False, "the outage never ended")
        return outcome
    after_checks(final, arrivals, drained_at, up_at, retried, outcome)
    outcome.check("no retry sent in its person's quiet hours", quiet == 0,
                  f"{quiet} emails planned outside quiet hours ({QUIET_START:%H:%M}-"
                  f"{QUIET_END:%H:%M}, dap.nudges.governance) were sent inside them")
    outcome.note(f"{minute + 1} simulated minutes, {steps} passes, in {seconds:.0f} s")
    return outcome


def outage_checks(rows: list[sd.Email], last: datetime, outcome: Outcome) -> None:
    """At the last minute of the outage: all pending, attempts as the schedule says."""
    statuses = Counter(m.status for m in rows)
    wrong = []
    for m in rows:
        attempts, next_at = expected_attempts(m.created_at, last)
        if (m.attempts, m.next_attempt_at) != (attempts, next_at):
            wrong.append(f"{m.kind} queued {m.created_at:%H:%M}: {m.attempts} attempts, next "
                         f"{m.next_attempt_at:%H:%M} (expected {attempts}, {next_at:%H:%M})")
    by_queued = Counter((m.created_at.strftime("%H:%M"), m.attempts,
                         m.next_attempt_at.strftime("%H:%M")) for m in rows)
    outcome.check(
        "during the outage: every email kept pending, none sent, failed or lost",
        statuses == Counter({"pending": len(rows)}) and rows,
        f"at {last:%H:%M}, {len(rows)} emails queued since {START:%H:%M}: {dict(statuses)}")
    outcome.check(
        "during the outage: attempts counted and retried on the backoff schedule",
        not wrong and rows,
        f"{len(rows) - len(wrong)} of {len(rows)} as scheduled; by (queued, attempts, next "
        f"attempt): {dict(sorted(by_queued.items()))}"
        + (f"; first wrong: {wrong[0]}" if wrong else ""))


def after_checks(rows: list[sd.Email], arrivals: Counter[str], drained_at: datetime | None,
                 up_at: datetime, retried: int, outcome: Outcome) -> None:
    during = [m for m in rows if m.created_at < up_at]
    later = [m for m in rows if m.created_at >= up_at]
    statuses = Counter(m.status for m in rows)
    sent = {m.message_id for m in rows if m.status == "sent"}
    twice = sd.repeated(arrivals)
    end = drained_at or START + timedelta(minutes=MAX_MINUTES)
    overdue = [m for m in rows if m.status == "pending" and m.next_attempt_at <= end]
    outcome.check(
        "after the outage: the outbox drains and each email is received exactly once",
        drained_at is not None and not twice and set(arrivals) == sent
        and all(m.status == "sent" for m in during) and not overdue
        and statuses["failed"] == 0,
        f"{len(during)} emails queued during the outage, {len(later)} after; at the end "
        f"{dict(statuses)} ({len(overdue)} pending and due); {sum(arrivals.values())} arrivals "
        f"for {len(arrivals)} Message-IDs, {len(twice)} more than once, "
        f"{len(sent - set(arrivals))} sent but not received; {retried} failed attempts "
        "during the outage, all retried")
    if drained_at is not None:
        last_sent = max(m.sent_at for m in during)
        outcome.check(
            "after the outage: drained on the backoff schedule",
            last_sent == drained_at,
            f"the last outage email went at {last_sent:%H:%M}: "
            f"{(last_sent - START) // timedelta(minutes=1)} simulated minutes after the first "
            f"was queued, {(last_sent - up_at) // timedelta(minutes=1)} after the server came "
            f"back at {up_at:%H:%M} (an email that failed at 18:06 would wait 2 hours, into "
            "quiet hours: it waits for 08:00)")
