"""Resident memory of gunicorn's processes over a load run, for the soak (``make soak``).

A thread reads ``VmRSS`` of the master and of each worker from /proc every few seconds. The
report compares each worker at the start of the measured time (after a minute's warm-up)
with the middle and the end, fits a line through its samples (MiB an hour), and notices a
worker that was replaced (a restarted worker starts small and would hide a leak).

The verdict looks at the second half. A worker keeps filling caches for a while after the
first minute, each time it first serves a rare page (its templates compiled, SQLAlchemy's
statement cache, the allocator's arenas after a large page), and then levels off; a leak
goes on growing. So a worker fails when it grew in the second half by more than half the
allowance (``growth_limit`` of its start or ``floor_mib``, whichever is larger): the same
rate as the allowance over the whole time, without the filling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sampler import Sampler

WARM_UP = 60.0  #: seconds after the measured time starts before the "start" sample


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Series:
    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)  #: (time, KiB)


def slope_mib_per_hour(points: list[tuple[float, int]]) -> float:
    """Least-squares slope of KiB over seconds, as MiB an hour (0 for fewer than 2 points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / spread  # KiB a second
    return slope * 3600 / 1024


@dataclass(frozen=True)
class Verdict:
    lines: list[str]
    flat: bool


class MemoryWatch(Sampler):
    """Samples the master and its current workers every ``every`` seconds until stopped."""

    def __init__(self, master: int, children, every: float = 5.0) -> None:
        super().__init__("memory-watch", every)
        self.master, self.children = master, children
        self.series: dict[int, Series] = {}

    def sample(self) -> None:
        now = time.time()
        for pid in [self.master, *self.children(self.master)]:
            kib = rss_kib(pid)
            if kib is not None:
                self.series.setdefault(pid, Series(pid)).samples.append((now, kib))

    def report(self, measured_from: float | None, *, growth_limit: float = 0.05,
               floor_mib: float = 8.0) -> Verdict:
        """A line per process (start, middle, end, peak, growth, slope), one with each
        worker's memory every five minutes, and whether every worker stayed flat: grew in
        the second half of the measured time by at most half of ``growth_limit`` of its
        start or ``floor_mib``, whichever is larger, and no worker was replaced while
        measured."""
        begin = (measured_from or 0.0) + WARM_UP
        lines = [f"{'process':<16} {'start MiB':>9} {'middle':>8} {'end MiB':>8} {'peak MiB':>8} "
                 f"{'growth':>8} {'2nd half':>8} {'MiB/hour':>8}"]
        flat = True
        workers = [s for pid, s in sorted(self.series.items()) if pid != self.master]
        late = [s for s in workers if s.samples and s.samples[0][0] > begin]
        every_five: list[str] = []
        for series in [self.series.get(self.master), *workers]:
            if series is None:
                continue
            measured = [(t, v) for t, v in series.samples if t >= begin] or series.samples[-1:]
            first, last = measured[0][0], measured[-1][0]
            halfway = first + (last - first) / 2
            middle_sample = next(v for t, v in measured if t >= halfway)
            start, middle, end = measured[0][1] / 1024, middle_sample / 1024, measured[-1][1] / 1024
            peak = max(v for _, v in measured) / 1024
            name = "master" if series.pid == self.master else f"worker {series.pid}"
            allowed = max(start * growth_limit, floor_mib) / 2
            if series.pid != self.master and end - middle > allowed:
                flat = False
            lines.append(f"{name:<16} {start:>9.1f} {middle:>8.1f} {end:>8.1f} {peak:>8.1f} "
                         f"{end - start:>+8.1f} {end - middle:>+8.1f} "
                         f"{slope_mib_per_hour(measured):>+8.1f}")
            if series.pid != self.master:
                marks = [v / 1024 for t, v in measured
                         if round(t - first) % 300 < self.every or t == last]
                every_five.append(f"{name:<16} " + " ".join(f"{v:.0f}" for v in marks))
        if late:
            flat = False
            lines.append(f"{len(late)} worker(s) started during the measured time (replaced): "
                         + ", ".join(str(s.pid) for s in late))
        span = 0.0
        if workers:
            times = [t for s in workers for t, _ in s.samples if t >= begin]
            span = (max(times) - min(times)) / 60 if times else 0.0
        lines.append("MiB every five minutes:\n" + "\n".join(every_five))
        lines.append(f"memory over {span:.0f} measured minutes (from a minute after everyone "
                     f"signed in): each worker's second half within half of max({growth_limit:.0%} "
                     f"of its start, {floor_mib:.0f} MiB) -> {'FLAT' if flat else 'GREW'}")
        return Verdict(lines, flat)
