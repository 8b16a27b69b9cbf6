"""The load test's checks (bench/load/check.py) on hand-made beats."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench" / "load"))
from check import Beat, compare_check_ins, credit, platform_seconds_range  # noqa: E402


def exact(*seconds: int) -> list[Beat]:
    """Beats answered within the second they were sent: the server's second is known."""
    return [Beat(s + 0.1, s + 0.2) for s in seconds]


@pytest.mark.parametrize(("gap", "added"), [(-3, 0), (0, 0), (1, 1), (30, 30), (60, 60),
                                            (61, 60), (90, 60), (91, 0), (10_000, 0)])
def test_credit_is_the_servers_rule(gap, added):
    assert credit(gap) == added


def test_nothing_or_one_beat_adds_nothing():
    assert platform_seconds_range([]) == (0, 0)
    assert platform_seconds_range(exact(1000)) == (0, 0)


def test_known_seconds_give_the_exact_sum():
    # 5 + 55 + 60 (a 75 s gap counts 60) + 0 (a 100 s gap counts nothing) + 4
    assert platform_seconds_range(exact(1000, 1005, 1060, 1135, 1235, 1239)) == (124, 124)


def test_order_of_the_log_does_not_matter():
    beats = exact(1000, 1005, 1060)
    assert platform_seconds_range(reversed(beats)) == (60, 60)


def test_the_beat_before_the_run_counts_the_first_gap():
    assert platform_seconds_range(exact(1030, 1040), previous_beat=1000) == (40, 40)
    assert platform_seconds_range(exact(1100, 1110), previous_beat=1000) == (10, 10)


def test_short_gaps_telescope_to_about_one_latency():
    # 100 beats 3 s apart, each answered 0.8 s after it was sent
    beats = [Beat(1000 + 3 * i + 0.5, 1000 + 3 * i + 1.3) for i in range(100)]
    low, high = platform_seconds_range(beats)
    assert low <= 297 <= high
    assert high - low <= 2


def test_a_gap_that_may_pass_90_seconds_may_add_nothing():
    low, high = platform_seconds_range([Beat(1000.5, 1000.6), Beat(1090.5, 1091.5)])
    assert (low, high) == (0, 60)


def test_a_request_without_an_answer_widens_the_range_upwards_only():
    beats = [*exact(1000, 1010), Beat(1020.5, 1200.0, certain=False)]
    assert platform_seconds_range(beats) == (10, 70)


def test_check_ins_present_once_pass():
    verdict = compare_check_ins(["a", "b"], ["c"], ["a", "b", "c"])
    assert verdict.ok
    assert (verdict.unsure_found, verdict.unsure_absent) == (1, 0)


def test_missing_doubled_and_unsent_check_ins_fail():
    verdict = compare_check_ins(["a", "b", "c"], ["u"], ["a", "a", "c", "x"])
    assert not verdict.ok
    assert verdict.missing == ["b"]
    assert verdict.duplicated == ["a"]
    assert verdict.unexpected == ["x"]
    assert verdict.unsure_absent == 1
