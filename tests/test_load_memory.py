"""The soak's memory verdict (bench/load/memory.py) on hand-made samples and a real process."""

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench" / "load"))
from memory import WARM_UP, MemoryWatch, Series, rss_kib, slope_mib_per_hour  # noqa: E402

MIB = 1024  # KiB


def watch_with(master: int, series: dict[int, list[tuple[float, int]]]) -> MemoryWatch:
    watch = MemoryWatch(master, lambda _pid: [])
    watch.series = {pid: Series(pid, samples) for pid, samples in series.items()}
    return watch


def steady(start_mib: float, end_mib: float, *, t0: float = 0, minutes: int = 30):
    """One sample a minute, growing evenly from ``start_mib`` to ``end_mib``."""
    step = (end_mib - start_mib) / minutes
    return [(t0 + 60 * m, int((start_mib + step * m) * MIB)) for m in range(minutes + 1)]


def test_rss_of_this_process_is_read_and_a_gone_process_is_none():
    assert rss_kib(os.getpid()) > 1000
    assert rss_kib(2**22 + 12345) is None


def test_slope_is_mib_an_hour():
    # 10 MiB over 30 minutes is 20 MiB an hour
    assert slope_mib_per_hour(steady(100, 110)) == pytest.approx(20, rel=0.01)
    assert slope_mib_per_hour(steady(100, 100)) == 0
    assert slope_mib_per_hour([(0, 5)]) == 0
    assert slope_mib_per_hour([(5, 1), (5, 2)]) == 0


def test_workers_that_stay_flat_pass():
    watch = watch_with(1, {1: steady(25, 25), 2: steady(130, 131), 3: steady(120, 127)})
    verdict = watch.report(measured_from=-WARM_UP)
    assert verdict.flat
    assert verdict.lines[-1].endswith("FLAT")


def test_a_worker_growing_beyond_the_floor_and_the_share_fails():
    # 200 MiB start: 5 % is 10 MiB; growing 12 MiB fails, growing 9 does not
    assert not watch_with(1, {2: steady(200, 212)}).report(measured_from=-WARM_UP).flat
    assert watch_with(1, {2: steady(200, 209)}).report(measured_from=-WARM_UP).flat


def test_a_worker_that_fills_up_and_levels_off_passes():
    # the soak of 2026-12-04: 129 MiB a minute in, 143 MiB ten minutes later, then level
    filling = steady(129, 143, minutes=10)
    level = steady(143, 143.5, t0=660, minutes=20)
    verdict = watch_with(1, {2: filling + level, 3: steady(140, 144)}).report(
        measured_from=-WARM_UP)
    assert verdict.flat, verdict.lines
    assert any(line.startswith("worker 2") and "+14.5" in line for line in verdict.lines)


def test_a_worker_that_keeps_growing_fails_however_it_started():
    # the same 14 MiB, but evenly over the half hour: 7 MiB in the second half (over 4)
    assert not watch_with(1, {2: steady(129, 143)}).report(measured_from=-WARM_UP).flat
    # a slow leak after a level start: flat for 15 minutes, then 5 MiB more
    leak = steady(130, 130, minutes=15) + steady(130, 135, t0=960, minutes=14)
    assert not watch_with(1, {2: leak}).report(measured_from=-WARM_UP).flat


def test_memory_every_five_minutes_is_listed_per_worker():
    verdict = watch_with(1, {2: steady(100, 106)}).report(measured_from=-WARM_UP)
    listing = next(line for line in verdict.lines if line.startswith("MiB every five minutes"))
    assert listing.splitlines()[1].split()[2:] == ["100", "101", "102", "103", "104", "105", "106"]


def test_growth_during_the_warm_up_minute_is_not_counted():
    samples = [(0, 50 * MIB), (30, 120 * MIB), *steady(125, 126, t0=60)]
    assert watch_with(1, {2: samples}).report(measured_from=0).flat


def test_the_master_is_reported_but_does_not_decide():
    verdict = watch_with(1, {1: steady(25, 60), 2: steady(130, 130)}).report(measured_from=-WARM_UP)
    assert verdict.flat
    assert any(line.startswith("master") for line in verdict.lines)


def test_a_worker_replaced_while_measured_fails_the_soak():
    late = steady(100, 100, t0=600, minutes=10)
    verdict = watch_with(1, {2: steady(130, 130), 3: late}).report(measured_from=-WARM_UP)
    assert not verdict.flat
    assert any("replaced" in line for line in verdict.lines)


def test_the_watch_samples_a_real_process_until_stopped():
    watch = MemoryWatch(os.getpid(), lambda _pid: [], every=0.05)
    watch.start()
    deadline = time.monotonic() + 10
    try:
        while (len(watch.series.get(os.getpid(), Series(0)).samples) < 3
               and time.monotonic() < deadline):
            time.sleep(0.01)
    finally:
        watch.stop()
    assert not watch.is_alive()
    assert all(kib > 1000 for _, kib in watch.series[os.getpid()].samples)
