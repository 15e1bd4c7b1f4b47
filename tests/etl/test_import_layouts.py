"""Importing the layouts units actually send: cover sheets, metadata blocks, many units, foreign headers, CSV dialects."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from dashboard import store
from etl import exports
from etl.importer import import_bytes, validate_bytes
from etl.preview import preview_bytes
from tests.principals import ADMIN

BY = "layout-tester"
Rows = list[list[Any]]


def workbook(*sheets: tuple[str, Rows], hidden: tuple[str, ...] = ()) -> bytes:
    """A real .xlsx (openpyxl) with the given sheets, each a list of rows starting at A1."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        ws = book.create_sheet(title)
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
        if title in hidden:
            ws.sheet_state = "hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(rows: Rows, *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False) -> bytes:
    text = "\r\n".join(delimiter.join("" if v is None else str(v) for v in row) for row in rows) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def imp(con, data: bytes, name: str = "unit.xlsx", **options: Any):
    return import_bytes(con, name, data, principal=ADMIN, by=BY, **options)


def ok(result) -> None:
    assert result.ok, [str(p) for p in result.problems]


def stored(con, *fields: str) -> dict[tuple[str, str, str], tuple]:
    """(unit, round, item) -> the chosen stored fields."""
    sql = (f"SELECT u.name, a.label, r.item_id, {', '.join('r.' + f for f in fields)} FROM response r "
           "JOIN assessment a ON a.id = r.assessment_id JOIN unit u ON u.id = a.unit_id ORDER BY ALL")
    return {tuple(row[:3]): tuple(row[3:]) for row in con.execute(sql).fetchall()}


def errors(result) -> list:
    return [p for p in result.problems if p.severity == "error"]


# --- cover sheets, title rows and the metadata block ---------------------------------------------

COVER = ("Read me", [["How to fill in this questionnaire"], ["Unit: the name of your business unit"],
                     ["Maturity: 0 to 5"]])


def questionnaire(block: Rows, header: list[str], body: Rows, sheet: str = "Assessment") -> bytes:
    return workbook(COVER, (sheet, [*block, [], header, *body]))


BLOCK = [["ISO/IEC 42001 gap assessment"], ["Organisation:", "Aldermoor Group"], ["Division", "Payments & Cards"],
         ["Assessment date", dt.datetime(2026, 3, 15)], ["Assessor: R. Haddad"]]


def test_metadata_block_gives_unit_and_date_and_the_date_labels_the_round(con) -> None:
    data = questionnaire(BLOCK, ["Ref", "Requirement", "Maturity level", "Evidence", "Owner"],
                         [["4.1", "Context", 2, "Context register", "CRO"], ["5.2", "AI policy", "3 - Defined", None, None]])
    result = imp(con, data, "payments.xlsx")
    ok(result)
    assessment = store.get_assessment(con, unit="Payments & Cards", label="2026-03-15")
    assert assessment is not None and assessment.assessed_on == dt.date(2026, 3, 15)
    assert stored(con, "maturity", "evidence", "owner") == {
        ("Payments & Cards", "2026-03-15", "4.1"): (2, "Context register", "CRO"),
        ("Payments & Cards", "2026-03-15", "5.2"): (3, None, None),
    }
    # the instructions sheet ("Unit: the name of your business unit") was not taken for a cover block
    assert [u for u in store.list_units(con)["name"]] == ["Payments & Cards"]


