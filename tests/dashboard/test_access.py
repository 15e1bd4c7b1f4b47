"""Roles enforced in the core: a table of cases (each role × selector, reader and writer: what comes back or is
refused), the role store (grants, revocations, the last administrator, the change log) and the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dashboard import access, interview, peers, proposals, scoring, store, summarize
from dashboard.access import AccessDenied, Principal
from dashboard.db import connect
from etl.cli import main as cli

OWN, OTHER = "HR & People", "Retail Banking"


@pytest.fixture
def demo(demo_db_copy: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(demo_db_copy) as con:
        yield con


def _unit_id(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return int(con.execute("SELECT id FROM unit WHERE name = ?", [name]).fetchall()[0][0])


def _assessment(con: duckdb.DuckDBPyConnection, unit: str) -> int:
    return int(con.execute("SELECT max(a.id) FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE u.name = ?",
                           [unit]).fetchall()[0][0])


def _principals(con: duckdb.DuckDBPyConnection) -> dict[str, Principal]:
    admin = access.local_admin("Test Admin")
    access.grant(con, "lead@example.org", "lead", by=admin)
    access.grant(con, "viewer@example.org", "viewer", by=admin)
    access.grant(con, "assessor@example.org", "assessor", OWN, by=admin)
    return {
        "administrator": admin,
        "lead": access.resolve(con, "lead@example.org", "Lea Lead"),
        "assessor": access.resolve(con, "Assessor@Example.org", "Asa Assessor"),
        "viewer": access.resolve(con, "viewer@example.org", "Vic Viewer"),
        "nobody": access.resolve(con, "stranger@example.org", "Stranger"),
    }


def _units_of(con: duckdb.DuckDBPyConnection, picks: list) -> set[str]:
    ids = sorted({p if isinstance(p, int) else p[0] for p in picks})
    if not ids:
        return set()
    return {r[0] for r in con.execute(
        f"SELECT DISTINCT u.name FROM assessment a JOIN unit u ON u.id = a.unit_id WHERE a.id IN ({', '.join(map(str, ids))})"
    ).fetchall()}


ALL = "every unit"
# role -> (units selected, own responses readable, other unit's responses, free text visible, history of other unit)
TABLE = {
    "administrator": (ALL, "ok", "ok", True, "ok"),
    "lead": (ALL, "ok", "ok", True, "ok"),
    "assessor": ({OWN}, "ok", "refused", True, "refused"),
    "viewer": (ALL, "ok", "ok", False, "refused"),
    "nobody": (set(), "refused", "refused", False, "refused"),
}


@pytest.mark.parametrize("role", list(TABLE))
def test_the_filter_table(demo: duckdb.DuckDBPyConnection, role: str) -> None:
    units, own, other, text, history = TABLE[role]
    who = _principals(demo)[role]
    every = set(store.list_units(demo)["name"])
    # the selector: Latest per unit and every round
    for round_label in (scoring.LATEST, scoring.ALL_ROUNDS, "2025-Q4"):
        picked = _units_of(demo, scoring.select_assessments(demo, principal=who, round_label=round_label))
        assert picked == (every if units == ALL else units), (role, round_label)
    # asking for another unit by name selects nothing beyond what the role sees
    asked = _units_of(demo, scoring.select_assessments(demo, principal=who, units=[OTHER]))
    assert asked == ({OTHER} if units == ALL else set())
    # the reader, by assessment id (a deep link or a crafted request)
    for unit, expected in ((OWN, own), (OTHER, other)):
        assessment_id = _assessment(demo, unit)
        if expected == "refused":
            with pytest.raises(AccessDenied):
                store.responses(demo, principal=who, assessment_ids=[assessment_id])
        else:
            rows = store.responses(demo, principal=who, assessment_ids=[assessment_id])
            assert set(rows["unit"]) == {unit} and rows["maturity"].notna().any()
            assert rows["evidence"].notna().any() == text  # the viewer gets figures without free text
    # the reader without ids: only the units the role sees
    if role == "nobody":
        with pytest.raises(AccessDenied):
            store.responses(demo, principal=who)
    else:
        assert set(store.responses(demo, principal=who)["unit"]) == (every if units == ALL else units)
    # the history of another unit's answers
    if history == "refused":
        with pytest.raises(AccessDenied):
            store.item_history(demo, _assessment(demo, OTHER), principal=who)
    else:
        assert not store.item_history(demo, _assessment(demo, OTHER), principal=who).empty
    assert set(access.visible_units(demo, principal=who)["name"]) == (every if units == ALL else units)


def test_the_core_refuses_a_call_without_a_principal(demo: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(TypeError, match="principal"):
        scoring.select_assessments(demo)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="principal"):
        store.responses(demo)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="principal"):
        summarize.prepare(demo, summarize.Scope("executive"))  # type: ignore[call-arg]
    with pytest.raises(AccessDenied):
        access.units_sql(None)  # type: ignore[arg-type]


def test_summaries_and_prompts_hold_only_the_assessors_unit(demo: duckdb.DuckDBPyConnection) -> None:
    who = _principals(demo)["assessor"]
    request = summarize.prepare(demo, summarize.Scope("executive"), principal=who)
    assert request.sources and {s.unit for s in request.sources} == {OWN}
    text = " ".join(m["content"] for m in summarize.messages(request)[0])
    for source in request.sources:  # the unit's own words may name another unit ("shared service with Group IT")
        text = text.replace(source.text, "")
    others = [u for u in store.list_units(demo)["name"] if u != OWN]
    assert not [u for u in others if u in text]
    with pytest.raises(AccessDenied):
        summarize.prepare(demo, summarize.Scope("unit", OTHER), principal=who)
    with pytest.raises(AccessDenied):
        summarize.prepare(demo, summarize.Scope("item", "A.5.2", unit=OTHER), principal=who)


def test_the_interview_opens_only_the_assessors_units(demo: duckdb.DuckDBPyConnection) -> None:
    people = _principals(demo)
    with pytest.raises(AccessDenied):
        interview.begin(demo, principal=people["assessor"], unit=OTHER, label="2027-Q1", scope="clauses")
    with pytest.raises(AccessDenied):  # a new unit is an administrator's or lead's to create
        interview.begin(demo, principal=people["assessor"], unit="Brand New", label="2027-Q1", scope="clauses")
    with pytest.raises(AccessDenied):
        interview.begin(demo, principal=people["viewer"], unit=OWN, label="2027-Q1", scope="clauses")
    state = interview.begin(demo, principal=people["assessor"], unit=OWN, label="2027-Q1", scope="clauses")
    assert state.unit == OWN


@pytest.mark.parametrize(("role", "action", "unit", "allowed"), [
    ("assessor", "update_response", OWN, True),
    ("assessor", "update_response", OTHER, False),
    ("assessor", "save_edits", OTHER, False),
    ("assessor", "undo_import", None, False),
    ("assessor", "merge_units", None, False),
    ("assessor", "start_assessment", None, False),
    ("assessor", "finalise", OWN, False),
    ("viewer", "update_response", OWN, False),
    ("viewer", "remember", None, True),
    ("nobody", "remember", None, False),
    ("lead", "update_response", OTHER, True),
    ("lead", "undo_import", None, True),
    ("lead", "grant", None, False),
    ("administrator", "grant", None, True),
])
def test_writes(demo: duckdb.DuckDBPyConnection, role: str, action: str, unit: str | None, allowed: bool) -> None:
    who = _principals(demo)[role]
    ids = [_assessment(demo, unit)] if unit else []
    if allowed:
        access.authorise_write(demo, who, action, ids)
    else:
        with pytest.raises(AccessDenied):
            access.authorise_write(demo, who, action, ids)


def test_the_store_refuses_an_answer_to_another_unit_without_the_pages_gate(demo: duckdb.DuckDBPyConnection) -> None:
    """store.update_response, proposals.decide and dismiss check the principal themselves: a caller that skips
    ui.write (the command line, a script, a new page) cannot answer for a unit its principal may not."""
    people = _principals(demo)
    other = _assessment(demo, OTHER)
    own = store.create_assessment(demo, unit=OWN, label="2027-Q1", scope="clauses", catalog_version="test",
                                  assessed_on=None, source="form").id
    before = demo.execute("SELECT count(*) FROM change_log").fetchall()
    for who in (people["assessor"], people["viewer"], people["nobody"]):
        with pytest.raises(AccessDenied):
            store.update_response(demo, other, "4.1", {"evidence": "written by an outsider"}, by="x", principal=who)
    with pytest.raises(AccessDenied):
        store.update_response(demo, own, "4.1", {"evidence": "a viewer's words"}, by="x", principal=people["viewer"])
    for call in (proposals.decide, proposals.dismiss):
        with pytest.raises(AccessDenied):
            call(demo, other, "9.2.1", by="x", principal=people["assessor"])
    assert demo.execute("SELECT count(*) FROM change_log").fetchall() == before
    assert store.update_response(demo, own, "4.1", {"evidence": "The assessor's own words"}, by="asa",
                                 principal=people["assessor"]) == ["evidence"]


def test_an_assessor_of_a_group_sees_the_units_under_it(con: duckdb.DuckDBPyConnection) -> None:
    group = store.ensure_unit(con, "Insurance")
    life = store.ensure_unit(con, "Life", parent="Insurance")
    store.ensure_unit(con, "Banking")
    access.grant(con, "g@example.org", "assessor", "Insurance", by=access.local_admin())
    assert access.resolve(con, "g@example.org", "G").unit_ids == frozenset({group, life})


def test_roles_are_logged_and_the_last_administrator_stays(con: duckdb.DuckDBPyConnection,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIMS_ADMINS", raising=False)
    admin = access.local_admin("Ada")
    assert access.grant(con, "one@example.org", "administrator", by=admin)
    assert not access.grant(con, "ONE@example.org", "administrator", by=admin)  # already so: nothing logged
    with pytest.raises(AccessDenied, match="last administrator"):
        access.revoke(con, "one@example.org", "administrator", by=admin)
    assert access.grant(con, "two@example.org", "administrator", by=admin)
    two = access.resolve(con, "two@example.org", "Two")
    assert access.revoke(con, "one@example.org", "administrator", by=two)
    with pytest.raises(AccessDenied, match="last administrator"):
        access.revoke(con, "two@example.org", "administrator", by=two)
    log = access.role_log(con, principal=admin)
    assert log[["changed_by", "email", "removed", "added"]].fillna("").values.tolist() == [
        ["Two <two@example.org>", "one@example.org", "administrator", ""],
        ["Ada", "two@example.org", "", "administrator"],
        ["Ada", "one@example.org", "", "administrator"],
    ]
    # a lead may not change roles; an unknown role or a unit for a lead is refused
    lead = Principal("l@example.org", "L", access.LEAD)
    with pytest.raises(AccessDenied):
        access.grant(con, "x@example.org", "viewer", by=lead)
    with pytest.raises(ValueError, match="Unknown role"):
        access.grant(con, "x@example.org", "owner", by=admin)
    with pytest.raises(ValueError, match="needs a unit"):
        access.grant(con, "x@example.org", "assessor", by=admin)


def test_admins_from_the_setting_and_groups_from_the_provider(con: duckdb.DuckDBPyConnection,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMS_ADMINS", "Boss@Example.org, other@example.org")
    monkeypatch.setenv("AIMS_ROLE_GROUPS", "aims-board=viewer, aims-leads=lead")
    assert access.resolve(con, "boss@example.org", "Boss").role == access.ADMIN
    assert access.resolve(con, "m@example.org", "M", ["aims-board"]).role == access.VIEWER
    assert access.resolve(con, "m@example.org", "M", ["aims-board", "aims-leads"]).role == access.LEAD
    nobody = access.resolve(con, "m@example.org", "M", ["unrelated"])
    assert nobody.role is None and not nobody.can_read
    access.grant(con, "solo@example.org", "administrator", by=access.local_admin())
    assert access.revoke(con, "solo@example.org", "administrator", by=access.local_admin())  # AIMS_ADMINS remain


def test_the_organisation_band_names_no_unit(demo: duckdb.DuckDBPyConnection) -> None:
    who = _principals(demo)["assessor"]
    band = peers.organisation_band(demo, principal=who)
    assert list(band.columns) == ["section", "section_title", "kind", "median", "q1", "q3", "units"]
    assert band["units"].between(peers.MIN_UNITS, 10).all() and (band["units"] == 10).any()
    assert (band["q1"] <= band["median"]).all() and (band["median"] <= band["q3"]).all()
    everyone = scoring.section_scores(demo, scoring.select_assessments(demo, principal=access.local_admin()))
    assert band.set_index("section").loc["6", "median"] == pytest.approx(
        everyone[everyone["section"] == "6"]["maturity"].median())
    own = scoring.section_scores(demo, scoring.select_assessments(demo, principal=who))
    compared = peers.against_band(own, band)
    assert set(compared["unit"]) == {OWN} and compared["standing"].notna().all()
    with pytest.raises(AccessDenied):
        peers.organisation_band(demo, principal=_principals(demo)["nobody"])


def test_the_command_line_manages_roles(demo_db_copy: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMS_USER", "Ops Admin")
    monkeypatch.delenv("AIMS_ADMINS", raising=False)
    db = str(demo_db_copy)
    assert cli(["--db", db, "access", "grant", "a@example.org", "assessor", "--unit", OWN]) == 0
    assert cli(["--db", db, "access", "grant", "root@example.org", "administrator"]) == 0
    assert cli(["--db", db, "access", "grant", "b@example.org", "assessor", "--unit", "No Such Unit"]) == 1
    assert cli(["--db", db, "access", "revoke", "root@example.org", "administrator"]) == 1  # the last one
    assert cli(["--db", db, "access", "list", "--log"]) == 0
    out, err = capsys.readouterr()
    assert "No unit named 'No Such Unit'" in err and "last administrator" in err
    assert f"a@example.org\tassessor\t{OWN}\tgranted by Ops Admin" in out
    assert f"Ops Admin\ta@example.org\t+ assessor of {OWN}" in out
    with pytest.raises(SystemExit):
        cli(["--help"])
    assert "local administrator" in capsys.readouterr().out


def test_the_core_writes_refuse_by_themselves(demo: duckdb.DuckDBPyConnection) -> None:
    """Not only ui.write's gate: the write functions themselves refuse a principal without the right."""
    from dashboard import rounds, tracking, undo, units
    from etl.importer import import_bytes

    people = _principals(demo)
    assessor, viewer = people["assessor"], people["viewer"]
    before = demo.execute("SELECT count(*) FROM change_log").fetchall()
    with pytest.raises(AccessDenied):
        import_bytes(demo, "x.csv", b"unit,assessment,item_id,maturity\nHR & People,R9,4.1,2\n", principal=assessor, by="a")
    with pytest.raises(AccessDenied):
        undo.undo_import(demo, 1, principal=assessor, by="a")
    with pytest.raises(AccessDenied):
        units.merge_units(demo, OTHER, OWN, principal=assessor, by="a")
    with pytest.raises(AccessDenied):
        rounds.start_assessment(demo, unit=OWN, label="R9", scope="both", catalog_version="x", assessed_on=None,
                                principal=assessor, by="a")
    with pytest.raises(AccessDenied):
        tracking.set_actions(demo, [(_assessment(demo, OTHER), "4.3")], {"status": "done"}, principal=assessor, by="a")
    with pytest.raises(AccessDenied):
        tracking.set_actions(demo, [(_assessment(demo, OWN), "4.3")], {"status": "done"}, principal=viewer, by="v")
    assert demo.execute("SELECT count(*) FROM change_log").fetchall() == before  # nothing written
    assert tracking.set_actions(demo, [(_assessment(demo, OWN), "4.3")], {"status": "done"}, principal=assessor, by="a") == 1


def test_a_merge_moves_the_assessors_of_the_merged_unit(con: duckdb.DuckDBPyConnection) -> None:
    from dashboard import units

    admin = access.local_admin()
    store.ensure_unit(con, "Group I.T.")
    target = store.ensure_unit(con, "Group IT")
    access.grant(con, "a@example.org", "assessor", "Group I.T.", by=admin)
    access.grant(con, "b@example.org", "assessor", "Group I.T.", by=admin)
    access.grant(con, "b@example.org", "assessor", "Group IT", by=admin)
    units.merge_units(con, "Group I.T.", "Group IT", principal=admin, by="lead")
    assert access.resolve(con, "a@example.org", "A").unit_ids == frozenset({target})
    assert con.execute("SELECT count(*) FROM role_assignment WHERE email = 'b@example.org'").fetchall() == [(1,)]
