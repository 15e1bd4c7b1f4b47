"""The undo benchmark runs end to end on small workbooks: two real imports, two real undos, the table printed."""

from __future__ import annotations

import pytest

from benchmarks import undo_bench


def test_the_undo_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert undo_bench.main(["--rows", "700"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][2:]
    steps = [row.split("|")[1].strip() for row in rows]
    assert steps == ["import (creates)", "import (changes)", "undo (restores)", "undo (removes)", "near-duplicate units"]
    assert "0 value(s) restored; 690 answer(s) removed; 10 round(s) removed" in rows[3]  # 10 rows only restate the defaults