def test_preview_shows_sheet_header_row_metadata_and_columns(con) -> None:
    data = questionnaire([*BLOCK, ["Round", "2026-Q1"]], ["Ref", "Requirement", "Maturity level", "Evidence"],
                         [["4.1", "Context", 2, "Context register"]])
    preview = preview_bytes(con, "payments.xlsx", data)
    assert preview.status == "ready", [str(p) for p in preview.problems]
    assert preview.detected and preview.sheet == "Assessment" and preview.header_row == 8
    assert preview.metadata == {"Organisation": "Aldermoor Group", "Unit": "Payments & Cards",
                                "Assessment date": "2026-03-15", "Assessor": "R. Haddad", "Round": "2026-Q1"}
    assert (preview.units, preview.rounds, preview.assessments, preview.rows_read) == (["Payments & Cards"], ["2026-Q1"], 1, 1)
    fields = dict(zip(preview.columns["header"], preview.columns["field"], strict=True))
    assert fields == {"Ref": "item_id", "Requirement": "title", "Maturity level": "maturity", "Evidence": "evidence"}
    how = dict(zip(preview.columns["header"], preview.columns["how"], strict=True))
    assert how["Ref"] == "recognised" and how["Requirement"] == "informational"  # titles, beside the ids
    assert preview.sheets["layout"].tolist() == ["other layout, recognised by its header names"]
    assert "Read me" in preview.sheet_names
    assert store.list_assessments(con).empty  # a preview writes nothing


def test_a_column_beats_the_block_and_the_block_beats_the_option(con) -> None:
    block = [["Business unit: Claims"], ["Round: R1"]]
    body = [["Retail", "4.1", 2], [None, "4.2", 3]]
    result = imp(con, questionnaire(block, ["Unit", "Item", "Score"], body), unit="From option", label="R9")
    ok(result)
    assert set(stored(con, "maturity")) == {("Retail", "R1", "4.1"), ("Claims", "R1", "4.2")}


def test_a_bad_date_in_the_block_is_reported_at_its_cell(con, db_snapshot) -> None:
    before = db_snapshot(con)
    block = [["Unit", "Claims"], ["Assessment date", "15/03/2026"]]
    result = imp(con, questionnaire(block, ["Item", "Score"], [["4.1", 2]]), "claims.xlsx")
    assert result.status == "rejected"
    [problem] = errors(result)
    assert (problem.sheet, problem.row, problem.column, problem.value) == ("Assessment", 2, "B", "15/03/2026")
    assert "YYYY-MM-DD" in problem.expected
    assert db_snapshot(con) == before


# --- many units and rounds in one file ----------------------------------------------------------


def test_business_unit_and_round_columns_create_one_assessment_each(con) -> None:
    rows = [["Business Unit", "Period", "Control", "Score", "Comments"]]
    for unit in ("Retail", "Claims", "IT"):
        for period in ("2025-H2", "2026-H1"):
            rows += [[unit, period, "A.2.2", 1 if period == "2025-H2" else 3, f"{unit} {period}"],
                     [unit, period, "6.1.2", 2, None]]
    result = imp(con, workbook(("Data", rows)), "group.xlsx")
    ok(result)
    assert len(result.new_assessments) == 6 and result.assessments == 6
    assessments = store.list_assessments(con)
    assert sorted(zip(assessments["unit"], assessments["label"], assessments["scope"], strict=True)) == sorted(
        (u, p, "both") for u in ("Retail", "Claims", "IT") for p in ("2025-H2", "2026-H1"))
    assert stored(con, "maturity", "notes")[("Claims", "2026-H1", "A.2.2")] == (3, "Claims 2026-H1")


def test_a_date_column_without_round_makes_one_round_per_date(con) -> None:
    rows = [["Department", "Assessment date", "Clause", "Maturity"],
            ["Legal", dt.datetime(2025, 9, 30), "4.1", 1], ["Legal", "2026-03-31", "4.1", 2],
            ["Legal", dt.datetime(2026, 3, 31), "4.2", 2]]
    ok(imp(con, workbook(("Sheet1", rows))))
    assert stored(con, "maturity") == {("Legal", "2025-09-30", "4.1"): (1,), ("Legal", "2026-03-31", "4.1"): (2,),
                                       ("Legal", "2026-03-31", "4.2"): (2,)}
    assert store.get_assessment(con, unit="Legal", label="2025-09-30").assessed_on == dt.date(2025, 9, 30)


def test_hidden_sheets_are_not_data(con) -> None:
    hidden = ("Lists", [["item_id", "maturity"], ["4.1", 5]])
    data = workbook(("Answers", [["unit", "round", "item", "score"], ["Ops", "R1", "4.2", 1]]), hidden, hidden=("Lists",))
    ok(imp(con, data))
    assert stored(con, "maturity") == {("Ops", "R1", "4.2"): (1,)}


