"""The store on a real DuckDB file: migrations, units, assessments, responses, change log, locking."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from dashboard import schema, store
from dashboard.catalog import default_catalog_dir, load_catalog
from dashboard.db import DatabaseBusy, connect, rows, transaction
from dashboard.store import StoreError, UpsertCounts
from tests.principals import ADMIN

from .helpers import BY, new_assessment, stage

TABLES = {"unit", "assessment", "response", "import_batch", "change_log", "summary_cache",
          "catalog_item", "catalog_section", "meta", "schema_version"}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in rows(con, "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('main', 'public')")}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(rows(con, f"SELECT count(*) FROM {table}")[0][0])


def _log(con: duckdb.DuckDBPyConnection, assessment_id: int) -> list[tuple]:
    return rows(
        con,
        """SELECT item_id, field, old_value, new_value, changed_by, source FROM change_log
           WHERE assessment_id = ? ORDER BY id""",
        [assessment_id],
    )


def _response(con: duckdb.DuckDBPyConnection, assessment_id: int, item_id: str) -> dict | None:
    found = rows(
        con,
        f"SELECT {', '.join(store.RESPONSE_FIELDS)}, changed_by FROM response WHERE assessment_id = ? AND item_id = ?",
        [assessment_id, item_id],
    )
    return dict(zip((*store.RESPONSE_FIELDS, "changed_by"), found[0], strict=True)) if found else None


# --- migrations and catalog copy -----------------------------------------------------------------


def test_migrations_create_tables_and_record_version(con: duckdb.DuckDBPyConnection, catalog) -> None:
    assert _tables(con) >= TABLES
    latest = len(schema.MIGRATIONS)
    assert latest >= 1
    assert rows(con, "SELECT version FROM schema_version ORDER BY version") == [(n,) for n in range(1, latest + 1)]
    assert schema.current_version(con) == latest
    # the catalog is copied for SQL scoring
    assert _count(con, "catalog_item") == 70
    assert _count(con, "catalog_section") == 16
    assert rows(con, "SELECT value FROM meta WHERE key = 'catalog_digest'") == [(catalog.digest,)]
    assert rows(con, "SELECT weight FROM catalog_item WHERE item_id = '4.3'") == [(1.5,)]


def test_reconnecting_does_not_rerun_migrations(db_path: Path) -> None:
    with connect(db_path, wait=5) as con:
        store.ensure_unit(con, "Alpha")
        first = rows(con, "SELECT version, applied_at FROM schema_version")
    with connect(db_path, wait=5) as con:
        assert rows(con, "SELECT version, applied_at FROM schema_version") == first
        assert schema.migrate(con) == len(schema.MIGRATIONS)
        assert rows(con, "SELECT version, applied_at FROM schema_version") == first
        assert rows(con, "SELECT name FROM unit") == [("Alpha",)]
    assert len(first) == len(schema.MIGRATIONS)


def test_an_old_database_is_migrated_forward_keeping_its_data(tmp_path: Path) -> None:
    """A file made by the first release (migration 1 only) gains the later tables and keeps its rows."""
    import duckdb as raw

    path = tmp_path / "old.duckdb"
    old = raw.connect(str(path))
    schema.current_version(old)
    old.execute(schema.MIGRATIONS[0])
    old.execute("INSERT INTO schema_version (version) VALUES (1)")
    old.execute("INSERT INTO unit (name) VALUES ('Legacy Unit')")
    old.close()
    with connect(path, wait=5) as con:
        assert schema.current_version(con) == len(schema.MIGRATIONS)
        assert rows(con, "SELECT name FROM unit") == [("Legacy Unit",)]
        assert _count(con, "catalog_item") == 70


def test_migration_3_moves_creation_from_the_change_log_onto_the_response(tmp_path: Path) -> None:
    """A version-2 file: each response takes its creation from its earliest log entry; the per-response
    `created` rows (written by builds between migrations 2 and 3) are dropped, every other entry kept."""
    import duckdb as raw

    path = tmp_path / "v2.duckdb"
    old = raw.connect(str(path))
    schema.current_version(old)
    for number, script in enumerate(schema.MIGRATIONS[:2], start=1):
        old.execute(script)
        old.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
    old.execute("INSERT INTO unit (name) VALUES ('Legacy')")
    old.execute("INSERT INTO assessment (unit_id, label, scope, source, catalog_version) VALUES (1, 'R1', 'both', 'form', 'x')")
    old.execute("""INSERT INTO response (assessment_id, item_id, maturity, owner, changed_by, changed_at) VALUES
                   (1, '4.1', 3, 'Bo', 'Cy', TIMESTAMP '2026-02-01 09:00'),
                   (1, '4.2', 2, NULL, 'Di', TIMESTAMP '2026-03-01 09:00'),
                   (1, '4.3', 1, NULL, 'Ed', TIMESTAMP '2026-04-01 09:00')""")
    old.execute("""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source) VALUES
                   (1, '4.1', 'maturity', NULL, '2', 'Ana', TIMESTAMP '2026-01-01 09:00', 'form'),
                   (1, '4.1', 'maturity', '2', '3', 'Cy', TIMESTAMP '2026-02-01 09:00', 'form'),
                   (1, '4.2', 'created', NULL, 'maturity 2', 'Di', TIMESTAMP '2026-03-01 09:00', 'import'),
                   (1, NULL, 'status', 'draft', 'final', 'Ana', TIMESTAMP '2026-05-01 09:00', 'form')""")
    old.close()
    with connect(path, wait=5) as con:
        assert schema.current_version(con) == len(schema.MIGRATIONS)
        assert rows(con, """SELECT item_id, created_by, created_at, created_source FROM response ORDER BY item_id""") == [
            ("4.1", "Ana", dt.datetime(2026, 1, 1, 9), "form"),
            ("4.2", "Di", dt.datetime(2026, 3, 1, 9), "import"),
            ("4.3", "Ed", dt.datetime(2026, 4, 1, 9), None),  # never logged: its last change is all we know
        ]
        assert rows(con, "SELECT item_id, field FROM change_log WHERE field <> 'assessed_on' ORDER BY id") == [
            ("4.1", "maturity"), ("4.1", "maturity"), (None, "status")]


def test_changed_catalog_is_synced_on_connect(db_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "questionnaires"
    shutil.copytree(default_catalog_dir(), copy)
    path = copy / "clauses.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sections"][0]["items"][0]["weight"] = 2.5  # item 4.1
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    changed = load_catalog(copy)
    with connect(db_path, wait=5) as con:
        assert rows(con, "SELECT weight FROM catalog_item WHERE item_id = '4.1'") == [(1.0,)]
    with connect(db_path, wait=5, catalog=changed) as con:
        assert rows(con, "SELECT weight FROM catalog_item WHERE item_id = '4.1'") == [(2.5,)]
        assert rows(con, "SELECT value FROM meta WHERE key = 'catalog_digest'") == [(changed.digest,)]
        assert _count(con, "catalog_item") == 70


# --- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Retail Banking", "retail banking", "RETAIL BANKING", "  Retail   Banking "])
def test_ensure_unit_is_case_insensitive_and_idempotent(con: duckdb.DuckDBPyConnection, spelling: str) -> None:
    first = store.ensure_unit(con, "Retail Banking")
    assert store.ensure_unit(con, spelling) == first
    assert store.ensure_unit(con, spelling) == first
    assert rows(con, "SELECT id, name FROM unit") == [(first, "Retail Banking")]


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_ensure_unit_needs_a_name(con: duckdb.DuckDBPyConnection, name: str) -> None:
    with pytest.raises(StoreError):
        store.ensure_unit(con, name)
    assert _count(con, "unit") == 0


def test_ensure_unit_with_parent(con: duckdb.DuckDBPyConnection) -> None:
    child = store.ensure_unit(con, "Cards", parent="Retail Banking")
    parent = store.ensure_unit(con, "retail banking")
    assert rows(con, "SELECT parent_id FROM unit WHERE id = ?", [child]) == [(parent,)]
    units = store.list_units(con)
    assert units.set_index("name").loc["Cards", "parent"] == "Retail Banking"


@pytest.mark.parametrize("new_name", ["Beta", "beta", " BETA "])
def test_rename_clash_raises(con: duckdb.DuckDBPyConnection, new_name: str) -> None:
    alpha = store.ensure_unit(con, "Alpha")
    store.ensure_unit(con, "Beta")
    with pytest.raises(StoreError):
        store.rename_unit(con, alpha, new_name)
    assert rows(con, "SELECT name FROM unit WHERE id = ?", [alpha]) == [("Alpha",)]


def test_rename_to_new_name_and_own_name_in_other_case(con: duckdb.DuckDBPyConnection) -> None:
    alpha = store.ensure_unit(con, "Alpha")
    store.rename_unit(con, alpha, "ALPHA")
    assert rows(con, "SELECT name FROM unit WHERE id = ?", [alpha]) == [("ALPHA",)]
    store.rename_unit(con, alpha, "  Gamma  Unit ")
    assert rows(con, "SELECT name FROM unit WHERE id = ?", [alpha]) == [("Gamma Unit",)]
    with pytest.raises(StoreError):
        store.rename_unit(con, alpha, "  ")


def test_archived_units_are_hidden_by_default(con: duckdb.DuckDBPyConnection) -> None:
    alpha = store.ensure_unit(con, "Alpha")
    store.ensure_unit(con, "Beta")
    store.archive_unit(con, alpha)
    assert store.list_units(con)["name"].tolist() == ["Beta"]
    assert store.list_units(con, include_archived=True)["name"].tolist() == ["Alpha", "Beta"]


# --- assessments -------------------------------------------------------------------------------


def test_create_assessment_records_fields(con: duckdb.DuckDBPyConnection) -> None:
    a = new_assessment(con, "Alpha", " 2026-Q3 ", scope="annex_a", assessed_on=dt.date(2026, 8, 28), default_target=4)
    assert (a.unit, a.label, a.scope, a.assessed_on, a.status, a.source, a.catalog_version, a.default_target) == (
        "Alpha", "2026-Q3", "annex_a", dt.date(2026, 8, 28), "draft", "form", "test", 4)
    assert store.get_assessment(con, unit="alpha", label="2026-Q3") == a
    assert store.get_assessment(con, a.id) == a


@pytest.mark.parametrize("unit", ["Alpha", "alpha", "ALPHA "])
def test_duplicate_assessment_refused(con: duckdb.DuckDBPyConnection, unit: str) -> None:
    new_assessment(con, "Alpha", "2026-Q3")
    with pytest.raises(StoreError):
        new_assessment(con, unit, "2026-Q3")
    assert _count(con, "assessment") == 1
    # the same label in another unit is a different assessment
    new_assessment(con, "Beta", "2026-Q3")
    assert _count(con, "assessment") == 2


@pytest.mark.parametrize(("label", "scope"), [("", "both"), ("   ", "both"), ("R1", "all"), ("R1", "annex")])
def test_create_assessment_invalid(con: duckdb.DuckDBPyConnection, label: str, scope: str) -> None:
    with pytest.raises(StoreError):
        new_assessment(con, "Alpha", label, scope=scope)
    assert _count(con, "assessment") == 0


# --- update_response -----------------------------------------------------------------------------


def test_update_response_logs_each_changed_field(con: duckdb.DuckDBPyConnection) -> None:
    a = new_assessment(con, "Alpha", "R1")
    changed = store.update_response(con, a.id, "4.1", {"maturity": 2, "evidence": "Policy v1", "owner": "Ana"}, by="ana", principal=ADMIN)
    assert changed == ["maturity", "evidence", "owner"]
    assert _log(con, a.id) == [
        ("4.1", "maturity", None, "2", "ana", "form"),
        ("4.1", "evidence", None, "Policy v1", "ana", "form"),
        ("4.1", "owner", None, "Ana", "ana", "form"),
    ]
    changed = store.update_response(con, a.id, "4.1", {"maturity": 3, "evidence": "Policy v1"}, by="bo", source="interview",
                                    principal=ADMIN)
    assert changed == ["maturity"]
    assert _log(con, a.id)[3:] == [("4.1", "maturity", "2", "3", "bo", "interview")]
    stored = _response(con, a.id, "4.1")
    assert stored is not None
    assert (stored["maturity"], stored["evidence"], stored["owner"], stored["applicable"], stored["changed_by"]) == (
        3, "Policy v1", "Ana", True, "bo")


def test_update_response_noop_returns_empty_and_logs_nothing(con: duckdb.DuckDBPyConnection) -> None:
    a = new_assessment(con, "Alpha", "R1")
    store.update_response(con, a.id, "A.2.2", {"maturity": 4, "due_date": "2026-05-01", "notes": "n"}, by=BY, principal=ADMIN)
    before = _log(con, a.id)
    assert len(before) == 3
    same = {"maturity": 4, "due_date": dt.date(2026, 5, 1), "notes": "  n  ", "applicable": True}
    assert store.update_response(con, a.id, "A.2.2", same, by=BY, principal=ADMIN) == []
    assert store.update_response(con, a.id, "A.2.2", {}, by=BY, principal=ADMIN) == []
    assert _log(con, a.id) == before


def test_update_response_clears_maturity(con: duckdb.DuckDBPyConnection) -> None:
    a = new_assessment(con, "Alpha", "R1")
    store.update_response(con, a.id, "5.2", {"maturity": 3}, by=BY, principal=ADMIN)
    assert store.update_response(con, a.id, "5.2", {"maturity": None}, by="clearer", principal=ADMIN) == ["maturity"]
    stored = _response(con, a.id, "5.2")
    assert stored is not None and stored["maturity"] is None
    assert _log(con, a.id)[-1] == ("5.2", "maturity", "3", None, "clearer", "form")


def test_update_response_applicable_logged_as_yes_no(con: duckdb.DuckDBPyConnection) -> None:
    a = new_assessment(con, "Alpha", "R1")
    assert store.update_response(con, a.id, "A.10.4", {"applicable": False, "justification": "No clients"}, by=BY, principal=ADMIN) == [
        "applicable", "justification"]
    assert _log(con, a.id)[0] == ("A.10.4", "applicable", "yes", "no", BY, "form")


@pytest.mark.parametrize(
    "changes",
    [{"maturity": 6}, {"maturity": -1}, {"maturity": 2.5}, {"maturity": True}, {"target": 7},
     {"applicable": None}, {"colour": "red"}, {"maturity": 2, "target": 9}],
    ids=["maturity-6", "maturity-neg", "maturity-frac", "maturity-bool", "target-7", "applicable-none",
         "unknown-field", "one-bad-of-two"],
)
def test_update_response_invalid_value(con: duckdb.DuckDBPyConnection, changes: dict) -> None:
    a = new_assessment(con, "Alpha", "R1")
    with pytest.raises(StoreError):
        store.update_response(con, a.id, "4.1", changes, by=BY, principal=ADMIN)
    assert _response(con, a.id, "4.1") is None
    assert _log(con, a.id) == []


def test_update_response_unknown_assessment(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(StoreError):
        store.update_response(con, 999, "4.1", {"maturity": 1}, by=BY, principal=ADMIN)
    assert _count(con, "response") == 0


# --- finalised assessments -----------------------------------------------------------------------


@pytest.fixture
def final(con: duckdb.DuckDBPyConnection) -> store.Assessment:
    a = new_assessment(con, "Alpha", "R1")
    store.update_response(con, a.id, "4.1", {"maturity": 2, "evidence": "E1"}, by=BY, principal=ADMIN)
    store.set_status(con, a.id, "final", by="lead")
    return a


def test_set_status_logs_and_marks_final(con: duckdb.DuckDBPyConnection, final: store.Assessment) -> None:
    assert store.get_assessment(con, final.id).is_final  # type: ignore[union-attr]
    assert _log(con, final.id)[-1] == (None, "status", "draft", "final", "lead", "form")
    n = len(_log(con, final.id))
    store.set_status(con, final.id, "final", by="lead")  # unchanged: nothing logged
    assert len(_log(con, final.id)) == n
    with pytest.raises(StoreError):
        store.set_status(con, final.id, "closed", by="lead")
    with pytest.raises(StoreError):
        store.set_status(con, 999, "final", by="lead")


@pytest.mark.parametrize("changes", [{"maturity": 3}, {"maturity": 2}, {"notes": "late"}])
def test_final_refuses_update_response(con: duckdb.DuckDBPyConnection, final: store.Assessment, changes: dict) -> None:
    log_before = _log(con, final.id)
    with pytest.raises(StoreError, match="finalised"):
        store.update_response(con, final.id, "4.1", changes, by=BY, principal=ADMIN)
    assert _response(con, final.id, "4.1")["maturity"] == 2  # type: ignore[index]
    assert _response(con, final.id, "4.1")["notes"] is None  # type: ignore[index]
    assert _log(con, final.id) == log_before


@pytest.mark.parametrize(
    "rows_",
    [{"4.1": {"maturity": 3}}, {"4.1": {"evidence": "E2"}}, {"4.2": {"maturity": 1}}, {"4.1": {"applicable": False}}],
)
def test_final_refuses_upsert_with_changes(con: duckdb.DuckDBPyConnection, final: store.Assessment, rows_: dict) -> None:
    log_before = _log(con, final.id)
    with pytest.raises(StoreError, match="finalised"):
        store.upsert_responses(con, stage(final.id, rows_), by=BY)
    assert _log(con, final.id) == log_before
    assert rows(con, "SELECT item_id, maturity, evidence FROM response WHERE assessment_id = ?", [final.id]) == [
        ("4.1", 2, "E1")]


@pytest.mark.parametrize(
    "rows_",
    [{"4.1": {"maturity": 2, "evidence": "E1"}}, {"4.1": {"maturity": 2, "target": 3, "applicable": True}},
     {"4.1": {}}, {"4.2": {"target": 3}}],
    ids=["same-values", "same-with-default-target", "all-na", "new-row-restating-defaults"],
)
def test_final_accepts_upsert_without_changes(con: duckdb.DuckDBPyConnection, final: store.Assessment, rows_: dict) -> None:
    log_before = _log(con, final.id)
    counts = store.upsert_responses(con, stage(final.id, rows_), by=BY)
    assert counts == UpsertCounts(new=0, updated=0, unchanged=1)
    assert _log(con, final.id) == log_before


def test_reopened_assessment_is_writable(con: duckdb.DuckDBPyConnection, final: store.Assessment) -> None:
    store.set_status(con, final.id, "draft", by="lead")
    assert store.update_response(con, final.id, "4.1", {"maturity": 4}, by=BY, principal=ADMIN) == ["maturity"]


# --- upsert_responses ----------------------------------------------------------------------------


def test_upsert_counts_na_and_change_log(con: duckdb.DuckDBPyConnection) -> None:
    a = new_assessment(con, "Alpha", "R1")
    store.update_response(con, a.id, "4.1", {"maturity": 2, "notes": "keep"}, by=BY, principal=ADMIN)
    store.update_response(con, a.id, "4.2", {"maturity": 3, "evidence": "E"}, by=BY, principal=ADMIN)
    before = len(_log(con, a.id))
    staged = stage(a.id, {
        "4.1": {"evidence": "new evidence"},                 # updated; NA maturity/notes keep stored values
        "4.2": {"maturity": 3, "evidence": "E"},             # unchanged
        "4.3": {"maturity": 1, "owner": "Bo"},               # new
        "4.4": {"maturity": 0, "applicable": False},         # new
        "5.1": {"target": 3},                                # restates the default: nothing stored
        "5.2": {"target": 4},                                # new, explicit target
    })
    counts = store.upsert_responses(con, staged, by="importer")
    assert counts == UpsertCounts(new=3, updated=1, unchanged=2)

    r41 = _response(con, a.id, "4.1")
    assert (r41["maturity"], r41["notes"], r41["evidence"], r41["changed_by"]) == (2, "keep", "new evidence", "importer")  # type: ignore[index]
    assert _response(con, a.id, "4.2")["changed_by"] == BY  # type: ignore[index]
    assert _response(con, a.id, "4.4")["applicable"] is False  # type: ignore[index]
    assert _response(con, a.id, "5.1") is None
    assert _response(con, a.id, "5.2")["target"] == 4  # type: ignore[index]

    logged = set(_log(con, a.id)[before:])
    # a stored response's changes are logged field by field; a new one records its creation itself
    assert logged == {("4.1", "evidence", None, "new evidence", "importer", "import")}
    created = rows(con, """SELECT item_id, created_by, created_source, created_at IS NOT NULL FROM response
                           WHERE assessment_id = ? ORDER BY item_id""", [a.id])
    assert created == [("4.1", BY, "form", True), ("4.2", BY, "form", True), ("4.3", "importer", "import", True),
                       ("4.4", "importer", "import", True), ("5.2", "importer", "import", True)]

    # the same file again changes nothing
    assert store.upsert_responses(con, staged, by="importer") == UpsertCounts(new=0, updated=0, unchanged=6)
    assert len(_log(con, a.id)) == before + 1

    # a later change of a created response is logged field by field, its first value as the old one,
    # and its history shows the change after its creation
    store.upsert_responses(con, stage(a.id, {"4.3": {"owner": "Cy"}}), by="importer")
    assert _log(con, a.id)[-1] == ("4.3", "owner", "Bo", "Cy", "importer", "import")
    history = store.item_history(con, a.id, "4.3", principal=ADMIN)
    shown = history[["field", "old_value", "new_value", "changed_by", "source"]].astype(object)
    assert shown.where(shown.notna(), None).values.tolist() == [
        ["owner", "Bo", "Cy", "importer", "import"], ["created", None, None, "importer", "import"]]


@pytest.mark.parametrize(
    ("default_target", "stored_target", "staged_target", "expected_target", "expected_counts"),
    [
        (3, None, 3, None, UpsertCounts(0, 0, 1)),   # equal to the default: nothing stored
        (3, None, 4, 4, UpsertCounts(1, 0, 0)),
        (4, None, 4, None, UpsertCounts(0, 0, 1)),   # the assessment's own default
        (4, None, 3, 3, UpsertCounts(1, 0, 0)),
        (3, 4, 4, 4, UpsertCounts(0, 0, 1)),         # equal to the explicit target in force
        (3, 4, 3, 3, UpsertCounts(0, 1, 0)),
    ],
)
def test_upsert_target_against_the_target_in_force(
    con: duckdb.DuckDBPyConnection, default_target: int, stored_target: int | None, staged_target: int,
    expected_target: int | None, expected_counts: UpsertCounts,
) -> None:
    a = new_assessment(con, "Alpha", "R1", default_target=default_target)
    if stored_target is not None:
        store.update_response(con, a.id, "6.2", {"target": stored_target}, by=BY, principal=ADMIN)
    counts = store.upsert_responses(con, stage(a.id, {"6.2": {"target": staged_target}}), by=BY)
    assert counts == expected_counts
    stored = _response(con, a.id, "6.2")
    assert (stored["target"] if stored else None) == expected_target


@pytest.mark.parametrize(
    "frame_change", ["duplicate", "missing-column"],
)
def test_upsert_rejects_bad_stage(con: duckdb.DuckDBPyConnection, frame_change: str) -> None:
    a = new_assessment(con, "Alpha", "R1")
    staged = stage(a.id, {"4.1": {"maturity": 1}, "4.2": {"maturity": 2}})
    if frame_change == "duplicate":
        staged.loc[1, "item_id"] = "4.1"
    else:
        staged = staged.drop(columns=["notes"])
    with pytest.raises(StoreError):
        store.upsert_responses(con, staged, by=BY)
    assert _count(con, "response") == 0


def test_upsert_refuses_out_of_range_maturity(con: duckdb.DuckDBPyConnection) -> None:
    """StoreError covers "invalid value"; a refused write must not leave a change-log entry behind."""
    a = new_assessment(con, "Alpha", "R1")
    with pytest.raises(StoreError):
        store.upsert_responses(con, stage(a.id, {"4.1": {"maturity": 6}}), by=BY)
    assert _count(con, "response") == 0
    assert _log(con, a.id) == []


# --- transactions --------------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


def _snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {t: rows(con, f"SELECT * FROM {t} ORDER BY ALL")
            for t in ("unit", "assessment", "response", "change_log")}


def test_failed_transaction_leaves_database_unchanged(db_path: Path) -> None:
    with connect(db_path, wait=5) as con:
        a = new_assessment(con, "Alpha", "R1")
        store.update_response(con, a.id, "4.1", {"maturity": 1}, by=BY, principal=ADMIN)
        before = _snapshot(con)
        with pytest.raises(Boom), transaction(con):
            b = new_assessment(con, "Beta", "R1")
            store.upsert_responses(con, stage(b.id, {"4.1": {"maturity": 4}}), by=BY)
            store.upsert_responses(con, stage(a.id, {"4.1": {"maturity": 5}}), by=BY)
            store.rename_unit(con, a.unit_id, "Renamed")
            assert _count(con, "response") == 2  # visible inside the transaction
            raise Boom("midway")
        assert _snapshot(con) == before
    with connect(db_path, wait=5) as con:  # and on disk
        assert _snapshot(con) == before


def test_successful_transaction_commits(db_path: Path) -> None:
    with connect(db_path, wait=5) as con, transaction(con):
        b = new_assessment(con, "Beta", "R1")
        store.upsert_responses(con, stage(b.id, {"4.1": {"maturity": 4}}), by=BY)
    with connect(db_path, wait=5) as con:
        assert rows(con, "SELECT item_id, maturity FROM response") == [("4.1", 4)]


# --- waiting for another process's lock ----------------------------------------------------------

_HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


@pytest.fixture
def holder(db_path: Path) -> Iterator[subprocess.Popen]:
    """Another process that holds the database file for about 1.5 s."""
    with connect(db_path, wait=5):
        pass  # create and migrate the file first
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db_path), "1.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.wait(timeout=20)
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.mark.duckdb_only
def test_connect_waits_for_the_other_process(db_path: Path, holder: subprocess.Popen) -> None:
    messages: list[str] = []
    started = time.monotonic()
    with connect(db_path, wait=10, on_wait=messages.append) as con:
        waited = time.monotonic() - started
        assert _count(con, "catalog_item") == 70
    assert 0.8 < waited < 10  # the holder keeps the file ~1.5 s after it said "ready"
    assert len(messages) == 1
    assert "waiting" in messages[0]
    assert str(db_path) in messages[0]
    assert str(holder.pid) in messages[0]


@pytest.mark.duckdb_only
def test_connect_gives_up_after_wait(db_path: Path, holder: subprocess.Popen) -> None:
    messages: list[str] = []
    started = time.monotonic()
    with pytest.raises(DatabaseBusy) as info, connect(db_path, wait=0.3, on_wait=messages.append):
        pass
    assert time.monotonic() - started < 1.3
    assert holder.poll() is None  # still held when we gave up
    assert str(db_path) in str(info.value)
    assert len(messages) == 1 and "waiting" in messages[0]
