"""Shared fixtures for the etl tests: real DuckDB files, real .xlsx/.csv bytes, a CLI runner, DB snapshots."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from dashboard.db import connect
from etl.canonical import COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = ("unit", "assessment", "response", "change_log", "import_batch")
CLI_USER = "etl-test"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never touch the real database; fixed user name; default limits."""
    monkeypatch.setenv("AIMS_DB", str(tmp_path / "default-should-not-be-used.duckdb"))
    monkeypatch.setenv("AIMS_USER", CLI_USER)
    monkeypatch.setenv("AIMS_LOCK_WAIT_SECONDS", "5")
    monkeypatch.delenv("AIMS_MAX_UPLOAD_MB", raising=False)




# --- building files ------------------------------------------------------------------------------

Row = dict[str, Any]


def _table(rows: Sequence[Row], columns: Sequence[str] | None) -> tuple[list[str], list[list[Any]]]:
    cols = list(columns) if columns is not None else [c for c in COLUMNS if any(c in r for r in rows)]
    return cols, [[r.get(c) for c in cols] for r in rows]


def xlsx_bytes(
    rows: Sequence[Row], columns: Sequence[str] | None = None, *, sheet: str = "Responses",
    start_col: int = 1, blank_rows_before: int = 0,
) -> bytes:
    """A real .xlsx written by openpyxl: a header row then one row per dict."""
    cols, body = _table(rows, columns)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    first = 1 + blank_rows_before
    for c, name in enumerate(cols):
        ws.cell(row=first, column=start_col + c, value=name)
    for r, values in enumerate(body, start=first + 1):
        for c, value in enumerate(values):
            if value is not None:
                ws.cell(row=r, column=start_col + c, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(
    rows: Sequence[Row], columns: Sequence[str] | None = None, *, delimiter: str = ",",
    encoding: str = "utf-8", bom: bool = False,
) -> bytes:
    cols, body = _table(rows, columns)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(cols)
    for values in body:
        writer.writerow(["" if v is None else v for v in values])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.fixture
def make_xlsx() -> Callable[..., bytes]:
    return xlsx_bytes


@pytest.fixture
def make_csv() -> Callable[..., bytes]:
    return csv_bytes


# --- database snapshots --------------------------------------------------------------------------


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Row counts and the full ordered content of every data table."""
    out: dict[str, Any] = {}
    for table in TABLES:
        out[f"{table}.count"] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        columns = len(con.execute(f"SELECT * FROM {table} LIMIT 0").description)
        order = ", ".join(str(n) for n in range(1, columns + 1))  # DuckDB's ORDER BY ALL, in SQL both stores run
        out[table] = con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    return out


@pytest.fixture
def db_snapshot() -> Callable[[duckdb.DuckDBPyConnection], dict[str, Any]]:
    return snapshot


def snapshot_file(path: Path) -> dict[str, Any]:
    with connect(path) as connection:
        return snapshot(connection)


@pytest.fixture
def file_snapshot() -> Callable[[Path], dict[str, Any]]:
    return snapshot_file


# --- the command line ----------------------------------------------------------------------------


def run_cli(db: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m etl --db DB ARGS…` in a real subprocess, from the repository root."""
    env = dict(os.environ)
    env.update({"AIMS_USER": CLI_USER, "AIMS_LOCK_WAIT_SECONDS": "5", "PYTHONIOENCODING": "utf-8"})
    env.pop("AIMS_MAX_UPLOAD_MB", None)
    return subprocess.run(
        [sys.executable, "-m", "etl", "--db", str(db), *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=timeout, check=False,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


def copy_db(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    wal = Path(str(source) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(target) + ".wal"))
    return target


@pytest.fixture(scope="session")
def demo_db_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database loaded once with `python -m etl demo` (a real subprocess); copy it before changing it."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    result = run_cli(path, "demo")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="session")
def demo_pg_master(pg_server: Any) -> str:
    """The same on the throwaway PostgreSQL server: the template database's name."""
    from tests.conftest import _close_pooled

    url = pg_server.new_database()
    result = run_cli(url, "demo")
    assert result.returncode == 0, result.stderr
    _close_pooled()
    return url.rsplit("/", 1)[1]


@pytest.fixture
def demo_db(demo_db_master: Path, tmp_path: Path, store: str, request: pytest.FixtureRequest) -> Any:
    """A private copy of the demo database for one test (a server database's URL on PostgreSQL)."""
    if store == "postgres":
        from tests.conftest import pg_copy

        return pg_copy(request, "demo_pg_master")
    return copy_db(demo_db_master, tmp_path / "demo-copy.duckdb")