def test_two_data_sheets_clauses_and_annex_a_load_together(con) -> None:
    clauses = ("Clauses 4-10", [["Unit", "Round", "Clause", "Maturity"], ["Ops", "R1", "6.2", 2]])
    annex = ("Annex A", [["Unit", "Round", "Control", "Maturity"], ["Ops", "R1", "6.2.4", 1], ["Ops", "R1", "A.5.2", 3]])
    result = imp(con, workbook(clauses, annex))
    ok(result)
    assert stored(con, "maturity") == {("Ops", "R1", "6.2"): (2,), ("Ops", "R1", "A.6.2.4"): (1,),
                                       ("Ops", "R1", "A.5.2"): (3,)}
    assert store.get_assessment(con, unit="Ops", label="R1").scope == "both"


# --- item ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("A.6.2.4", "A.6.2.4"), ("A6.2.4", "A.6.2.4"), ("A 6.2.4", "A.6.2.4"), ("6.2.4", "A.6.2.4"),
    ("5.2 AI system impact assessment process", "A.5.2"), ("a.10.4", "A.10.4"),
])
def test_ids_on_an_annex_a_sheet(con, raw: str, expected: str) -> None:
    data = workbook(("Annex A controls", [["Unit", "Round", "Control", "Maturity"], ["Ops", "R1", raw, 2]]))
    ok(imp(con, data))
    assert list(stored(con, "maturity")) == [("Ops", "R1", expected)]


def test_a_title_row_saying_annex_a_makes_bare_ids_controls(con) -> None:
    rows = [["ISO/IEC 42001 Annex A — statement of applicability"], ["Unit", "Round", "Ref", "Applicable", "Reason"],
            ["Ops", "R1", "10.4", "No", "No AI offered to customers"]]
    ok(imp(con, workbook(("Sheet1", rows))))
    assert stored(con, "applicable", "justification") == {("Ops", "R1", "A.10.4"): (False, "No AI offered to customers")}


@pytest.mark.parametrize(("raw", "hint"), [("2.2", "write A.2.2"), ("6.2.4", ""), ("A.6.2.9", ""), ("11.1", ""), ("Policy", "")])
def test_unknown_ids_are_errors_never_guessed(con, raw: str, hint: str, db_snapshot) -> None:
    before = db_snapshot(con)
    data = workbook(("Clauses", [["Unit", "Round", "Item", "Maturity"], ["Ops", "R1", "4.1", 2], ["Ops", "R1", raw, 2]]))
    result = imp(con, data, "ids.xlsx")
    assert result.status == "rejected"
    [problem] = errors(result)
    assert (problem.sheet, problem.row, problem.column, problem.value) == ("Clauses", 3, "Item (C)", raw)
    assert hint in problem.expected
    assert db_snapshot(con) == before


# --- maturity, status words and applicability ----------------------------------------------------


@pytest.mark.parametrize(("raw", "level"), [
    (4, 4), ("4", 4), ("Defined", 3), ("Quantitatively managed", 4), ("None", 0), ("3 - Defined", 3),
    ("2 – Repeatable", 2), ("5: Optimizing", 5), ("Non-compliant", 0), ("not implemented", 0),
])
def test_maturity_cell_spellings(con, raw: object, level: int) -> None:
    ok(imp(con, workbook(("S", [["Unit", "Round", "Item", "Maturity"], ["Ops", "R1", "4.1", raw]]))))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (level,)}


