"""Two processes on one PostgreSQL store: a write by one shows in the other's dashboard on its next interaction.

The dashboard (AppTest, in this process) keys its cached reads by the server's change token; the write comes from
another process (`python -m etl import`), as from a second dashboard server behind a proxy. Needs the throwaway
server of tests/pg.py: skipped, saying why, where PostgreSQL's binaries or the driver are missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import pg_copy
from tests.pages.conftest import APP, ROOT


def _open_gaps(app: AppTest) -> int:
    return int({m.label: m.value for m in app.metric}["Open gaps"])


def test_a_write_from_another_process_shows_on_the_next_interaction(
        request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_server: Any) -> None:
    url = pg_copy(request, "demo_pg_template")
    monkeypatch.setenv("AIMS_DB", url)
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    before = _open_gaps(app)
    app.run()  # a rerun with nothing changed: the cached figures, the same
    assert _open_gaps(app) == before
    (tmp_path / "new.csv").write_text("unit,assessment,assessed_on,item_id,maturity\nNew Unit,2026-Q4,2026-11-01,5.2,0\n")
    done = subprocess.run([sys.executable, "-m", "etl", "--db", url, "import", str(tmp_path / "new.csv")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    app.run()
    assert not app.exception, app.exception
    assert _open_gaps(app) == before + 1
