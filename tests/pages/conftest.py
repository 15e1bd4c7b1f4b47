"""Fixtures for page tests: a database file with the demo data (the template is in tests/conftest.py), copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture
def demo_db(demo_db_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo database, set as AIMS_DB for the app under test."""
    path = tmp_path / "aims.duckdb"
    shutil.copy(demo_db_template, path)
    monkeypatch.setenv("AIMS_DB", str(path))
    return path


@pytest.fixture
def empty_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "empty.duckdb"
    monkeypatch.setenv("AIMS_DB", str(path))
    return path