def test_status_words_follow_the_documented_rule(con) -> None:
    rows = [["Unit", "Round", "Control", "Compliance status", "Target", "Justification"],
            ["Ops", "R1", "A.2.2", "Compliant", None, None],          # meets the default target 3
            ["Ops", "R1", "A.2.3", "Fully compliant", 4, None],       # meets its own target 4
            ["Ops", "R1", "A.2.4", "Partial", None, None],            # 2 below a target of 3
            ["Ops", "R1", "A.3.2", "Partially compliant", 2, None],   # one below a target of 2
            ["Ops", "R1", "A.3.3", "Non-compliant", None, None],      # 0
            ["Ops", "R1", "A.4.2", "N/A", None, "Not in scope"],      # not applicable
            ["Ops", "R1", "A.4.3", "Not assessed", None, None],       # nothing: skipped
            ["Ops", "R1", "A.4.4", "Conforme", None, None],           # French
            ["Ops", "R1", "A.4.5", "teilweise erfüllt", None, None]]  # German
    result = imp(con, workbook(("Annex A", rows)))
    ok(result)
    assert stored(con, "maturity", "target", "applicable") == {
        ("Ops", "R1", "A.2.2"): (3, None, True), ("Ops", "R1", "A.2.3"): (4, 4, True),
        ("Ops", "R1", "A.2.4"): (2, None, True), ("Ops", "R1", "A.3.2"): (1, 2, True),
        ("Ops", "R1", "A.3.3"): (0, None, True), ("Ops", "R1", "A.4.2"): (None, None, False),
        ("Ops", "R1", "A.4.4"): (3, None, True), ("Ops", "R1", "A.4.5"): (2, None, True),
    }


def test_compliant_meets_the_stored_target_when_the_file_gives_none(con) -> None:
    ok(imp(con, workbook(("S", [["Unit", "Round", "Item", "Target"], ["Ops", "R1", "5.2", 5]])), "targets.xlsx"))
    ok(imp(con, workbook(("S", [["Unit", "Round", "Item", "Status"], ["Ops", "R1", "5.2", "Compliant"]])), "status.xlsx"))
    assert stored(con, "maturity", "target") == {("Ops", "R1", "5.2"): (5, 5)}


def test_a_level_in_the_maturity_column_wins_over_a_status_word(con) -> None:
    rows = [["Unit", "Round", "Item", "Maturity", "Status"], ["Ops", "R1", "4.1", 1, "Compliant"],
            ["Ops", "R1", "4.2", None, "Partial"]]
    ok(imp(con, workbook(("S", rows))))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (1,), ("Ops", "R1", "4.2"): (2,)}


def test_status_na_on_a_clause_and_na_beside_applicable_yes_are_errors(con) -> None:
    rows = [["Unit", "Round", "Item", "Status", "Applicable", "Justification"],
            ["Ops", "R1", "5.2", "N/A", None, "not for us"], ["Ops", "R1", "A.10.4", "N/A", "yes", "x"]]
    result = imp(con, workbook(("S", rows)))
    # each error names the cell holding the value at fault: the N/A in the status column, the yes beside one
    assert [(p.row, p.column, p.value) for p in errors(result)] == [(2, "Status (D)", "N/A"), (3, "Applicable (E)", "yes")]
    assert "cannot be marked not applicable" in errors(result)[0].message
    assert "both applicable and not applicable" in errors(result)[1].message


@pytest.mark.parametrize(("yes", "no"), [("yes", "no"), ("Y", "N"), (True, False), ("TRUE", "FALSE"),
                                         ("Applicable", "Excluded"), ("oui", "non"), ("ja", "nein"), ("sí", "No aplica")])
def test_applicability_words_with_the_justification_column(con, yes: object, no: object) -> None:
    rows = [["Unit", "Round", "Control", "Applicable?", "Justification for exclusion", "Maturity"],
            ["Ops", "R1", "A.10.2", yes, None, 2], ["Ops", "R1", "A.10.4", no, "Only internal use", None]]
    ok(imp(con, workbook(("Annex A", rows))))
    assert stored(con, "applicable", "justification") == {("Ops", "R1", "A.10.2"): (True, None),
                                                          ("Ops", "R1", "A.10.4"): (False, "Only internal use")}


# --- headers in other languages and the column mapping -------------------------------------------


