"""The time-to-assess benchmark runs the compact questionnaire end to end on the demo data and measures its session
with dashboard.timing: every answer saved, the break left out of the active time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks import assess_time_bench as bench


def test_a_session_without_a_break_is_all_active(demo_db_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "session.duckdb"
    shutil.copy(demo_db_template, db)
    result = bench.simulate(str(db), "Group IT", bench.Model(think=5, break_minutes=0), seed=1)
    assert result["items"] == 32 and result["answers"] >= 32  # a level per item, evidence where the demo has one
    assert result["active_s"] == result["elapsed_s"] > 32 * 5  # no gap reached the pause
    # the first answer's own time is before the first event: active is the session less that, to the second
    assert result["person_s"] + result["app_s"] - 60 < result["active_s"] <= result["person_s"] + result["app_s"] + 1


def test_the_benchmark_prints_the_demo_count_and_leaves_the_break_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--think", "5", "--sessions", "1", "--evidence-chars", "10"]) == 0
    out = capsys.readouterr().out
    assert "demo data: 30 assessments, 0 answer events" in out
    rows = [line for line in out.splitlines() if line.startswith("| 5 s |")]
    cells = [cell.strip() for cell in rows[-1].split("|")]
    assert cells[3] == "32"  # items
    assert cells[4] == "0"  # nothing kept from the previous round
    active, elapsed = float(cells[6]), float(cells[8])  # minutes
    assert elapsed - active >= 20  # the 20-minute break after section 6 is elapsed, not active


def test_a_second_round_keeps_part_of_the_previous_answers_with_one_click(demo_db_template: Path, tmp_path: Path) -> None:
    first_db, second_db = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    shutil.copy(demo_db_template, first_db)
    shutil.copy(demo_db_template, second_db)
    first = bench.simulate(str(first_db), "Group IT", bench.Model(think=5, break_minutes=0), seed=1)
    second = bench.simulate(str(second_db), "Group IT", bench.Model(think=5, break_minutes=0, carry=60), seed=1)
    assert first["kept"] == 0 and second["kept"] >= 15  # 60 % of the clause items the demo's previous round answered
    assert second["answers"] >= 32  # kept answers are answers too (the run checked each item holds what it kept)
    assert second["person_s"] < first["person_s"]  # no typing for the kept items
