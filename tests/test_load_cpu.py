"""The load test's CPU accounting (bench/load/cpu.py) on hand-made samples and a real process."""

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench" / "load"))
import gunicorn_bench as gb  # noqa: E402
from cpu import CpuWatch  # noqa: E402


def watch_with(samples):
    watch = CpuWatch(dict.fromkeys(samples, list), lambda _pid: None)
    watch.samples = samples
    return watch


def test_cpu_between_two_moments_is_the_difference_of_each_process():
    watch = watch_with({"workers": {1: [(0, 10.0), (5, 12.0), (10, 15.0), (15, 20.0)],
                                    2: [(0, 1.0), (5, 1.0), (10, 4.0), (15, 4.5)]}})
    # from 5 to 15: process 1 spent 8 s, process 2 3.5 s
    assert watch.between(5, 15) == {"workers": pytest.approx(11.5)}
    # a moment between samples counts from the last sample before it
    assert watch.between(6, 14) == {"workers": pytest.approx(3.0 + 3.0)}


def test_a_process_first_seen_after_the_start_counts_all_it_spent():
    watch = watch_with({"backends": {7: [(8, 2.0), (12, 3.0)]},
                        "workers": {}})
    assert watch.between(5, 15) == {"backends": pytest.approx(3.0), "workers": 0.0}
    # and nothing of what came after the end
    assert watch.between(0, 10) == {"backends": pytest.approx(2.0), "workers": 0.0}


def test_a_failed_lookup_is_a_missed_sample_not_a_dead_thread():
    def broken():
        raise OSError("gone")

    watch = CpuWatch({"broken": broken, "me": lambda: [os.getpid()]},
                     lambda pid: gb.cpu_seconds([pid]))
    watch.sample()
    assert watch.missed == 1
    assert watch.samples["broken"] == {}
    assert len(watch.samples["me"][os.getpid()]) == 1


def test_this_process_burning_cpu_is_seen():
    watch = CpuWatch({"me": lambda: [os.getpid()]}, lambda pid: gb.cpu_seconds([pid]),
                     every=0.05)
    watch.start()
    while not watch.samples["me"]:  # the process was there before the start
        time.sleep(0.01)
    start = time.time()
    cpu_start = time.process_time()
    while time.process_time() - cpu_start < 0.5:  # half a second of CPU, however busy the machine
        sum(i * i for i in range(10_000))
    watch.stop()  # takes a last sample
    assert 0.4 < watch.between(start, time.time())["me"] < 2.0
