"""Fixtures for page tests: a database file with the demo data (the template is in tests/conftest.py), copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture
def demo_db(demo_db_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str,
            request: pytest.FixtureRequest) -> Any:
    """A private copy of the demo database, set as AIMS_DB for the app under test (a server database's URL in the
    [postgres] runs of the modules in tests/conftest.py's STORE_TESTS)."""
    if store == "postgres":
        from tests.conftest import pg_copy

        url = pg_copy(request, "demo_pg_template")
        monkeypatch.setenv("AIMS_DB", url)
        return url
    path = tmp_path / "aims.duckdb"
    shutil.copy(demo_db_template, path)
    monkeypatch.setenv("AIMS_DB", str(path))
    return path


@pytest.fixture
def empty_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str, request: pytest.FixtureRequest) -> Any:
    if store == "postgres":
        from tests.conftest import new_pg_database

        url = new_pg_database(request)
        monkeypatch.setenv("AIMS_DB", url)
        return url
    path = tmp_path / "empty.duckdb"
    monkeypatch.setenv("AIMS_DB", str(path))
    return path
