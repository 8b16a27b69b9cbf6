"""Cursor pagination: newest first, by id. The cursor is the id of the last item of the
page before (clients pass ``next_cursor`` back as it is); new items arriving between
pages never shift what comes next. Every cursor the document allows is a valid one, so a
cursor is never an error: one beyond every id simply starts from the newest."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from dap.extensions import db

#: what ``PageQuery.cursor`` allows
CURSOR_PATTERN = r"^[0-9]{1,10}$"
_ID_MAX = 2_147_483_647


def page(stmt: Select, id_column: Any, *, limit: int, cursor: str | None
         ) -> tuple[list[Any], str | None]:
    """One page of ``stmt``'s rows (newest first) and the cursor of the next page, or None."""
    if cursor and int(cursor) <= _ID_MAX:  # one beyond every id: from the newest
        stmt = stmt.where(id_column < int(cursor))
    rows = list(db.session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, str(rows[-1].id)
    return rows, None
