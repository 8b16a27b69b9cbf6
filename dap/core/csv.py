"""CSV for downloads that spreadsheets open safely: every cell neutralised against formula injection."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

#: a cell starting with one of these is read as a formula by Excel, LibreOffice or Google
#: Sheets (OWASP "CSV injection"); tab and carriage return can hide such a start
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The text of one CSV cell, safe to open in a spreadsheet.

    ``None`` is empty, booleans are ``true``/``false``, dates and datetimes ISO 8601, dicts
    and lists JSON. Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading single quote, so the spreadsheet shows it as text instead of running it.
    Numbers (``int``, ``float``) are written as they are: ``-3`` cannot carry a formula.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    else:
        text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(rows: Iterable[Sequence[Any] | Mapping[str, Any]], header: Sequence[str]) -> str:
    """A whole CSV document: ``header`` then one line per row, every cell through ``safe_cell``.

    A row is a sequence in header order or a mapping keyed by the header's names (missing
    keys are empty cells). Lines end with CRLF (RFC 4180); quoting is csv's minimal quoting.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        cells = [row.get(name) for name in header] if isinstance(row, Mapping) else row
        writer.writerow([safe_cell(cell) for cell in cells])
    return out.getvalue()


def csv_download(body: str, filename: str) -> Any:
    """A CSV document as a download: UTF-8 with a byte-order mark, so spreadsheet programs
    read accents and other scripts correctly, and never cached."""
    from flask import Response

    return Response("\ufeff" + body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
