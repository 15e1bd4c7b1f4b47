"""The export benchmark works end to end on a small generated organisation: it exports for real (cut into parts
under a lowered limit), imports every part into a new database and prints its table."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import export_bench
from benchmarks.generate_org import generate


def test_the_benchmark_exports_a_generated_org_in_parts_and_imports_it_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "org.duckdb"
    generate(db, 12, 2, 3, parents=2)
    assert export_bench.main(["--db", str(db), "--reimport", "--max-upload-mb", "0.1"]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert "export s" in table[0] and "peak RSS MB" in table[0] and "re-import s" in table[0]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])}
    assert set(rows) == {"csv", "xlsx"}
    for cells in rows.values():
        assert cells[1] == "1,680"  # 12 units x 2 rounds x 70 items
        assert int(cells[2]) >= 2, "0.1 MB is below the export's size: it must come in parts"
        assert float(cells[3]) <= 0.1
        answered, _, original = cells[9].partition(" of ")
        assert answered == original and int(original.replace(",", "")) > 1_600
    assert "Target: Excel export peak under 500 MB:" in out


def test_a_missing_database_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"run python benchmarks/generate_org\.py"):
        export_bench.main(["--db", str(tmp_path / "absent.duckdb")])
