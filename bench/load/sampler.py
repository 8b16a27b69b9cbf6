"""A thread that calls ``sample`` every few seconds until stopped: the base of the load
test's watches of memory (memory.py) and CPU (cpu.py)."""

from __future__ import annotations

import threading


class Sampler(threading.Thread):
    """Calls ``self.sample()`` at once and then every ``every`` seconds until ``stop``."""

    def __init__(self, name: str, every: float) -> None:
        super().__init__(daemon=True, name=name)
        self.every = every
        self._stopping = threading.Event()

    def sample(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self._stopping.is_set():
            self.sample()
            self._stopping.wait(self.every)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=self.every * 4)