@pytest.mark.parametrize("header", [
    ["Unité", "Campagne", "Exigence", "Maturité", "Preuves", "Responsable", "Échéance"],
    ["Unidad de negocio", "Ronda", "Requisito", "Nivel de madurez", "Evidencia", "Responsable", "Fecha límite"],
    ["Geschäftseinheit", "Runde", "Anforderung", "Reifegrad", "Nachweise", "Verantwortlich", "Fälligkeit"],
])
def test_french_spanish_and_german_headers(con, header: list[str]) -> None:
    rows = [header, ["Ops", "R1", "4.1", 2, "Registre", "Ana", dt.datetime(2026, 12, 31)]]
    ok(imp(con, workbook(("Feuil1", rows))))
    assert stored(con, "maturity", "evidence", "owner", "due_date") == {
        ("Ops", "R1", "4.1"): (2, "Registre", "Ana", dt.date(2026, 12, 31))}


UNKNOWN_HEADERS = [["Org", "Cycle", "Item", "Grade", "Remark"], ["Ops", "R1", "4.1", 2, "fine"], ["Ops", "R1", "4.2", 4, "x"]]


def test_a_guessed_header_is_used_and_shown_as_guessed(con) -> None:
    rows = [["Unit", "Round", "Item", "Maturity as judged"], ["Ops", "R1", "4.1", 2]]
    data = workbook(("S", rows))
    preview = preview_bytes(con, "g.xlsx", data)
    assert dict(zip(preview.columns["header"], preview.columns["how"], strict=True))["Maturity as judged"] == "guessed"
    ok(imp(con, data))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (2,)}


def test_the_person_maps_what_was_not_recognised(con, db_snapshot) -> None:
    data = workbook(("S", UNKNOWN_HEADERS))
    before = db_snapshot(con)
    refused = imp(con, data, "odd.xlsx")
    assert refused.status == "rejected" and "no sheet has a header row" in errors(refused)[0].message
    assert db_snapshot(con) == before

    preview = preview_bytes(con, "odd.xlsx", data)
    assert (preview.detected, preview.sheet, preview.header_row) == (False, "S", 1)
    assert preview.headers == ["Org", "Cycle", "Item", "Grade", "Remark"]
    mapping = preview.corrections(columns={"unit": "Org", "assessment": "Cycle", "item_id": "Item", "maturity": "D"})
    assert mapping == '{"sheet":"S","header_row":1,"columns":{"unit":"Org","assessment":"Cycle","item_id":"Item","maturity":"D"}}'
    result = imp(con, data, "odd.xlsx", mapping=mapping)
    ok(result)
    assert stored(con, "maturity", "notes") == {("Ops", "R1", "4.1"): (2, None), ("Ops", "R1", "4.2"): (4, None)}


def test_a_wrongly_recognised_column_can_be_left_out(con) -> None:
    rows = [["Unit", "Round", "Item", "Maturity", "Notes"], ["Ops", "R1", "4.1", 2, "internal remark"]]
    ok(imp(con, workbook(("S", rows)), mapping='{"notes": null}'))
    assert stored(con, "maturity", "notes") == {("Ops", "R1", "4.1"): (2, None)}


def test_the_mapping_moves_the_header_row_and_picks_the_sheet(con) -> None:
    sheet = [["Unit", "Round", "Item", "Maturity"], ["Ops", "R1", "4.1", 1],
             ["Team", "Cycle", "Id", "Level"], ["Sales", "R2", "4.2", 3]]
    data = workbook(("First", [["Unit", "Round", "Item", "Maturity"], ["Nope", "R1", "4.3", 5]]), ("Second", sheet))
    ok(imp(con, data, mapping=json.dumps({"sheet": "Second", "header_row": 3})))
    assert stored(con, "maturity") == {("Sales", "R2", "4.2"): (3,)}


@pytest.mark.parametrize(("mapping", "says"), [
    ('{"maturity": "Nowhere"}', "which the header row does not have"),
    ('{"maturity": "Z"}', "which the header row does not have"),
    ('{"sheet": "Missing"}', "which this file does not have"),
    ('{"score": "Grade"}', "unknown field"),
    ("{not json", "not valid JSON"),
    ('{"header_row": 0}', "header_row"),
])
def test_a_mapping_that_cannot_apply_is_reported(con, mapping: str, says: str, db_snapshot) -> None:
    before = db_snapshot(con)
    result = imp(con, workbook(("S", [["Unit", "Round", "Item", "Maturity"], ["Ops", "R1", "4.1", 1]])), mapping=mapping)
    assert result.status == "rejected"
    assert says in errors(result)[0].message
    assert db_snapshot(con) == before


