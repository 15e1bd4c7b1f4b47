"""Exports are safe to open: text that a spreadsheet could run as a formula is neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from etl.exports import neutralise, to_csv, to_xlsx

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "=1+1", "\tTAB", "\rCR", "-2+3+cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=", "-"])
def test_neutralise_prefixes_formula_characters(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["hello", "", "a=b", "1-2", "'quoted", " =1", "Procédure validée", "x@y.z"])
def test_neutralise_leaves_safe_text_alone(value: str) -> None:
    assert neutralise(value) == value


@pytest.mark.parametrize("value", [3, -1, 2.5, -0.5, None, True, dt.date(2026, 1, 1)])
def test_neutralise_leaves_non_text_alone(value: object) -> None:
    assert neutralise(value) is value


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "item_id": [f"4.{i + 1}" for i in range(len(DANGEROUS))] + ["5.1"],
        "evidence": [*DANGEROUS, "plain text"],
        "maturity": [*range(len(DANGEROUS)), 5],
        "score": [-1.0, 2.5, -0.25, 0.0, 3.0, 1.5, 4.75, -2.0, 0.5],
    })


def read_csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_neutralises_text_and_keeps_numbers() -> None:
    data = to_csv(frame())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_csv_rows(data)
    assert rows[0] == ["item_id", "evidence", "maturity", "score"]
    body = rows[1:]
    assert len(body) == len(DANGEROUS) + 1
    for original, row in zip(DANGEROUS, body, strict=False):
        assert row[1] == "'" + original
    assert body[-1][1] == "plain text"
    assert [row[2] for row in body] == [str(n) for n in [*range(len(DANGEROUS)), 5]]
    assert [float(row[3]) for row in body] == list(frame()["score"])
    assert body[0][3] == "-1"  # a negative number is a number, not formula text
    for row in body:
        for cell in (row[2], row[3]):
            assert not cell.startswith("'")


def test_csv_writes_blanks_dates_and_booleans_plainly() -> None:
    data = to_csv(pd.DataFrame({"d": [dt.date(2026, 8, 28), None], "b": [True, False], "n": [1.0, float("nan")]}))
    assert read_csv_rows(data)[1:] == [["2026-08-28", "yes", "1"], ["", "no", ""]]


def test_csv_numbers_keep_their_value() -> None:
    values = [1234567.0, 12345.678, 0.1234567]
    rows = read_csv_rows(to_csv(pd.DataFrame({"n": values})))
    assert [float(row[0]) for row in rows[1:]] == values


def test_xlsx_has_no_formulas_and_neutralised_text() -> None:
    data = to_xlsx([("Responses", frame())])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml

    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book["Responses"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    # xlsxwriter stores a carriage return with the OOXML escape _x000D_, which openpyxl does not decode
    texts = [str(r[1]).replace("_x000D_", "\r") for r in rows[: len(DANGEROUS)]]
    assert texts == ["'" + t for t in DANGEROUS]
    assert rows[-1][1] == "plain text"
    for ws_row in ws.iter_rows(min_row=2):
        assert ws_row[1].data_type == "s"
        assert ws_row[2].data_type == "n" and ws_row[3].data_type == "n"
    assert [r[2] for r in rows] == [*range(len(DANGEROUS)), 5]
    assert [r[3] for r in rows] == list(frame()["score"])
    assert ws.freeze_panes == "A2"


def test_xlsx_with_fixed_creation_time_is_reproducible() -> None:
    created = dt.datetime(2026, 9, 1, 9, 0, 0)
    first = to_xlsx([("A", frame()), ("B", frame().head(2))], created=created)
    second = to_xlsx([("A", frame()), ("B", frame().head(2))], created=created)
    assert first == second
    assert openpyxl.load_workbook(io.BytesIO(first)).sheetnames == ["A", "B"]
