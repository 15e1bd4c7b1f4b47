"""A responses export of any size imports again: above the import limit it is written as parts of whole units,
each within the limits the importer applies, and importing every part gives back the same answers."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from benchmarks.generate_org import generate
from dashboard import store
from dashboard.db import connect
from etl import response_exports
from etl.archive import MIB, Limits
from etl.canonical import COLUMNS
from etl.cli import main
from tests.principals import ADMIN

ANSWERS = ["unit", "assessment", "assessed_on", "item_id", "maturity", "target", "applicable", "justification",
           "evidence", "owner", "due_date", "notes"]


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("org") / "org.duckdb"
    generate(path, 24, 3, 7, parents=3)  # 72 assessments x 70 items = 5,040 rows, about 650 KB as CSV
    return path


def answers(db: Path) -> list[tuple[object, ...]]:
    with connect(db) as con:
        frame = store.responses(con, principal=ADMIN)
    frame = frame[frame["unit"].isin(frame.loc[frame["assessment"].notna(), "unit"])]
    return sorted(tuple(str(v) for v in row) for row in frame[ANSWERS].itertuples(index=False))


def units_in(part: Path) -> set[str]:
    if part.suffix == ".csv":
        return {row["unit"] for row in csv.DictReader(io.StringIO(part.read_bytes().decode("utf-8-sig"), newline=""))}
    book = openpyxl.load_workbook(part, read_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        assert next(rows) == tuple(COLUMNS)
        return {row[0] for row in rows}
    finally:
        book.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_above_the_limit_is_cut_into_parts_of_whole_units_that_import_back(
        org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    monkeypatch.setenv("AIMS_MAX_UPLOAD_MB", "0.15")  # the export and the import read the same setting
    out = tmp_path / f"responses.{fmt}"
    assert main(["--db", str(org), "export", "responses", "--format", fmt, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    parts = sorted(tmp_path.glob(f"responses-part*-of-*.{fmt}"))
    assert len(parts) >= 3 and not out.exists(), (parts, printed)
    assert f"to {len(parts)} files" in printed and all(str(p) in printed for p in parts)
    seen: list[set[str]] = []
    for part in parts:
        assert part.stat().st_size <= 0.15 * MIB, (part, part.stat().st_size)
        if fmt == "xlsx":
            with zipfile.ZipFile(part) as archive:
                assert archive.testzip() is None
        seen.append(units_in(part))
    assert sum(len(s) for s in seen) == len(set().union(*seen)) == 24, "a unit was cut across two parts"

    copy = tmp_path / "copy.duckdb"
    assert main(["--db", str(copy), "import", *map(str, parts)]) == 0
    assert answers(copy) == answers(org)
    assert main(["--db", str(copy), "import", *map(str, parts)]) == 0  # again: nothing is duplicated
    assert "already imported" in capsys.readouterr().out
    assert answers(copy) == answers(org)


def test_an_export_within_the_limit_is_one_file_at_the_path_given(org: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.xlsx"
    with connect(org) as con:
        files, rows = response_exports.write_responses(con, out, "xlsx", principal=ADMIN)
    assert files == [out] and rows == 24 * 3 * 70
    assert len(list(tmp_path.iterdir())) == 1, list(tmp_path.iterdir())  # no scratch file left behind
    assert len(units_in(out)) == 24


def test_a_unit_larger_than_a_part_is_cut_between_its_rounds(org: Path, tmp_path: Path) -> None:
    with connect(org) as con:
        files, _ = response_exports.write_responses(con, tmp_path / "r.csv", "csv", limits=Limits(max_file_bytes=12_000), principal=ADMIN)
    assert len(files) >= 24 * 3  # one round of 70 rows is about 9 KB: each part holds one round
    rounds = [{(row["unit"], row["assessment"]) for row in csv.DictReader(io.StringIO(f.read_bytes().decode("utf-8-sig")))}
              for f in files]
    assert all(len(r) == 1 for r in rounds) and len(set().union(*rounds)) == 72


def test_a_round_too_large_for_any_part_is_refused_with_the_setting_to_change(org: Path, tmp_path: Path) -> None:
    with connect(org) as con, pytest.raises(ValueError, match=r"too large for one file .*AIMS_MAX_UPLOAD_MB"):
        response_exports.write_responses(con, tmp_path / "r.csv", "csv", limits=Limits(max_file_bytes=2_000), principal=ADMIN)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
