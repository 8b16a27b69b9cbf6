"""``flask --app dap scheduler`` with shorter lease and job timings, for the two-schedulers
scenario::

    python bench/faults/sched_lease.py TTL RENEW EVERY    # whole seconds

The scheduler's lease lasts ``dap.jobs.scheduler.LEASE_TTL`` (90 s) and is renewed every
``LEASE_RENEW_SECONDS`` (30 s); the scans run every 60 s or more. These are module
constants with no setting, so a real-time check of a takeover would wait two minutes or
more. This script sets them to TTL and RENEW seconds and every scan's interval to EVERY
seconds, then runs Flask's own command line (``flask --app dap scheduler``): the same
command, the same code, on a shorter clock.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta


def main(argv: list[str]) -> None:
    ttl, renew, every = (int(value) for value in argv)
    from flask.cli import main as flask_main

    from dap.jobs import registry, scheduler

    scheduler.LEASE_TTL = timedelta(seconds=ttl)
    scheduler.LEASE_RENEW_SECONDS = renew
    registry.JOBS[:] = [dataclasses.replace(job, seconds=every) for job in registry.JOBS]
    sys.argv = ["flask", "--app", "dap", "scheduler"]
    flask_main()


if __name__ == "__main__":
    main(sys.argv[1:])
