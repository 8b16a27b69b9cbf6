"""Two (or more) processes doing the same thing at the same instant, for the tests that
show a rule holds under concurrency (the last seat, one booking per slot)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime


def at_once(target: Callable, argument_sets: list[tuple], *, timeout: float = 120) -> list:
    """Run ``target(*arguments, barrier, results)`` in one spawned process per argument
    set; each waits at ``barrier`` before the part under test and puts its outcome on
    ``results``. Returns the outcomes, sorted."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(argument_sets), timeout=60)
    results = context.Queue()
    workers = [context.Process(target=target, args=(*arguments, barrier, results))
               for arguments in argument_sets]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
        assert worker.exitcode == 0
    return sorted(results.get(timeout=5) for _ in workers)


@contextmanager
def worker_app(database_url: str, at: float) -> Iterator:
    """In a worker process: the app on ``database_url`` with the clock frozen at ``at`` (a
    timestamp), inside an app and a request context. Disposes of the engine after."""
    from dap import clock
    from dap.app import create_app
    from dap.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                      "TESTING": True, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context(), app.test_request_context():
        clock.freeze(datetime.fromtimestamp(at, UTC))
        try:
            yield app
        finally:
            db.engine.dispose()


def scan_in_worker(database_url: str, at: float, target: str, barrier, results) -> None:
    """In a worker process: run the scan ``target`` (``"module:function"``, called with
    ``now`` and ``base_url``) at the frozen time ``at``, starting with the others at the
    barrier; puts how many it sent."""
    from importlib import import_module

    from dap.clock import now_utc
    from dap.extensions import db

    module, name = target.split(":")
    scan = getattr(import_module(module), name)
    with worker_app(database_url, at):
        db.session.commit()
        barrier.wait()
        sent = scan(now=now_utc(), base_url="http://x")
        db.session.commit()
        results.put(sent)
