"""CSV for downloads that spreadsheets open safely: every cell neutralised against formula
injection. A small document is built whole (``write_csv``, ``csv_download``); a large one is
streamed in chunks as its rows are read (``csv_stream``), so its size never sits in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

#: a cell starting with one of these is read as a formula by Excel, LibreOffice or Google
#: Sheets (OWASP "CSV injection"); tab and carriage return can hide such a start
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: the byte-order mark that tells spreadsheet programs the file is UTF-8
BOM = "\ufeff"
#: lines per chunk of a streamed document: a few tens of kilobytes, so the server writes
#: few, full packets while a chunk costs next to nothing to hold
CHUNK_LINES = 500


def safe_cell(value: Any) -> str:
    """The text of one CSV cell, safe to open in a spreadsheet.

    ``None`` is empty, booleans are ``true``/``false``, dates and datetimes ISO 8601, dicts
    and lists JSON. Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading single quote, so the spreadsheet shows it as text instead of running it.
    Numbers (``int``, ``float``) are written as they are: ``-3`` cannot carry a formula.
    """
    kind = type(value)
    if kind is str:  # most cells: answered before the checks below (a streamed export's time)
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if kind is int:
        return str(value)
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


Row = Sequence[Any] | Mapping[str, Any]


def _cells(row: Row, header: Sequence[str]) -> list[str]:
    values = [row.get(name) for name in header] if isinstance(row, Mapping) else row
    return [safe_cell(value) for value in values]


class _Pieces(list):
    """What ``csv.writer`` writes to: the pieces of the lines, joined when a chunk is due
    (a ``StringIO`` measured four bytes a character here, even for plain ASCII)."""

    write = list.append

    def take(self) -> str:
        text = "".join(self)
        self.clear()
        return text


def csv_chunks(rows: Iterable[Row], header: Sequence[str], *,
               lines: int = CHUNK_LINES) -> Iterator[str]:
    """The document ``write_csv`` makes, as pieces: the header line alone first, then the
    rows ``lines`` at a time. Reads ``rows`` only as far as the pieces taken, so a generator
    of rows is never held whole."""
    out = _Pieces()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    yield out.take()
    pending = 0
    for row in rows:
        writer.writerow(_cells(row, header))
        pending += 1
        if pending == lines:
            yield out.take()
            pending = 0
    if pending:
        yield out.take()


def write_csv(rows: Iterable[Row], header: Sequence[str]) -> str:
    """A whole CSV document: ``header`` then one line per row, every cell through ``safe_cell``.

    A row is a sequence in header order or a mapping keyed by the header's names (missing
    keys are empty cells). Lines end with CRLF (RFC 4180); quoting is csv's minimal quoting.
    """
    return "".join(csv_chunks(rows, header))


def csv_download(body: str, filename: str) -> Any:
    """A CSV document as a download: UTF-8 with a byte-order mark, so spreadsheet programs
    read accents and other scripts correctly, and never cached."""
    from flask import Response

    return Response(BOM + body, mimetype="text/csv", headers=_download_headers(filename))


def csv_stream(rows: Iterable[Row], header: Sequence[str], filename: str) -> Any:
    """A CSV download streamed as ``rows`` are read: the byte-order mark and the header
    line first, then the rows (as ``write_csv`` writes them, formula-safe) a few hundred
    lines per chunk. The whole body is never built, so a generator reading the database in
    batches keeps memory flat however many rows there are.

    Call it from a view: the body is produced after the view returns, inside the request's
    contexts again (``stream_with_context``), so ``rows`` may query the database (it
    gets the session anew; objects loaded before the view returned are detached). UTF-8
    with a byte-order mark, never cached, as ``csv_download``."""
    from flask import Response, stream_with_context

    def body() -> Iterator[str]:
        chunks = csv_chunks(rows, header)
        yield BOM + next(chunks)
        yield from chunks

    return Response(stream_with_context(body()), mimetype="text/csv",
                    headers=_download_headers(filename))


def _download_headers(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"}
