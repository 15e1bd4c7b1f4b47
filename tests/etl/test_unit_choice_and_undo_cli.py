"""Near-duplicate unit names in imported files (the warning, the choice to use the existing unit, the hash), and the
command line's `imports`, `undo-import`, `merge-units` and `similar-units`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import store
from dashboard.db import connect
from etl.cli import main
from etl.importer import import_bytes, import_key
from etl.mapping import Mapping, MappingError
from etl.preview import preview_bytes
from etl.unit_aliases import parse_unit_aliases
from tests.principals import ADMIN

from .conftest import CLI_USER, REPO_ROOT

EXISTING = b"unit,assessment,assessed_on,item_id,maturity\nGroup IT,2026-Q1,2026-01-15,4.1,2\n"
NEAR = b"unit,assessment,assessed_on,item_id,maturity\nGroup I.T.,2026-Q2,2026-06-15,4.1,3\nGroup I.T.,2026-Q2,2026-06-15,4.2,1\n"
ALIAS = '{"units": {"Group I.T.": "Group IT"}}'


def unit_rounds(con) -> list[tuple[str, str]]:
    return con.execute("SELECT u.name, a.label FROM assessment a JOIN unit u ON u.id = a.unit_id ORDER BY ALL").fetchall()


@pytest.fixture
def seeded(con):
    assert import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="t").status == "imported"
    return con


def test_a_unit_like_an_existing_one_is_a_warning_and_would_be_created(seeded) -> None:
    result = import_bytes(seeded, "near.csv", NEAR, principal=ADMIN, by="t")
    assert result.status == "imported"
    [warning] = [p for p in result.problems if p.severity == "warning"]
    assert warning.message.startswith("unit 'Group I.T.' is not in the database but looks like the existing unit "
                                      "'Group IT' (same name apart from case, spacing or punctuation)")
    assert (warning.row, warning.column, warning.value, warning.expected) == (2, "unit", "Group I.T.", "Group IT")
    assert unit_rounds(seeded) == [("Group I.T.", "2026-Q2"), ("Group IT", "2026-Q1")]


def test_the_preview_warns_and_the_choice_removes_the_warning(seeded) -> None:
    plain = preview_bytes(seeded, "near.csv", NEAR)
    assert plain.units == ["Group I.T."] and plain.warnings == 1
    chosen = preview_bytes(seeded, "near.csv", NEAR, mapping=ALIAS)
    assert chosen.units == ["Group IT"] and chosen.warnings == 0 and chosen.status == "ready"


def test_the_choice_sends_the_rounds_to_the_existing_unit_and_is_part_of_the_hash(seeded) -> None:
    assert import_key(NEAR, mapping=ALIAS) != import_key(NEAR)
    result = import_bytes(seeded, "near.csv", NEAR, principal=ADMIN, by="t", mapping=ALIAS)
    assert result.status == "imported" and not result.problems
    assert unit_rounds(seeded) == [("Group IT", "2026-Q1"), ("Group IT", "2026-Q2")]
    assert import_bytes(seeded, "near.csv", NEAR, principal=ADMIN, by="t", mapping=ALIAS).status == "already imported"
    # without the choice it is another import (it would create the unit)
    assert import_bytes(seeded, "near.csv", NEAR, principal=ADMIN, by="t", dry_run=True).status == "dry run"


def test_a_choice_that_puts_two_rounds_of_the_file_into_one_is_an_error(seeded) -> None:
    both = NEAR + b"Group IT,2026-Q2,2026-06-15,4.3,2\n"
    result = import_bytes(seeded, "both.csv", both, principal=ADMIN, by="t", mapping=ALIAS)
    assert result.status == "rejected"
    assert any("puts two rounds of this file into one ('2026-Q2')" in p.message for p in result.problems)
    assert unit_rounds(seeded) == [("Group IT", "2026-Q1")]


def test_a_choice_naming_no_unit_of_the_file_is_a_warning(seeded) -> None:
    result = import_bytes(seeded, "near.csv", NEAR, principal=ADMIN, by="t", mapping='{"units": {"Payments": "Group IT"}}')
    assert any("the unit choice 'Payments' -> 'Group IT' names no unit of this file" in p.message
               for p in result.problems)


@pytest.mark.parametrize(("text", "units"), [
    (ALIAS, {"Group I.T.": "Group IT"}),
    ('{"units": {" Group  I.T. ": "Group IT"}, "maturity": "Score"}', {"Group I.T.": "Group IT"}),
])
def test_the_mapping_carries_unit_choices(text: str, units: dict[str, str]) -> None:
    mapping = Mapping.from_json(text)
    assert mapping.units == units and Mapping.from_json(mapping.to_json()) == mapping


@pytest.mark.parametrize("text", ['{"units": ["Group IT"]}', '{"units": {"Group I.T.": ""}}'])
def test_malformed_unit_choices_are_refused(text: str) -> None:
    with pytest.raises(MappingError, match="'units' must be"):
        Mapping.from_json(text)


def test_unit_alias_options() -> None:
    assert parse_unit_aliases(["Group I.T.=Group IT", "A = B "]) == {"Group I.T.": "Group IT", "A": "B"}
    with pytest.raises(MappingError, match="--unit-alias 'Group IT'"):
        parse_unit_aliases(["Group IT"])


# --- the command line ------------------------------------------------------------------------------


def test_import_with_unit_alias_and_the_hint_without(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.duckdb")
    (tmp_path / "existing.csv").write_bytes(EXISTING)
    (tmp_path / "near.csv").write_bytes(NEAR)
    assert main(["--db", db, "import", str(tmp_path / "existing.csv")]) == 0
    assert main(["--db", db, "import", str(tmp_path / "near.csv"), "--dry-run"]) == 0
    assert 'To use the existing unit instead, add --unit-alias "Group I.T.=Group IT"' in capsys.readouterr().err
    assert main(["--db", db, "import", str(tmp_path / "near.csv"), "--unit-alias", "Group I.T.=Group IT"]) == 0
    with connect(db) as con:
        assert unit_rounds(con) == [("Group IT", "2026-Q1"), ("Group IT", "2026-Q2")]
    assert main(["--db", db, "import", str(tmp_path / "near.csv"), "--unit-alias", "Group IT"]) == 1


def test_imports_then_undo_import_then_refusals(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.duckdb")
    (tmp_path / "existing.csv").write_bytes(EXISTING)
    assert main(["--db", db, "imports"]) == 0
    assert "No file imported yet." in capsys.readouterr().out
    assert main(["--db", db, "import", str(tmp_path / "existing.csv")]) == 0
    capsys.readouterr()
    assert main(["--db", db, "imports"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and listed[0].startswith("1\t") and f"\t{CLI_USER}\texisting.csv\t1 rows" in listed[0]

    with connect(db) as con:  # a later answer by hand blocks the undo
        ops = store.get_assessment(con, unit="Group IT", label="2026-Q1")
        store.update_response(con, ops.id, "4.1", {"maturity": 4}, by="ana", principal=ADMIN)
    assert main(["--db", db, "undo-import", "1"]) == 2
    err = capsys.readouterr().err
    assert "error: Import 1 (existing.csv) cannot be undone" in err
    assert "  Group IT 2026-Q1 4.1 maturity: changed after the import by ana (form, " in err
    with connect(db) as con:
        store.update_response(con, ops.id, "4.1", {"maturity": 2}, by="ana", principal=ADMIN)  # putting it back is still later work
    assert main(["--db", db, "undo-import", "1"]) == 2
    capsys.readouterr()


def test_undo_import_as_a_subprocess(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    with connect(db) as con:
        import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="t")
    env = {"AIMS_DB": str(db), "AIMS_USER": "sub-lead", "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "etl", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    done = run("undo-import", "1")
    assert done.returncode == 0, done.stderr
    assert "Undid import 1 (existing.csv): 0 value(s) restored; 1 answer(s) removed; 1 round(s) removed" in done.stdout
    again = run("undo-import", "1")
    assert again.returncode == 2 and "already undone" in again.stderr and "by sub-lead" in again.stderr
    listed = run("imports")
    assert "undone" in listed.stdout and "by sub-lead" in listed.stdout


def test_merge_units_and_similar_units(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.duckdb")
    with connect(db) as con:
        import_bytes(con, "existing.csv", EXISTING, principal=ADMIN, by="t")
        import_bytes(con, "near.csv", NEAR, principal=ADMIN, by="t")
        import_bytes(con, "clash.csv", NEAR.replace(b"2026-Q2", b"2026-Q1").replace(b"Group I.T.", b"GroupIT"), principal=ADMIN, by="t")
    assert main(["--db", db, "similar-units"]) == 0
    out = capsys.readouterr().out
    assert "Group I.T.\tGroup IT\tsame name apart from case, spacing or punctuation" in out
    assert main(["--db", db, "merge-units", "GroupIT", "Group IT"]) == 2
    assert "both have a round labelled '2026-Q1'" in capsys.readouterr().err
    assert main(["--db", db, "merge-units", "Group I.T.", "Group IT"]) == 0
    assert "Merged Group I.T. into Group IT: 1 round(s) (2026-Q2) moved; Group I.T. removed." in capsys.readouterr().out
    with connect(db) as con:
        assert unit_rounds(con) == [("Group IT", "2026-Q1"), ("Group IT", "2026-Q2"), ("GroupIT", "2026-Q1")]
        assert con.execute("SELECT changed_by FROM change_log WHERE source = 'merge'").fetchall() == [(CLI_USER,)]


UPDATE = b"unit,assessment,item_id,maturity,evidence\nGroup IT,2026-Q1,4.1,4,Policy v2\nGroup IT,2026-Q1,4.2,1,\n"


def test_undo_import_of_an_update_puts_the_values_back(tmp_path: Path, capsys) -> None:
    """An import that changed a value and added an answer: `undo-import` restores the value and removes the answer."""
    db = str(tmp_path / "cli.duckdb")
    (tmp_path / "existing.csv").write_bytes(EXISTING)
    (tmp_path / "update.csv").write_bytes(UPDATE)
    assert main(["--db", db, "import", str(tmp_path / "existing.csv"), str(tmp_path / "update.csv")]) == 0
    with connect(db) as con:
        assert con.execute("SELECT item_id, maturity, evidence FROM response ORDER BY 1").fetchall() == [
            ("4.1", 4, "Policy v2"), ("4.2", 1, None)]
    capsys.readouterr()
    assert main(["--db", db, "undo-import", "2"]) == 0
    assert capsys.readouterr().out.startswith("Undid import 2 (update.csv): 2 value(s) restored; 1 answer(s) removed")
    with connect(db) as con:
        assert con.execute("SELECT item_id, maturity, evidence FROM response ORDER BY 1").fetchall() == [("4.1", 2, None)]
        assert con.execute("SELECT field, old_value, new_value, source FROM change_log WHERE source = 'undo' "
                           "AND item_id = '4.1' ORDER BY field").fetchall() == [
            ("evidence", "Policy v2", None, "undo"), ("maturity", "4", "2", "undo")]


def test_undo_import_refuses_a_finalised_round(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.duckdb")
    (tmp_path / "existing.csv").write_bytes(EXISTING)
    assert main(["--db", db, "import", str(tmp_path / "existing.csv")]) == 0
    with connect(db) as con:
        store.set_status(con, store.get_assessment(con, unit="Group IT", label="2026-Q1").id, "final", by="lead")
    capsys.readouterr()
    assert main(["--db", db, "undo-import", "1"]) == 2
    err = capsys.readouterr().err
    assert "it touched finalised round(s) Group IT 2026-Q1, which are never changed" in err
    with connect(db) as con:  # nothing changed, and the import is not marked undone
        assert con.execute("SELECT item_id, maturity FROM response").fetchall() == [("4.1", 2)]
        assert store.list_imports(con).loc[0, "undone"] is None
