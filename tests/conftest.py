"""Fixtures shared by the test folders: the catalog, a new database file, an open connection on it,
the demo database (built once, copied per test) and the fake LLM server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dashboard.catalog import Catalog, load_catalog
from dashboard.db import connect
from etl.demo import load_demo
from tests.llm_server import ChatServer, use_server
from tests.principals import ADMIN


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "aims.duckdb"


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open connection (migrated, catalog synced) on a new database file, closed after the test."""
    with connect(db_path, wait=5) as connection:
        yield connection


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with connect(path) as con:
        results = load_demo(con, principal=ADMIN, by="tests")
    assert all(r.ok for r in results)
    return path


@pytest.fixture
def demo_db_copy(demo_db_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database (tmp_path / "demo.duckdb"); sets no environment variable."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_template, path)
    return path


@pytest.fixture
def chat_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """The local fake chat-completions server, running, with the AIMS_LLM_ settings pointed at it."""
    with ChatServer() as running:
        use_server(monkeypatch, running)
        yield running
