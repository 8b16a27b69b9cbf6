"""What the load test checks in the database afterwards, as pure functions of what the
simulation saw (no database, no network: tests/test_load_check.py feeds them hand-made
beats).

Platform seconds. The server keeps, per participant and day, ``seconds`` and the time of
the latest beat in whole seconds (dap.timecap.services): a beat adds ``min(gap, 60)`` when
``1 <= gap <= 90`` (``gap`` = this beat's second minus the last one's), else nothing.
Every request of a participant that the server answers below 500 is a beat (the heartbeat,
and each page through ``count_the_request``).

The client cannot know the server's second of each beat, only that it lies between the
floor of the time the request was sent and the floor of the time the answer came back (the
same clock: both run on this machine). So the check is a range, not one number:

- In a run of beats whose gaps are all at most 60 s whatever the exact seconds were, every
  gap is credited in full, so the run adds exactly ``last − first`` (the sum telescopes):
  between ``floor(sent_last) − floor(answered_first)`` and
  ``floor(answered_last) − floor(sent_first)``. The range is about one latency plus a second
  wide, however many beats there are.
- A gap that may be over 60 s is bounded on its own: the credit rule is non-decreasing up to
  90 s and nothing after.
- A request whose outcome is unknown (no answer, a timeout, a 5xx, a request cut off when
  the run stopped) may or may not have been a beat. Adding a beat never lowers the total
  (``credit(a + b) <= credit(a) + credit(b)``), so the lower bound leaves such requests out
  and the upper bound puts them all in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_CREDIT = 60
MAX_GAP = 90


@dataclass(frozen=True)
class Beat:
    """One request of a participant: when it was sent and answered (seconds since the epoch,
    client clock; ``answered`` is the time the run stopped for a request cut off), and
    whether the server surely counted it (``certain``) or may have."""

    sent: float
    answered: float
    certain: bool = True


def credit(gap: int) -> int:
    """What one beat adds after a gap of ``gap`` whole seconds (the server's rule)."""
    if 1 <= gap <= MAX_GAP:
        return min(gap, MAX_CREDIT)
    return 0


def _credit_range(low: int, high: int) -> tuple[int, int]:
    """The least and most ``credit`` can be for a gap somewhere in ``[low, high]``."""
    least = 0 if high > MAX_GAP else credit(low)
    most = 0 if low > MAX_GAP else min(max(high, 0), MAX_CREDIT) if high >= 1 else 0
    return least, most


def _bounds(intervals: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Least and most seconds a sequence of beats adds, each beat at a whole second within
    its ``(earliest, latest)`` interval, in order."""
    low = high = 0
    i, n = 0, len(intervals)
    while i < n - 1:
        # the longest run from i in which every gap is surely at most MAX_CREDIT
        j = i
        while j < n - 1 and intervals[j + 1][1] - intervals[j][0] <= MAX_CREDIT:
            j += 1
        if j > i:
            low += max(0, intervals[j][0] - intervals[i][1])
            high += max(0, intervals[j][1] - intervals[i][0])
            i = j
            continue
        least, most = _credit_range(max(0, intervals[i + 1][0] - intervals[i][1]),
                                    intervals[i + 1][1] - intervals[i][0])
        low += least
        high += most
        i += 1
    return low, high


def platform_seconds_range(beats: Iterable[Beat], previous_beat: int | None = None
                           ) -> tuple[int, int]:
    """The least and most platform seconds ``beats`` add to a participant's total, given the
    second of their last beat before the run (``previous_beat``, None if they had none)."""
    ordered = sorted(beats, key=lambda b: b.sent)
    head = [] if previous_beat is None else [(previous_beat, previous_beat)]

    def interval(beat: Beat) -> tuple[int, int]:
        return math.floor(beat.sent), math.floor(max(beat.answered, beat.sent))

    low, _ = _bounds(head + [interval(b) for b in ordered if b.certain])
    _, high = _bounds(head + [interval(b) for b in ordered])
    return low, high


@dataclass(frozen=True)
class CheckInVerdict:
    missing: list[str]  #: answered as recorded, not in the database
    duplicated: list[str]  #: in the database more than once
    unexpected: list[str]  #: in the database, never sent (or sent and refused)
    unsure_found: int  #: sent without a clear answer, and stored
    unsure_absent: int  #: sent without a clear answer, not stored

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unexpected)


def compare_check_ins(recorded: Iterable[str], unsure: Iterable[str], stored: Iterable[str]
                      ) -> CheckInVerdict:
    """Check-ins by note token: ``recorded`` were answered with a redirect to the goal (the
    form's success), ``unsure`` had no clear answer, ``stored`` are the notes in the
    database. Each recorded one must be stored exactly once; nothing else may be stored but
    the unsure ones (each at most once)."""
    recorded, unsure = set(recorded), set(unsure) - set(recorded)
    counts = Counter(stored)
    return CheckInVerdict(
        missing=sorted(t for t in recorded if counts[t] == 0),
        duplicated=sorted(t for t, c in counts.items() if c > 1),
        unexpected=sorted(t for t in counts if t not in recorded and t not in unsure),
        unsure_found=sum(1 for t in unsure if counts[t]),
        unsure_absent=sum(1 for t in unsure if not counts[t]),
    )
