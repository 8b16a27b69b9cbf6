"""``Idempotency-Key`` on POSTs: a retried request creates nothing new.

The first request with a key runs; its answer (when it succeeded) is kept with a
fingerprint of the request, in the same transaction as what it created. A retry with the
same key and the same method, path and body gets that answer again (with
``Idempotent-Replayed: true``). The same key with a different request is refused (422
``idempotency_key_reused``). Two requests with one key at the same moment: the second
waits for the first (PostgreSQL's unique index, SQLite's write lock), then its own work is
rolled back and it answers as the first did. Keys are kept for a day.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta

from flask import Response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from dap.api.models import IdempotentRequest
from dap.api.problems import ApiError
from dap.clock import now_utc
from dap.extensions import db

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def presented_key() -> str | None:
    """The request's key, or None without one.

    :raise ApiError: 400 ``invalid_idempotency_key`` for an empty, overlong or
        non-printable key.
    """
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise ApiError(400, "invalid_idempotency_key", "An Idempotency-Key is 1 to 255 "
                       "printable ASCII characters without spaces (a UUID is ideal).")
    return raw


def fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _find(user_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key,
        IdempotentRequest.created_at > now_utc() - KEEP_FOR))


def _replay(kept: IdempotentRequest, print_: str) -> Response:
    if kept.fingerprint != print_:
        raise ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used for a "
                       "different request. Use a new key for each new request.")
    response = Response(kept.body, status=kept.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    if kept.location:
        response.headers["Location"] = kept.location
    return response


def run_once(user_id: int, key: str, run: Callable[[], Response]) -> Response:
    """Run ``run`` (which flushes what it creates but does not commit) unless ``key`` was
    used before; commit its work together with its answer."""
    print_ = fingerprint()
    kept = _find(user_id, key)
    if kept is not None:
        db.session.rollback()
        return _replay(kept, print_)
    db.session.execute(delete(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key))  # an expired one
    response = run()
    if not 200 <= response.status_code < 300:
        db.session.rollback()
        return response
    db.session.add(IdempotentRequest(
        user_id=user_id, key=key, fingerprint=print_, status_code=response.status_code,
        body=response.get_data(as_text=True), location=response.headers.get("Location", "")))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another request with this key won: answer as it did
        kept = _find(user_id, key)
        if kept is None:
            raise ApiError(409, "idempotency_key_in_use", "A request with this "
                           "Idempotency-Key is still being handled; retry shortly.") from None
        return _replay(kept, print_)
    return response


def prune(*, now=None) -> int:
    """Forget keys older than a day (the scheduled clean-up); returns how many."""
    cutoff = (now or now_utc()) - KEEP_FOR
    result = db.session.execute(delete(IdempotentRequest).where(
        IdempotentRequest.created_at <= cutoff))
    return result.rowcount or 0
