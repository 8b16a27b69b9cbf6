"""Formula-safe CSV cells and documents."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from dap.core.csv import safe_cell, write_csv


@pytest.mark.parametrize("dangerous", [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
])
def test_cells_a_spreadsheet_would_run_get_a_leading_quote(dangerous):
    assert safe_cell(dangerous) == "'" + dangerous


@pytest.mark.parametrize("harmless", ["Alex", "a=b", "x+y", "name@example.org", " =1", "'quoted",
                                      "", "Zoë 李"])
def test_other_text_is_unchanged(harmless):
    assert safe_cell(harmless) == harmless


@pytest.mark.parametrize(("value", "text"), [
    (None, ""),
    (True, "true"),
    (False, "false"),
    (-3, "-3"),
    (2.5, "2.5"),
    (date(2026, 3, 2), "2026-03-02"),
    (datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "2026-03-02T09:30:00+00:00"),
    ({"b": 1, "a": "x"}, '{"a": "x", "b": 1}'),
    (["=cmd"], '["=cmd"]'),
])
def test_values_of_other_types(value, text):
    assert safe_cell(value) == text


def test_any_object_is_written_as_its_text_and_neutralised():
    class Named:
        def __str__(self) -> str:
            return "=evil()"

    assert safe_cell(Named()) == "'=evil()"


def test_write_csv_quotes_and_neutralises_every_cell_including_the_header():
    text = write_csv([["=1+1", 'say "hi", twice', "line\nbreak"], {"a": "@x", "c": "ignored"}],
                     header=["a", "b", "-c"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["a", "b", "'-c"],
        ["'=1+1", 'say "hi", twice', "line\nbreak"],
        ["'@x", "", ""],
    ]
    assert text.endswith("\r\n")


def test_write_csv_with_no_rows_is_just_the_header():
    assert write_csv([], ["when", "who"]) == "when,who\r\n"
