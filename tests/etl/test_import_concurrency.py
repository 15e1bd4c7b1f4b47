"""The command line imports into the database a running dashboard has open, and waits politely when it must.

DuckDB lets one process write a file at a time; the dashboard and the command line both open it only for
one operation. These tests run the real programs as subprocesses and always stop them in `finally`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard import store
from dashboard.db import connect
from tests.processes import free_port, stop_process

from .conftest import CLI_USER, REPO_ROOT, run_cli

CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 60
ROWS = "unit,assessment,assessed_on,item_id,maturity,evidence\n" + "".join(
    f"Treasury,2026-Q3,2026-09-01,{item},2,evidence {n}\n" for n, item in enumerate(("4.1", "4.2", "5.2", "A.2.2")))


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "AIMS_"))}
    env.update({"AIMS_DB": str(db), "AIMS_LOCK_WAIT_SECONDS": "10", "AIMS_USER": CLI_USER, "PYTHONIOENCODING": "utf-8"})
    return env


def _get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`python -m streamlit run app.py` on a new database file; (base URL, database path)."""
    db = tmp_path / "shared.duckdb"
    port = free_port()
    log = tmp_path / "streamlit.log"
    # bound to loopback: a headless server without an address looks up its external IP on the internet
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=_env(db), stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if _get(base + "/_stcore/health") == (200, b"ok"):
                    break
            except (urllib.error.URLError, OSError):
                pass
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield base, db
    finally:
        stop_process(process)


READER = textwrap.dedent("""
    import sys, time
    from dashboard import store
    from dashboard.db import connect
    seen, reads, stop = set(), 0, time.monotonic() + float(sys.argv[2])
    while time.monotonic() < stop:
        with connect(sys.argv[1], wait=10) as con:   # what every cached read of the dashboard does
            seen.add(len(store.list_assessments(con)))
        reads += 1
        time.sleep(0.02)
    print(reads, sorted(seen))
""")


def test_cli_imports_while_the_dashboard_is_open_and_reading(dashboard: tuple[str, Path], tmp_path: Path) -> None:
    base, db = dashboard
    status, page = _get(base + "/")
    assert status == 200 and b"<div id=\"root\">" in page
    source = tmp_path / "treasury.csv"
    source.write_text(ROWS, encoding="utf-8")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), "6"], cwd=REPO_ROOT, env=_env(db),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # the reader is now opening and closing the file in a loop
        result = run_cli(db, "import", str(source))
        out, err = reader.communicate(timeout=60)
    finally:
        stop_process(reader)
    assert result.returncode == 0, result.stderr
    assert "4 new responses" in result.stdout
    assert reader.returncode == 0, err
    reads, seen = out.split(" ", 1)
    assert int(reads) > 20
    assert seen.strip() == "[0, 1]"  # the reader saw the database before and after the import, never an error
    assert _get(base + "/_stcore/health") == (200, b"ok")
    with connect(db) as con:
        assert store.get_assessment(con, unit="Treasury", label="2026-Q3") is not None
        assert con.execute("SELECT count(*) FROM response").fetchall() == [(4,)]


def test_cli_imports_while_a_browser_has_the_dashboard_open(dashboard: tuple[str, Path], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (requirements-dev.txt)")
    base, db = dashboard
    source = tmp_path / "treasury.csv"
    source.write_text(ROWS, encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(base + "/")
            page.get_by_text("The database is empty").wait_for(timeout=30_000)  # the app ran and opened the file
            result = run_cli(db, "import", str(source))
            assert result.returncode == 0, result.stderr
            page.reload()
            page.get_by_text("Clause maturity").wait_for(timeout=30_000)
            assert page.get_by_text("1 unit(s)").count() >= 1
        finally:
            browser.close()


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    with connect(db):
        pass  # create and migrate the file first
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_cli_says_it_waits_for_a_process_holding_the_file_then_imports(tmp_path: Path) -> None:
    """The command line validates the file first (no database needed), then waits for the holder, says so,
    and imports once the file is released: the holder lets go only after the waiting message appeared."""
    db, source = tmp_path / "held.duckdb", tmp_path / "treasury.csv"
    source.write_text(ROWS, encoding="utf-8")
    holder = _hold(db, 60.0)
    env = {**os.environ, "AIMS_USER": CLI_USER, "AIMS_LOCK_WAIT_SECONDS": "30", "PYTHONIOENCODING": "utf-8"}
    cli = subprocess.Popen([sys.executable, "-m", "etl", "--db", str(db), "import", str(source)], cwd=REPO_ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        assert cli.stderr is not None
        said = cli.stderr.readline()  # blocks until the command line is waiting for the file
        stop_process(holder)
        out, err = cli.communicate(timeout=60)
    finally:
        stop_process(holder)
        stop_process(cli)
    assert cli.returncode == 0, said + err
    assert "is in use by" in said and "waiting up to 30 s" in said
    assert "4 new responses" in out
    with connect(db) as con:
        assert con.execute("SELECT count(*) FROM response").fetchall() == [(4,)]


def test_cli_gives_up_with_a_clear_message_when_the_file_stays_busy(tmp_path: Path) -> None:
    db, source = tmp_path / "held.duckdb", tmp_path / "treasury.csv"
    source.write_text(ROWS, encoding="utf-8")
    holder = _hold(db, 30.0)  # longer than the command line takes to validate the file and then wait 5 s
    try:
        result = run_cli(db, "import", str(source))
    finally:
        stop_process(holder)
    assert result.returncode == 1
    assert "was not released within 5 s" in result.stderr and "AIMS_LOCK_WAIT_SECONDS" in result.stderr
    with connect(db) as con:
        assert con.execute("SELECT count(*) FROM response").fetchall() == [(0,)]
