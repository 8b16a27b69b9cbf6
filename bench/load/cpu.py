"""CPU time the server spends in the load test's measured time (``make load``).

A thread reads each process's cumulative user + system CPU from /proc every few seconds,
for named groups of processes (gunicorn's workers, PostgreSQL's backends for the run's
database). ``between`` gives each group's CPU seconds between two moments: per process
the value at its last sample before the end less its value at its last sample before the
start (nothing, for a process first seen after the start). Divided by the requests answered
in that time, it is what one request costs the machine, the figure capacity is worked out
from (docs/PERFORMANCE.md, "What one machine serves").
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sampler import Sampler

Sample = tuple[float, float]  #: (time, cumulative CPU seconds)


class CpuWatch(Sampler):
    """Samples the CPU of each group's processes every ``every`` seconds until stopped."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]],
                 cpu_of: Callable[[int], float | None], every: float = 5.0) -> None:
        super().__init__("cpu-watch", every)
        self.groups, self.cpu_of = groups, cpu_of
        self.samples: dict[str, dict[int, list[Sample]]] = {name: {} for name in groups}
        self.missed = 0  #: lookups of a group's processes that failed

    def sample(self) -> None:
        for name, pids in self.groups.items():
            try:
                found = pids()
            except Exception:  # noqa: BLE001 - a failed lookup is a missed sample, not a failed run
                self.missed += 1
                found = []
            now = time.time()
            for pid in found:
                seconds = self.cpu_of(pid)
                if seconds is not None:
                    self.samples[name].setdefault(pid, []).append((now, seconds))

    def stop(self) -> None:
        super().stop()
        self.sample()  # the last word, once the load has stopped

    def between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds each group spent from ``start`` to ``end``."""
        spent = {}
        for name, by_pid in self.samples.items():
            total = 0.0
            for samples in by_pid.values():
                before = [cpu for t, cpu in samples if t <= start]
                upto = [cpu for t, cpu in samples if t <= end]
                if upto:
                    total += upto[-1] - (before[-1] if before else 0.0)
            spent[name] = total
        return spent
