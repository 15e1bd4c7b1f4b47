"""`python -m etl campaign …` on real database files: start (for a parent, with assessors and a target), list,
status with its CSV and Excel exports (human headers, formula injection neutralised), submit / return / finalise
with their refusals, overdue with mailto links; one run through a real subprocess."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from dashboard import access, campaigns, review, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from etl.cli import main
from tests.dashboard.helpers import stage
from tests.principals import ADMIN

from .conftest import CLI_USER

HOSTILE = "=HYPERLINK(\"http://x\")"


@pytest.fixture
def org(db_path: Path | str) -> Path | str:
    """A small organisation on a new database (a file, or a server database's URL in the [postgres] runs)."""
    path = db_path
    with connect(path) as con:
        for name, parent in (("Group", None), ("Banking", "Group"), ("Insurance", "Group"), (HOSTILE, "Group"),
                             ("Other", None)):
            store.ensure_unit(con, name, parent)
    return path


def run(db: Path, *args: str) -> int:
    return main(["--db", str(db), "campaign", *args])


def launch(db: Path, *extra: str) -> int:
    return run(db, "start", "--name", "AIMS 2026", "--parent", "Group", "--scope", "clauses", "--label", "2026-Q1",
               "--date", "2026-01-15", "--due", "2026-02-27", "--target", "4",
               "--assessor", "Banking=ann@example.org", "--assessor", "Banking=bob@example.org", *extra)


def ids(db: Path) -> dict[str, int]:
    with connect(db) as con:
        return {r.unit: int(r.id) for r in store.list_assessments(con).itertuples()}


def answer_all(db: Path, assessment_id: int, leave_out: int = 0) -> None:
    items = [i.id for i in load_catalog().items if i.kind == "clause"]
    with connect(db) as con:
        con.execute("BEGIN TRANSACTION")
        store.upsert_responses(con, stage(assessment_id, {i: {"maturity": 3} for i in items[: len(items) - leave_out]}),
                               by="ann", source="form")
        con.execute("COMMIT")


def test_start_list_and_status_with_exports(org: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert launch(org) == 0
    said = capsys.readouterr().out
    assert "Launched campaign 1 'AIMS 2026': 4 round(s) 2026-Q1 (clauses) dated 2026-01-15, due 2026-02-27." in said
    assert "Assessor role granted: ann@example.org → Banking; bob@example.org → Banking" in said
    with connect(org) as con:
        made = store.list_assessments(con)
        assert sorted(made["unit"]) == sorted(["Banking", "Group", "Insurance", HOSTILE])
        assert set(made["default_target"]) == {4}
        bob = access.resolve(con, "bob@example.org", "Bob")
        assert bob.role == "assessor" and len(bob.unit_ids) == 1
        logged = con.execute("SELECT changed_by FROM change_log WHERE field = 'role'").fetchall()
        assert logged == [(CLI_USER,), (CLI_USER,)]
    assert run(org, "list") == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["Id", "Campaign", "Round", "Scope", "Due", "Units", "Finalised", "Launched", "by",
                                 "Launched", "at"]
    assert listed[1].split()[:7] == ["1", "AIMS", "2026", "2026-Q1", "clauses", "2026-02-27", "4"]

    answer_all(org, ids(org)["Banking"])
    out_csv, out_xlsx = tmp_path / "board.csv", tmp_path / "board.xlsx"
    assert run(org, "status", "--csv", str(out_csv), "--xlsx", str(out_xlsx)) == 0
    table = capsys.readouterr().out
    assert "3 not started, 1 in progress, 0 submitted, 0 returned, 0 finalised; 4 overdue" in table
    banking_line = next(line for line in table.splitlines() if "Banking" in line)
    assert "in progress" in banking_line and "100%" in banking_line and "ann@example.org, bob@example.org" in banking_line
    rows = list(csv.DictReader(io.StringIO(out_csv.read_bytes().decode("utf-8-sig"))))
    assert list(rows[0]) == ["Unit", "Assessment id", "Assessors", "State", "Answered", "Last activity", "Due",
                             "Overdue", "Days overdue", "Comments to address", "Active time", "First to last answer"]
    by_unit = {r["Unit"]: r for r in rows}
    assert by_unit["Banking"]["State"] == "in progress" and by_unit["Banking"]["Answered"] == "100%"
    assert by_unit["Group"]["State"] == "not started" and by_unit["Group"]["Due"] == "2026-02-27"
    assert "'" + HOSTILE in by_unit  # the unit's name is text, never a formula
    book = openpyxl.load_workbook(out_xlsx)
    assert book.sheetnames == ["Cover", "Board"]
    sheet = book["Board"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Unit", "Assessment id", "Assessors", "State"]
    cells = {row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["Banking"]["State"] == "in progress" and cells["Banking"]["Due"] == dt.datetime(2026, 2, 27)
    assert "'" + HOSTILE in cells and all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(min_row=3, values_only=True) if r[0]}
    assert cover["States"] == "3 not started, 1 in progress, 0 submitted, 0 returned, 0 finalised"


def test_status_refuses_a_wrong_extension_and_an_unknown_campaign(org: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(org, "status") == 1
    assert "No campaign yet" in capsys.readouterr().err
    assert launch(org) == 0
    assert run(org, "status", "--csv", str(tmp_path / "board.xlsx")) == 1
    assert "does not end in .csv" in capsys.readouterr().err
    assert run(org, "status", "--campaign", "9") == 1
    assert "No campaign with id 9" in capsys.readouterr().err


def test_a_clash_is_refused_naming_the_unit(org: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert launch(org) == 0
    capsys.readouterr()
    with connect(org) as con:
        before = con.execute("SELECT count(*) FROM assessment").fetchall()
    assert run(org, "start", "--name", "Again", "--unit", "Banking", "--unit", "Other", "--label", "2026-Q1") == 1
    assert "error: Banking already has a round labelled '2026-Q1'" in capsys.readouterr().err
    with connect(org) as con:
        assert con.execute("SELECT count(*) FROM assessment").fetchall() == before
    assert run(org, "start", "--name", "No units") == 1
    assert "--unit" in capsys.readouterr().err
    assert run(org, "start", "--name", "Bad", "--unit", "Other", "--assessor", "Other") == 1
    assert "NAME=VALUE" in capsys.readouterr().err


def test_submit_return_and_finalise(org: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert launch(org) == 0
    banking, group = ids(org)["Banking"], ids(org)["Group"]
    answer_all(org, group, leave_out=4)
    capsys.readouterr()
    assert run(org, "submit", "--assessment", str(group)) == 1
    assert "Group 2026-Q1 cannot be submitted yet — 4 applicable item(s) not assessed yet" in capsys.readouterr().err
    assert run(org, "return", "--assessment", str(banking), "--round-comment", "why?") == 1
    assert "is not started, not submitted" in capsys.readouterr().err
    answer_all(org, banking)
    assert run(org, "submit", "--assessment", str(banking), "--comment", "4.1=x") == 1
    assert "comments go with return" in capsys.readouterr().err
    assert run(org, "submit", "--assessment", str(banking)) == 0
    assert f"assessment {banking} is now submitted" in capsys.readouterr().out
    assert run(org, "return", "--assessment", str(banking), "--comment", "4.1=Name the parties",
               "--comment", "5.2=Attach the signed policy", "--round-comment", "Nearly there") == 0
    assert "Returned with 3 comment(s)" in capsys.readouterr().out
    with connect(org) as con:
        seen = review.comments(con, banking, principal=ADMIN)
    assert seen[["item_id", "comment", "by"]].values.tolist() == [
        [None, "Nearly there", CLI_USER], ["4.1", "Name the parties", CLI_USER], ["5.2", "Attach the signed policy", CLI_USER]]
    assert run(org, "finalise", "--assessment", str(banking)) == 1
    assert "was returned to its assessors" in capsys.readouterr().err
    assert run(org, "submit", "--assessment", str(banking)) == 0
    assert run(org, "finalise", "--assessment", str(banking)) == 0
    assert f"Finalised: assessment {banking} is now finalised." in capsys.readouterr().out
    with connect(org) as con:
        assert store.get_assessment(con, banking).is_final
        steps = con.execute("SELECT new_value, changed_by FROM change_log WHERE field = 'review' AND assessment_id = ? "
                            "ORDER BY id", [banking]).fetchall()
    assert steps == [("submitted", CLI_USER), ("returned", CLI_USER), ("submitted", CLI_USER), ("finalised", CLI_USER)]


def test_overdue_lists_the_late_units_with_mailto_links(org: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert launch(org) == 0  # due 2026-02-27, long past
    answer_all(org, ids(org)["Insurance"])
    assert run(org, "submit", "--assessment", str(ids(org)["Insurance"])) == 0
    capsys.readouterr()
    out = tmp_path / "late.csv"
    assert run(org, "overdue", "--csv", str(out)) == 0
    said = capsys.readouterr().out
    assert "3 round(s) overdue (nothing is sent" in said
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert list(rows[0]) == ["Unit", "Assessors", "Due", "Days overdue", "State", "Email link"]
    late = {r["Unit"]: r for r in rows}
    assert set(late) == {"Banking", "Group", "'" + HOSTILE}  # Insurance was submitted
    assert late["Banking"]["Assessors"] == "ann@example.org, bob@example.org"
    assert late["Banking"]["Email link"].startswith("mailto:ann@example.org,bob@example.org?subject=AIMS%202026")
    assert int(late["Banking"]["Days overdue"]) == (dt.date.today() - dt.date(2026, 2, 27)).days
    with connect(org) as con:
        expected = campaigns.overdue(con, 1, principal=ADMIN)
    assert late["Banking"]["Email link"] == expected.set_index("unit").loc["Banking", "mailto"]


def test_the_real_entry_point_runs_a_campaign(org: Path, cli) -> None:
    started = cli(org, "campaign", "start", "--name", "Sub", "--unit", "Other", "--scope", "annex_a",
                  "--label", "2026-Q2", "--date", "2026-04-01")
    assert started.returncode == 0, started.stderr
    assert "Launched campaign 1 'Sub': 1 round(s) 2026-Q2 (annex_a)" in started.stdout
    status = cli(org, "campaign", "status")
    assert status.returncode == 0, status.stderr
    assert "1 not started" in status.stdout and "Other" in status.stdout
    with connect(org) as con:  # the store the process wrote to (a file or the server's database)
        assert con.execute("SELECT count(*) FROM campaign_round").fetchall() == [(1,)]
