"""Fixtures shared by the test folders: the catalog, a new database file, an open connection on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dashboard.catalog import Catalog, load_catalog
from dashboard.db import connect


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
