"""Cursor pagination: newest first, by id. A cursor is opaque to clients (the last id
seen, base64url-encoded); new items arriving between pages never shift what comes next."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sqlalchemy import Select

from dap.api.problems import ApiError
from dap.extensions import db

_ID_MAX = 2_147_483_647


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> int:
    """:raise ApiError: 400 ``invalid_cursor`` for anything ``encode`` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, _, number = raw.partition(":")
        value = int(number) if prefix == "id" and number.isascii() and number.isdigit() else 0
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = 0
    if not 1 <= value <= _ID_MAX:
        raise ApiError(400, "invalid_cursor", "That cursor is not one this API gave: start "
                       "again without it.")
    return value


def page(stmt: Select, id_column: Any, *, limit: int, cursor: str | None
         ) -> tuple[list[Any], str | None]:
    """One page of ``stmt``'s rows (newest first) and the cursor of the next page, or None."""
    if cursor:
        stmt = stmt.where(id_column < decode(cursor))
    rows = list(db.session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode(rows[-1].id)
    return rows, None
