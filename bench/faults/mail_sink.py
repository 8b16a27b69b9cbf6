"""A local SMTP sink for the fault scenarios: aiosmtpd on 127.0.0.1, recording the
Message-ID of every message it is given, optionally slowed by a fixed delay per message, and
able to go down and come back on the same port.

A message counts as received as soon as its DATA has arrived, before the delay and before
the server's ``250`` answer: a real mail server that has queued a message and then loses
the connection still delivers it, so a sender killed while waiting for the answer has
really sent it. That is the case where a resend is a duplicate, which a receiver can only
drop by its Message-ID.

``hold_at=n`` makes the n-th message wait, received but not yet answered, until
``release()``: a scenario can kill its sender at exactly that moment, the worst one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy

import gunicorn_bench as gb
from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Arrival:
    message_id: str
    outbox_id: str  #: the X-DAP-Outbox-Id header
    to: str
    subject: str
    at: float  #: time.monotonic() when its DATA arrived


#: the longest a held message waits for release() (so a scenario that fails never hangs)
HOLD_MAX_SECONDS = 120


class _Recorder:
    """aiosmtpd handler: keeps one Arrival per message, then waits ``delay`` seconds (and,
    for the ``hold_at``-th message, until released) before accepting it."""

    def __init__(self, delay: float, hold_at: int | None) -> None:
        self.delay = delay
        self.hold_at = hold_at
        self.arrivals: list[Arrival] = []
        self.lock = threading.Lock()
        self.holding = threading.Event()
        self.released = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content or envelope.content,
                                     policy=policy.default)
        arrival = Arrival(message_id=str(message["Message-ID"] or ""),
                          outbox_id=str(message["X-DAP-Outbox-Id"] or ""),
                          to=",".join(envelope.rcpt_tos), subject=str(message["Subject"] or ""),
                          at=time.monotonic())
        with self.lock:
            self.arrivals.append(arrival)
            hold = len(self.arrivals) == self.hold_at
        if hold:
            self.holding.set()
            waited = 0.0
            while not self.released.is_set() and waited < HOLD_MAX_SECONDS:
                await asyncio.sleep(0.01)
                waited += 0.01
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 Message accepted"


class MailSink:
    """An SMTP server on a fixed loopback port that records what arrives.

    ``start`` and ``stop`` may be called repeatedly: while stopped, nothing listens on the
    port and a sender's connection is refused, as with a mail server that is down. Use as a
    context manager to be sure it is stopped."""

    def __init__(self, *, delay: float = 0.0, hold_at: int | None = None,
                 port: int | None = None) -> None:
        self.port = port or gb.free_port()
        self._recorder = _Recorder(delay, hold_at)
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._controller is not None

    def start(self) -> MailSink:
        if self._controller is None:
            controller = Controller(self._recorder, hostname="127.0.0.1", port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        self.release()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_holding(self, timeout: float) -> Arrival | None:
        """Wait until the ``hold_at``-th message is being held; returns it (None on timeout)."""
        if not self._recorder.holding.wait(timeout):
            return None
        return self.arrivals[self._recorder.hold_at - 1]  # type: ignore[operator]

    def release(self) -> None:
        """Let a held message be answered."""
        self._recorder.released.set()

    @property
    def arrivals(self) -> list[Arrival]:
        with self._recorder.lock:
            return list(self._recorder.arrivals)

    def count(self) -> int:
        with self._recorder.lock:
            return len(self._recorder.arrivals)

    def message_ids(self) -> Counter[str]:
        """How often each Message-ID arrived."""
        return Counter(arrival.message_id for arrival in self.arrivals)