def test_the_preview_reports_an_unusable_mapping_instead_of_failing(con) -> None:
    data = workbook(("S", [["Unit", "Round", "Item", "Maturity"], ["Ops", "R1", "4.1", 1]]))
    preview = preview_bytes(con, "ops.xlsx", data, mapping="{not json")
    assert preview.status == "rejected"
    assert "the column mapping is not usable" in preview.problems[0].message


# --- CSV dialects and encodings, .xlsm, dates ----------------------------------------------------


@pytest.mark.parametrize(("delimiter", "encoding", "bom"), [(",", "utf-8", False), (";", "utf-8", True),
                                                            (";", "cp1252", False), (",", "cp1252", False)])
def test_csv_dialects_as_european_excel_saves_them(con, delimiter: str, encoding: str, bom: bool) -> None:
    rows = [["Geschäftseinheit", "Runde", "Anforderung", "Reifegrad", "Nachweise"],
            ["Zahlungsverkehr", "2026-Q1", "A.6.2.4", "Defined", "Prüfbericht, Version 2" if delimiter == ";" else "Prüfbericht"]]
    data = csv_file(rows, delimiter=delimiter, encoding=encoding, bom=bom)
    ok(imp(con, data, "export.csv"))
    assert stored(con, "maturity", "evidence") == {("Zahlungsverkehr", "2026-Q1", "A.6.2.4"): (3, rows[1][4])}


def _as_xlsm(xlsx: bytes) -> bytes:
    """The workbook turned into a macro-enabled one: macro content type and a VBA project part."""
    source, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                content = content.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
            target.writestr(info.filename, content)
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"Sub AutoOpen(): Shell \"calc\": End Sub")
    return out.getvalue()


def test_xlsm_is_read_and_its_macros_ignored(con) -> None:
    data = _as_xlsm(workbook(("S", [["Unit", "Round", "Item", "Maturity"], ["Ops", "R1", "4.1", 2]])))
    assert b"macroEnabled" in zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    ok(imp(con, data, "macros.xlsm"))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (2,)}


@pytest.mark.parametrize(("raw", "ok_"), [(dt.datetime(2026, 5, 1), True), ("2026-05-01", True),
                                          ("2026-05-01 00:00:00", True), ("01/05/2026", False), ("May 1st", False)])
def test_dates_as_excel_dates_or_iso_text(con, raw: object, ok_: bool) -> None:
    rows = [["Unit", "Round", "Item", "Maturity", "Due date"], ["Ops", "R1", "4.1", 1, raw]]
    result = imp(con, workbook(("S", rows)))
    if ok_:
        ok(result)
        assert stored(con, "due_date") == {("Ops", "R1", "4.1"): (dt.date(2026, 5, 1),)}
    else:
        [problem] = errors(result)
        assert (problem.row, problem.column) == (2, "Due date (E)")


# --- blank cells, round trip through Excel -------------------------------------------------------


def test_blank_cells_keep_stored_values_in_a_foreign_layout_too(con) -> None:
    header = ["Division", "Period", "Control", "Rating", "Evidence", "Owner"]
    ok(imp(con, workbook(("S", [header, ["Ops", "R1", "A.2.2", 2, "Policy v1", "Ann"]])), "v1.xlsx"))
    second = imp(con, workbook(("S", [header, ["Ops", "R1", "A.2.2", 3, None, None]])), "v2.xlsx")
    ok(second)
    assert (second.counts.updated, second.counts.new) == (1, 0)
    assert stored(con, "maturity", "evidence", "owner") == {("Ops", "R1", "A.2.2"): (3, "Policy v1", "Ann")}


