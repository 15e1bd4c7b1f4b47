"""Fixtures shared by the test folders: the catalog, a new database (file or PostgreSQL database), an open
connection on it, the demo database (built once, copied per test) and the fake LLM server.

The store's tests run on each store: in the modules of `STORE_TESTS`, every test that uses `db_path`, `con`,
`demo_db_copy` (or `demo_db` in tests/etl) runs once on a DuckDB file (`[duckdb]`) and once on a database of a
throwaway PostgreSQL server (`[postgres]`, tests/pg.py) that the session starts on first use; where the server
cannot be started the `[postgres]` runs are skipped and say why. Elsewhere these fixtures give a DuckDB file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dashboard.catalog import Catalog, load_catalog
from dashboard.db import connect
from etl.demo import load_demo
from tests import pg
from tests.llm_server import ChatServer, use_server
from tests.principals import ADMIN

ROOT = Path(__file__).resolve().parents[1]

# test modules run on both stores (paths from the repository root)
STORE_TESTS = frozenset({
    "tests/dashboard/test_store.py", "tests/dashboard/test_scoring.py", "tests/dashboard/test_access.py",
    "tests/dashboard/test_latest.py", "tests/dashboard/test_undo.py", "tests/dashboard/test_units.py",
    "tests/dashboard/test_pg_store.py",
    "tests/etl/test_import_bulk.py", "tests/etl/test_import_canonical.py", "tests/etl/test_import_dates.py",
    "tests/etl/test_import_layouts.py", "tests/etl/test_import_recognition.py", "tests/etl/test_import_report.py",
    "tests/etl/test_import_values.py", "tests/etl/test_import_wide.py", "tests/etl/test_exports.py",
    "tests/etl/test_export_parts.py", "tests/pages/test_overview.py", "tests/pages/test_dashboards.py",
    "tests/pages/test_assess.py", "tests/pages/test_import_page.py", "tests/pages/test_undo_and_units_pages.py",
    "tests/pages/test_latest_views.py",
    # campaigns: launch, review, comments, assessors, the board, the final-only setting, and the access pages
    "tests/dashboard/test_campaigns.py", "tests/dashboard/test_timing.py", "tests/etl/test_campaign_cli.py",
    "tests/pages/test_campaigns_page.py", "tests/pages/test_access_pages.py", "tests/pages/test_final_only.py",
})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" not in metafunc.fixturenames:
        return
    module = Path(str(metafunc.definition.fspath)).resolve().relative_to(ROOT).as_posix()
    if module in STORE_TESTS and not metafunc.definition.get_closest_marker("duckdb_only"):
        metafunc.parametrize("store", ["duckdb", "postgres"], indirect=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    """A throwaway PostgreSQL server for the whole session, or a skip that says why there is none."""
    reason = pg.unavailable()
    if reason:
        pytest.skip(f"PostgreSQL store not tested: {reason}")
    with pg.PgServer() as server:
        yield server


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """Which store the test's database is: "duckdb" (a file) or "postgres" (a server's database)."""
    name = getattr(request, "param", "duckdb")
    if name == "postgres":
        request.getfixturevalue("pg_server")
    return name


def _close_pooled() -> None:
    """Let go of idle server connections (a database used as a template must have none)."""
    from dashboard import db
    from dashboard import pg as store_pg

    db._LINGERING.close_all()
    store_pg.POOL.close_all()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def db_path(tmp_path: Path, store: str, request: pytest.FixtureRequest) -> Any:
    """A new database: a file path on DuckDB, a `postgresql://` URL (str) of a new database on PostgreSQL."""
    if store == "postgres":
        return new_pg_database(request)
    return tmp_path / "aims.duckdb"


def new_pg_database(request: pytest.FixtureRequest, template: str | None = None) -> str:
    """A new database on the session's server, dropped when the test ends (a test's data folder stays small)."""
    server = request.getfixturevalue("pg_server")
    url = server.new_database(template=template)

    def drop() -> None:
        _close_pooled()
        server.drop_database(url)

    request.addfinalizer(drop)
    return url


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open connection (migrated, catalog synced) on a new database file, closed after the test."""
    with connect(db_path, wait=5) as connection:
        yield connection


def _load_demo(target: Any) -> Any:
    with connect(target) as con:
        results = load_demo(con, principal=ADMIN, by="tests")
    assert all(r.ok for r in results)
    return target


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _load_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


@pytest.fixture(scope="session")
def demo_pg_template(pg_server: pg.PgServer) -> str:
    """The demo data loaded once into a server database, copied (CREATE DATABASE … TEMPLATE) per test."""
    url = _load_demo(pg_server.new_database())
    _close_pooled()
    return url.rsplit("/", 1)[1]


def pg_copy(request: pytest.FixtureRequest, template_fixture: str) -> str:
    template = request.getfixturevalue(template_fixture)
    _close_pooled()
    return new_pg_database(request, template)


@pytest.fixture
def demo_db_copy(demo_db_template: Path, tmp_path: Path, store: str, request: pytest.FixtureRequest) -> Any:
    """A private copy of the demo database (tmp_path / "demo.duckdb", or a server database's URL); sets no
    environment variable."""
    if store == "postgres":
        return pg_copy(request, "demo_pg_template")
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_template, path)
    return path


@pytest.fixture
def chat_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """The local fake chat-completions server, running, with the AIMS_LLM_ settings pointed at it."""
    with ChatServer() as running:
        use_server(monkeypatch, running)
        yield running
