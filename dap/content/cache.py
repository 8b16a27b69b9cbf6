"""One cache for every kind of content: a loaded set of files, read again when one of them
changes (looked at every few seconds at most), shared by the apps of a process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

#: how often, at most, the files are looked at again for changes
RECHECK_SECONDS = 5.0


class HasProblems(Protocol):
    #: (file relative to the content folder, problem) pairs
    problems: list[tuple[str, str]]


T = TypeVar("T", bound=HasProblems)


@dataclass(frozen=True)
class ContentSource(Generic[T]):
    """One kind of content: how to load it from a content folder, which files to watch for
    changes, and what to serve if the folder cannot be read at all."""

    name: str
    load: Callable[[Path], T]
    files: Callable[[Path], Iterable[Path]]
    unreadable: Callable[[], T]

    def cache(self, content_dir: Path) -> ContentCache[T]:
        """The one cache of this kind for ``content_dir`` in this process."""
        key = (self.name, content_dir.resolve())
        with _caches_lock:
            if key not in _caches:
                _caches[key] = ContentCache(self, key[1])
            return _caches[key]

    def current(self) -> T:
        """The content for the current app's ``CONTENT_DIR``."""
        from flask import current_app

        return self.cache(Path(current_app.config["CONTENT_DIR"])).get()


class ContentCache(Generic[T]):
    """Loaded content, read again when a watched file changes (by mtime and size).
    Thread-safe; a folder that cannot be read keeps the previous content being served."""

    def __init__(self, source: ContentSource[T], content_dir: Path) -> None:
        self.source = source
        self.content_dir = content_dir
        self._lock = threading.Lock()
        self._loaded: T | None = None
        self._stamp: tuple = ()
        self._checked = 0.0

    def _fingerprint(self) -> tuple:
        paths = self.source.files(self.content_dir)
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p.exists())

    def _fresh(self, now: float) -> bool:
        return self._loaded is not None and now - self._checked < RECHECK_SECONDS

    def get(self) -> T:
        """The content, loaded again first if a file changed; problems are logged once per
        load, never raised."""
        now = time.monotonic()
        if self._fresh(now):
            return self._loaded  # type: ignore[return-value]
        with self._lock:
            if self._fresh(now):
                return self._loaded  # type: ignore[return-value]
            self._checked = now
            try:
                stamp = self._fingerprint()
                if self._loaded is None or stamp != self._stamp:
                    loaded = self.source.load(self.content_dir)
                    for rel, problem in loaded.problems:
                        log.warning("content/%s: %s", rel, problem)
                    self._loaded, self._stamp = loaded, stamp
            except OSError:
                log.exception("could not read the %s in %s", self.source.name, self.content_dir)
                if self._loaded is None:
                    self._loaded = self.source.unreadable()
            return self._loaded


_caches: dict[tuple[str, Path], ContentCache] = {}
_caches_lock = threading.Lock()