def test_export_edit_in_excel_reimport_updates_in_place(con, tmp_path: Path) -> None:
    rows = [["unit", "assessment", "item_id", "maturity", "evidence"], ["Ops", "R1", "4.1", 1, "old"],
            ["Ops", "R1", "4.2", 2, None]]
    ok(imp(con, workbook(("Responses", rows)), "first.xlsx"))
    exported = tmp_path / "responses.xlsx"
    exported.write_bytes(exports.to_xlsx([("Responses", exports.responses_table(store.responses(con, principal=ADMIN)))]))
    book = openpyxl.load_workbook(exported)  # "edit in Excel"
    ws = book["Responses"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[header.index("item_id")].value == "4.1":
            row[header.index("maturity")].value = 4
            row[header.index("evidence")].value = "new evidence"
    book.save(exported)

    result = imp(con, exported.read_bytes(), "responses.xlsx")
    ok(result)
    assert result.new_assessments == [] and (result.counts.new, result.counts.updated) == (0, 1)
    assert stored(con, "maturity", "evidence") == {("Ops", "R1", "4.1"): (4, "new evidence"), ("Ops", "R1", "4.2"): (2, None)}
    assert len(store.list_assessments(con)) == 1


def test_html_in_cells_is_stored_as_plain_text(con) -> None:
    text = '<img src=x onerror="alert(1)"><b>bold</b>'
    ok(imp(con, workbook(("S", [["Unit", "Round", "Item", "Maturity", "Evidence"], ["Ops", "R1", "4.1", 1, text]]))))
    assert stored(con, "evidence") == {("Ops", "R1", "4.1"): (text,)}


def test_validation_alone_does_not_need_a_database(catalog) -> None:
    batch, report = validate_bytes("x.csv", csv_file([["unit", "assessment", "item_id", "maturity"],
                                                      ["Ops", "R1", "4.1", 2]]), catalog)
    assert report.ok and batch is not None
    assert (batch.units, batch.rounds, batch.response_count) == (["Ops"], ["R1"], 1)


def test_the_import_record_keeps_organisation_and_assessor(con) -> None:
    data = questionnaire(BLOCK, ["Ref", "Maturity level"], [["4.1", 2]])
    ok(imp(con, data, "payments.xlsx"))
    [(filename, summary)] = con.execute("SELECT filename, summary FROM import_batch").fetchall()
    recorded = json.loads(summary)
    assert filename == "payments.xlsx" and recorded["sheets"] == ["Assessment"]
    assert recorded["metadata"]["organisation"] == "Aldermoor Group" and recorded["metadata"]["assessor"] == "R. Haddad"
    assert (recorded["new_assessments"], recorded["new"]) == (1, 1)


def test_a_status_column_holding_numbers_is_read_as_levels(con) -> None:
    rows = [["Unit", "Round", "Item", "Result"], ["Ops", "R1", "4.1", 4], ["Ops", "R1", "4.2", "Partial"]]
    ok(imp(con, workbook(("S", rows))))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (4,), ("Ops", "R1", "4.2"): (2,)}


def test_a_correction_applies_where_the_column_exists_and_leaves_other_sheets_alone(con) -> None:
    clauses = ("Clauses", [["Unit", "Round", "Clause", "Maturity", "Score"], ["Ops", "R1", "4.1", 1, 4]])
    annex = ("Annex A", [["Unit", "Round", "Control", "Maturity"], ["Ops", "R1", "A.2.2", 2]])
    ok(imp(con, workbook(clauses, annex), mapping='{"maturity": "Score"}'))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (4,), ("Ops", "R1", "A.2.2"): (2,)}


def test_a_column_letter_points_at_a_column_without_a_header(con) -> None:
    rows = [["Unit", "Round", "Item", "Maturity", None], ["Ops", "R1", "4.1", 1, "said by the CRO"]]
    ok(imp(con, workbook(("S", rows)), mapping='{"notes": "E"}'))
    assert stored(con, "maturity", "notes") == {("Ops", "R1", "4.1"): (1, "said by the CRO")}


def test_excel_sep_hint_line_before_the_header(con) -> None:
    data = "sep=;\r\nUnité;Campagne;Exigence;Maturité\r\nOps;R1;4.1;3 - Defined\r\n".encode("cp1252")
    ok(imp(con, data, "excel-fr.csv"))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (3,)}
