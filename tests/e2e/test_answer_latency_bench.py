"""The answer-latency benchmark runs end to end on a small section: it starts the dashboard, answers in Chromium,
checks every answer reached the database (it exits otherwise) and prints its table."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import answer_latency
from tests.e2e.conftest import CHROMIUM, ENABLE

pytestmark = pytest.mark.e2e


def test_the_benchmark_answers_a_section_and_prints_p50_and_p95(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser test skipped: {CHROMIUM} not found. {ENABLE}")
    pytest.importorskip("playwright", reason=f"browser test skipped: playwright is not installed. {ENABLE}")
    assert answer_latency.main(["--section", "10"]) == 0  # 2 items x (a level and 4 text fields)
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert "p50 s (shown)" in table[0] and "p95 s (shown)" in table[0]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])}
    assert set(rows) == {"level", "evidence", "owner", "due date", "notes", "all"}
    assert rows["all"][1] == "10" and all(rows[kind][1] == "2" for kind in ("level", "due date"))
    assert 0 < float(rows["all"][2]) <= float(rows["all"][3]) < 30
    assert "Target: p50 under 0.3 s:" in out


def test_percentiles_interpolate_between_ranks() -> None:
    assert answer_latency.percentile([0.1, 0.2, 0.3, 0.4], 50) == pytest.approx(0.25)
    assert answer_latency.percentile([0.1, 0.2, 0.3, 0.4, 1.0], 95) == pytest.approx(0.88)
