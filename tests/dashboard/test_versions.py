"""Content fingerprints (dashboard/versions.py): every writer of the store moves the fingerprint of what it
changed and of nothing else, and composed figures reuse the parts of unchanged assessments."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from dashboard import analytics, roadmap, scoring, store, tracking, units, versions
from dashboard.db import connect, lease
from dashboard.rounds import start_assessment
from dashboard.undo import undo_import
from etl.importer import import_bytes
from tests.principals import ADMIN

FIRST = b"unit,assessment,assessed_on,item_id,maturity,evidence\nOps,R1,2026-01-10,4.1,2,Register v1\n" \
        b"Ops,R1,2026-01-10,4.2,1,\nClaims,R1,2026-01-12,4.1,3,Policy\n"
SECOND = b"unit,assessment,assessed_on,item_id,maturity\nOps,R1,2026-01-10,4.1,4\n"


def _ids(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {f"{u} {label}": int(i) for i, u, label in con.execute(
        "SELECT a.id, u.name, a.label FROM assessment a JOIN unit u ON u.id = a.unit_id").fetchall()}


def _load(con: duckdb.DuckDBPyConnection, name: str, data: bytes) -> int:
    result = import_bytes(con, name, data, principal=ADMIN, by="importer")
    assert result.status == "imported", result.problems
    assert result.import_id is not None
    return result.import_id


def _moved(before: versions.Fingerprints, after: versions.Fingerprints) -> set[object]:
    """What moved: 'common', and the ids of the assessments whose fingerprint changed (or appeared/left)."""
    out: set[object] = {"common"} if before.common != after.common else set()
    for assessment in set(before.assessments) | set(after.assessments):
        if before.assessments.get(assessment) != after.assessments.get(assessment):
            out.add(assessment)
    return out


@pytest.fixture
def two_units(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    _load(con, "first.csv", FIRST)
    return _ids(con)


def test_an_answer_moves_its_assessment_only_and_the_same_answer_moves_nothing(con, two_units) -> None:
    ops, claims = two_units["Ops R1"], two_units["Claims R1"]
    before = versions.fingerprints(con)
    store.update_response(con, ops, "4.3", {"maturity": 2}, by="a", principal=ADMIN)
    after = versions.fingerprints(con)
    assert _moved(before, after) == {ops}
    assert after.assessments[claims] == before.assessments[claims]
    store.update_response(con, ops, "4.3", {"maturity": 2}, by="a", principal=ADMIN)  # no change, nothing logged
    assert _moved(after, versions.fingerprints(con)) == set()


def test_a_value_set_back_still_reads_as_a_new_state(con, two_units) -> None:
    """The change log is fingerprinted with the answers: setting a value back never brings an old key back."""
    ops = two_units["Ops R1"]
    first = versions.fingerprints(con)
    store.update_response(con, ops, "4.1", {"maturity": 5}, by="a", principal=ADMIN)
    store.update_response(con, ops, "4.1", {"maturity": 2}, by="a", principal=ADMIN)
    assert versions.fingerprints(con).assessments[ops] != first.assessments[ops]


def test_roadmap_tracking_and_proposal_tables_count_per_assessment(con, two_units) -> None:
    ops = two_units["Ops R1"]
    before = versions.fingerprints(con)
    assert tracking.set_actions(con, [(ops, "4.2")], {"status": "in progress"}, principal=ADMIN, by="lead") == 1
    assert _moved(before, versions.fingerprints(con)) == {ops}


def test_a_table_added_by_a_later_migration_is_fingerprinted_per_assessment(con, two_units) -> None:
    ops, claims = two_units["Ops R1"], two_units["Claims R1"]
    con.execute("CREATE TABLE later_review_note (assessment_id INTEGER, item_id VARCHAR, body VARCHAR)")
    before = versions.fingerprints(con)
    con.execute("INSERT INTO later_review_note VALUES (?, '4.1', 'Evidence?')", [claims])
    assert _moved(before, versions.fingerprints(con)) == {claims}
    con.execute("CREATE TABLE campaign_note (body VARCHAR)")  # no assessment column: part of the common state
    before = versions.fingerprints(con)
    con.execute("INSERT INTO campaign_note VALUES ('due 31 March')")
    assert _moved(before, versions.fingerprints(con)) == {"common"}
    assert ops in versions.fingerprints(con).assessments


def test_an_import_moves_the_rounds_it_wrote_and_its_undo_moves_them_again(con, two_units) -> None:
    ops, claims = two_units["Ops R1"], two_units["Claims R1"]
    before = versions.fingerprints(con)
    second = _load(con, "second.csv", SECOND)
    imported = versions.fingerprints(con)
    assert _moved(before, imported) == {"common", ops}  # the import's record is common; only Ops R1 changed
    assert imported.assessments[claims] == before.assessments[claims]
    undo_import(con, second, principal=ADMIN, by="lead")
    undone = versions.fingerprints(con)
    assert ops in _moved(imported, undone) and claims not in _moved(imported, undone)
    assert con.execute("SELECT maturity FROM response WHERE assessment_id = ? AND item_id = '4.1'", [ops]).fetchall() == [(2,)]


def test_an_undo_that_deletes_rounds_and_units_moves_the_common_state(con) -> None:
    first = _load(con, "first.csv", FIRST)
    before = versions.fingerprints(con)
    undo_import(con, first, principal=ADMIN, by="lead")
    after = versions.fingerprints(con)
    assert "common" in _moved(before, after)
    assert after.assessments == {}


def test_rounds_status_dates_renames_and_merges_move_the_common_state(con, two_units, catalog) -> None:
    ops = two_units["Ops R1"]
    steps = [
        lambda: start_assessment(con, unit="Ops", label="R2", scope="clauses", catalog_version=catalog.version,
                                 assessed_on=dt.date(2026, 6, 1), principal=ADMIN, by="lead"),
        lambda: store.set_status(con, ops, "final", by="lead"),
        lambda: store.rename_unit(con, con.execute("SELECT id FROM unit WHERE name = 'Claims'").fetchall()[0][0], "Claims Dept"),
        lambda: start_assessment(con, unit="Legal", label="R9", scope="clauses", catalog_version=catalog.version,
                                 assessed_on=dt.date(2026, 7, 1), principal=ADMIN, by="lead"),
        lambda: units.merge_units(con, "Legal", "Ops", principal=ADMIN, by="lead"),
    ]
    for step in steps:
        before = versions.fingerprints(con)
        step()
        assert "common" in _moved(before, versions.fingerprints(con)), step


def test_keys_follow_what_each_reader_reads(con, two_units, catalog) -> None:
    ops, claims = two_units["Ops R1"], two_units["Claims R1"]
    later, _ = start_assessment(con, unit="Ops", label="R2", scope="clauses", catalog_version=catalog.version,
                                assessed_on=dt.date(2026, 6, 1), principal=ADMIN, by="lead")
    before = versions.fingerprints(con)
    store.update_response(con, ops, "4.1", {"maturity": 5}, by="a", principal=ADMIN)  # an earlier round of Ops
    after = versions.fingerprints(con)

    def same(reader: str, *args: object) -> bool:
        return versions.key_for(before, reader, args, {}) == versions.key_for(after, reader, args, {})

    assert same("dashboard.scoring.section_scores", [later.id])  # reads only the round it is given
    assert not same("dashboard.analytics.summary_change", [later.id])  # compares with Ops R1
    assert not same("dashboard.roadmap.organisation_plan", [later.id])  # carries tracking over from Ops R1
    assert same("dashboard.analytics.summary_change", [claims])  # another unit
    assert not same("dashboard.scoring.section_scores", [ops])
    assert same("dashboard.scoring.rounds")  # reads only the assessment rows
    assert not same("dashboard.summarize.some_reader_not_listed", [claims])  # unknown: the whole database
    assert not same("dashboard.scoring.item_scores")  # no ids given: every assessment
    assert versions.picked_ids([[(ops, "clause", ops), claims]], {}) == sorted([ops, claims])
    assert versions.picked_ids([], {"assessment_ids": [claims]}) == [claims]


def _snapshot(path: Path) -> versions.Fingerprints:
    with connect(path) as con:
        return versions.fingerprints(con)


def test_composed_figures_equal_the_direct_ones_and_reuse_unchanged_units(demo_db_copy: Path, monkeypatch) -> None:
    path = str(demo_db_copy)
    versions.forget()
    with connect(path) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        target = versions.picked_ids([[picks[0]]], {})[0]
        store.set_status(con, target, "draft", by="lead")  # a round being answered
        direct_plan = roadmap.organisation_plan(con, picks)
        direct_change = analytics.summary_change(con, picks)
    calls: Counter[int] = Counter()
    real = roadmap._unit_plan

    def counted(con: duckdb.DuckDBPyConnection, chosen: list, **kwargs: object):
        calls["units"] += len({versions.picked_ids([[p]], {})[0] for p in chosen})
        calls["calls"] += 1
        return real(con, chosen, **kwargs)

    counted.__module__, counted.__qualname__ = real.__module__, real.__qualname__
    monkeypatch.setattr(roadmap, "_unit_plan", counted)
    summaries: list[object] = []
    real_summary = analytics.organisation_summary

    def summary(con: duckdb.DuckDBPyConnection, chosen: list) -> dict:
        summaries.append(tuple(chosen))
        return real_summary(con, chosen)

    summary.__module__, summary.__qualname__ = real_summary.__module__, real_summary.__qualname__
    monkeypatch.setattr(analytics, "organisation_summary", summary)

    found = _snapshot(demo_db_copy)
    with connect(path) as con, versions.reading(found):
        composed_plan = roadmap.organisation_plan(con, picks)
        composed_change = analytics.summary_change(con, picks)
    assert composed_plan.equals(direct_plan)
    assert composed_change == direct_change
    unit_count = len({found.unit_of[versions.picked_ids([[p]], {})[0]] for p in picks})
    assert calls == {"units": unit_count, "calls": 1}  # every unit's part, computed in one call
    assert len(summaries) == 3

    # an answer in one unit's latest round: only that unit's part and the sides that hold it are recomputed
    with connect(path) as con:
        store.update_response(con, target, "4.1", {"maturity": 0}, by="assessor", principal=ADMIN)
        expected_plan = roadmap.organisation_plan(con, picks)
        expected_change = analytics.summary_change(con, picks)
    calls.clear()
    summaries.clear()
    found = _snapshot(demo_db_copy)
    with connect(path) as con, versions.reading(found):
        fresh_plan = roadmap.organisation_plan(con, picks)
        fresh_change = analytics.summary_change(con, picks)
    assert fresh_plan.equals(expected_plan) and not fresh_plan.equals(direct_plan)
    assert fresh_change == expected_change and fresh_change != direct_change
    assert calls == {"units": 1, "calls": 1}
    assert len(summaries) == 2  # now and its matched side; the earlier rounds' side was reused


def test_a_snapshot_read_and_its_fingerprints_leave_out_an_answer_saved_meanwhile(demo_db_copy: Path) -> None:
    """Another session's answer committed while a cached read runs is in neither its result nor its key, so the
    result is stored under the key of the state it read; the next read sees the answer under a new key."""
    path = str(demo_db_copy)
    with connect(path) as con:
        picks = scoring.select_assessments(con, principal=ADMIN)
        target = versions.picked_ids([[picks[0]]], {})[0]
        store.set_status(con, target, "draft", by="lead")
    with lease(path) as con, lease(path) as other:

        def read_while_another_session_saves(con: duckdb.DuckDBPyConnection, chosen: list) -> dict:
            before = scoring.organisation_summary(con, chosen)
            store.update_response(other, target, "4.1", {"maturity": 0}, by="another session", principal=ADMIN)
            store.update_response(other, target, "4.2", {"maturity": 0}, by="another session", principal=ADMIN)
            assert scoring.organisation_summary(con, chosen) == before  # the same snapshot
            return before

        found, result = versions.snapshot_read(con, path, read_while_another_session_saves, picks)
        now = versions.fingerprints(con)
        assert scoring.organisation_summary(con, picks) != result
    assert now.assessments[target] != found.assessments[target]
    assert versions.key_for(found, "dashboard.scoring.organisation_summary", [picks], {}) != \
        versions.key_for(now, "dashboard.scoring.organisation_summary", [picks], {})

