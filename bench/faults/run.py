"""The fault scenarios (``make faults``): each starts what it needs (a throwaway PostgreSQL
database, gunicorn, scheduler processes, a local SMTP server), breaks one thing on purpose,
and prints a verdict for each promise it checks. See docs/OPERATIONS.md, "Faults".

    .venv/bin/python bench/faults/run.py                 # every scenario
    .venv/bin/python bench/faults/run.py scheduler-kill  # one or more by name

Some scenarios restart the local PostgreSQL cluster or mount a small tmpfs; they are for a
machine of one's own, not for CI. Exit 1 when any check fails.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/, for gunicorn_bench
sys.path.insert(0, str(HERE))

import gunicorn_bench as gb  # noqa: E402
from verdict import Outcome  # noqa: E402

#: scenario name -> module under bench/faults/ (each has DESCRIPTION and run(pg_server, workdir))
SCENARIOS = {
    "pg-restart": "pg_restart",
    "slow-db": "slow_db",
    "disk-full": "disk_full",
    "scheduler-kill": "scheduler_kill",
    "two-schedulers": "two_schedulers",
    "smtp-down": "smtp_down",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"any of: {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server for throwaway databases")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    chosen = args.scenarios or list(SCENARIOS)
    outcomes: list[Outcome] = []
    for name in chosen:
        module = importlib.import_module(SCENARIOS[name])
        print(f"-- {name}: {module.DESCRIPTION}", flush=True)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"dap-fault-{name}-") as tmp:
            try:
                outcome = module.run(gb.pg_server_url(args.pg_url), Path(tmp))
            except Exception:  # noqa: BLE001 - a scenario that breaks is a failed verdict
                outcome = Outcome(name)
                outcome.check("scenario ran to its end", False, traceback.format_exc()[-1500:])
        outcome.note(f"took {time.perf_counter() - started:.0f} s")
        print("\n".join(outcome.lines()), flush=True)
        outcomes.append(outcome)
    print()
    for outcome in outcomes:
        print(f"{outcome.scenario:<16} {'PASSED' if outcome.passed else 'FAILED'}")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
