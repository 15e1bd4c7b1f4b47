"""Recognition by content as well as by name, and nothing dropped without a word (issue 11, parts 2 and 3).

Each test builds the workbook (openpyxl) or CSV a template of another style would hold, imports it into a
real DuckDB file and reads back what was stored and what was said.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from etl.importer import validate_bytes
from etl.preview import preview_bytes

from .test_import_layouts import csv_file, errors, imp, ok, stored, workbook


def warnings(result) -> list:
    """The warnings about the file's content; the note that an undated round takes the import's date is left out
    (it is tested in tests/etl/test_import_dates.py)."""
    return [p for p in result.problems if p.severity == "warning" and not p.message.startswith("no date in the file")]


def columns_of(preview) -> dict[str, tuple[str, str]]:
    return {h: (f, how) for h, f, how in zip(preview.columns["header"], preview.columns["field"], preview.columns["how"],
                                              strict=True)}


# --- the title block with long keys -------------------------------------------------------------


def test_long_keys_above_the_table_are_read_on_the_words_they_contain(con) -> None:
    block = [["AI management system — gap assessment"], ["Assessed Division/Department:", "Payments & Cards"],
             ["Date of the review", dt.datetime(2026, 4, 30)], ["Reporting period: FY26 H1"],
             ["Company name", "Aldermoor Group"]]
    rows = [*block, [], ["Ref", "Maturity", "Evidence"], ["4.1", 2, "Context register"], ["5.2", 3, "Policy v2"]]
    result = imp(con, workbook(("Assessment", rows)), "title-block.xlsx")
    ok(result)
    assert stored(con, "maturity", "evidence") == {("Payments & Cards", "FY26 H1", "4.1"): (2, "Context register"),
                                                   ("Payments & Cards", "FY26 H1", "5.2"): (3, "Policy v2")}
    assert con.execute("SELECT assessed_on FROM assessment").fetchall() == [(dt.date(2026, 4, 30),)]
    preview = preview_bytes(con, "title-block-2.xlsx", workbook(("Assessment", rows)))
    assert preview.metadata["Organisation"] == "Aldermoor Group"


# --- id and title side by side, qualified headers -----------------------------------------------


def test_the_column_holding_ids_wins_over_the_one_holding_titles(con) -> None:
    """`Req #` (ids) beside `Requirement` (titles): the titles are never read as ids."""
    titles = ["Understanding the organisation", "AI policy", "Internal audit programme"]
    rows = [["Requirement", "Req #", "Score", "Comments"],
            *[[t, i, 2, "ok"] for t, i in zip(titles, ["4.1", "5.2", "9.2.1"], strict=True)]]
    data = workbook(("Clauses", rows))
    result = imp(con, data, "req.xlsx", unit="Ops", label="R1")
    ok(result)
    assert sorted(k[2] for k in stored(con, "maturity")) == ["4.1", "5.2", "9.2.1"]
    preview = preview_bytes(con, "req2.xlsx", data, "Ops", "R1")
    assert columns_of(preview)["Requirement"] == ("title", "informational")
    assert columns_of(preview)["Req #"] == ("item_id", "recognised")


def test_the_ids_win_whichever_comes_first(con) -> None:
    rows = [["Control ref", "Requirement", "Current maturity", "Target maturity"], ["A.2.2", "AI policy", 1, 4]]
    ok(imp(con, workbook(("Sheet1", rows)), "x.xlsx", unit="Ops", label="R1"))
    assert stored(con, "maturity", "target") == {("Ops", "R1", "A.2.2"): (1, 4)}


@pytest.mark.parametrize(("header", "field"), [
    ("Control ref", "item_id"), ("Req #", "item_id"), ("No.", "item_id"), ("ref_id", "item_id"),
    ("Current maturity", "maturity"), ("Current maturity (0-5)", "maturity"), ("Maturity rating", "maturity"),
    ("Rating", "maturity"), ("Level", "maturity"), ("Target maturity", "target"), ("Target maturity level", "target"),
    ("Evidence / comments", "evidence"), ("Evidence/Comments", "evidence"), ("Gap", "gap"), ("Gap rating", "gap"),
    ("compliance_result", "status"), ("observations", "notes"), ("assessable", "assessable"),
])
def test_qualified_headers_are_recognised_and_make_a_sheet(con, header: str, field: str) -> None:
    """A sheet whose headers only qualify known words is recognised as holding data (not just guessed)."""
    other = {"item_id": ("Current maturity", 2), "maturity": ("Control ref", "4.1")}.get(field, ("Control ref", "4.1"))
    cells = {"item_id": "4.1", "maturity": 2, "target": 3, "evidence": "register", "gap": "Minor",
             "status": "partially_compliant", "notes": "seen", "assessable": "TRUE"}
    header_row = [header, other[0]] if field != "maturity" else [other[0], header]
    values = [cells[field], other[1]] if field != "maturity" else [other[1], cells[field]]
    if field == "item_id":
        header_row, values = [header, "Current maturity"], ["4.1", 2]
    elif field not in ("maturity",):
        header_row, values = ["Control ref", header, "Current maturity"], ["4.1", cells[field], 2]
    preview = preview_bytes(con, "q.xlsx", workbook(("Sheet1", [header_row, values])), "Ops", "R1")
    assert preview.detected, [str(p) for p in preview.problems]
    assert columns_of(preview)[header] == (field, "recognised")


# --- nothing dropped without a word --------------------------------------------------------------


def test_evidence_slash_comments_is_evidence(con) -> None:
    rows = [["Clause", "Maturity", "Evidence / comments"], *[[i, 2, f"text {i}"] for i in ("4.1", "4.2", "4.3")]]
    ok(imp(con, workbook(("S", rows)), unit="Ops", label="R1"))
    assert stored(con, "evidence") == {("Ops", "R1", i): (f"text {i}",) for i in ("4.1", "4.2", "4.3")}


def test_two_columns_for_one_field_are_both_kept(con) -> None:
    """`Evidence` feeds evidence; `Evidence / comments` beside it goes to the notes under its header, after
    the notes column's own text."""
    rows = [["Clause", "Maturity", "Evidence", "Evidence / comments", "Notes", "Comments"],
            ["4.1", 2, "Register", "Reviewed by the board", "n1", "c1"],
            ["4.2", 2, None, "Only a comment", None, None]]
    data = workbook(("S", rows))
    result = imp(con, data, unit="Ops", label="R1")
    ok(result)
    assert stored(con, "evidence", "notes") == {
        ("Ops", "R1", "4.1"): ("Register", "n1\nEvidence / comments: Reviewed by the board\nComments: c1"),
        ("Ops", "R1", "4.2"): (None, "Evidence / comments: Only a comment")}
    preview = preview_bytes(con, "again.xlsx", data, "Ops", "R1")
    assert columns_of(preview)["Evidence / comments"] == ("", "kept in notes")
    assert not [p for p in preview.problems if "not imported" in p.message]


def test_a_column_holding_values_that_feeds_nothing_is_named_with_its_count(con) -> None:
    rows = [["Clause", "Maturity", "Auditor view", None, "Title"],
            ["4.1", 2, "fine", "stray", "Context"], ["4.2", 3, "weak", None, "Parties"], ["4.3", 1, None, None, "Scope"]]
    data = workbook(("S", rows))
    result = imp(con, data, unit="Ops", label="R1")
    ok(result)  # a warning, not an error
    messages = {(p.column, p.message) for p in warnings(result)}
    assert ("Auditor view (C)", "column Auditor view (C) holds 2 value(s) that are not imported") in messages
    assert ("D (no header)", "column D (no header) holds 1 value(s) that are not imported") in messages
    assert not any("Title" in (p.column or "") for p in warnings(result))  # informational, not a loss
    preview = preview_bytes(con, "again.xlsx", data, "Ops", "R1")
    assert preview.warnings == 2 and columns_of(preview)["Auditor view"] == ("", "not imported")


def test_a_second_maturity_column_is_reported_not_silently_dropped(con) -> None:
    rows = [["Clause", "Maturity", "Maturity score"], ["4.1", 2, 4]]
    result = imp(con, workbook(("S", rows)), unit="Ops", label="R1")
    ok(result)
    [warning] = [p for p in warnings(result) if "not imported" in p.message]
    assert warning.column == "Maturity score (C)"


# --- gap severity --------------------------------------------------------------------------------


def test_a_gap_column_is_never_read_as_maturity(con) -> None:
    """`None` in a gap column means no gap: beside a status, the status decides; alone, the gap stands in
    for the status (none = compliant, minor/moderate = partial, high = non-compliant)."""
    rows = [["Clause", "Status", "Gap", "Target"],
            ["4.1", "Compliant", "None", 3], ["4.2", "Partially compliant", "Moderate", 3],
            ["4.3", None, "None", 4], ["4.4", None, "Minor", 3], ["5.1", None, "High", 3], ["5.2", None, 2, None]]
    result = imp(con, workbook(("S", rows)), unit="Ops", label="R1")
    ok(result)
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (3,), ("Ops", "R1", "4.2"): (2,),
                                       ("Ops", "R1", "4.3"): (4,), ("Ops", "R1", "4.4"): (2,),
                                       ("Ops", "R1", "5.1"): (0,)}  # 5.2: a gap in numbers sets nothing


def test_a_gap_column_beside_a_maturity_sets_nothing(con) -> None:
    rows = [["Clause", "Maturity", "Gap"], ["4.1", 1, "None"], ["4.2", 4, "High"]]
    ok(imp(con, workbook(("S", rows)), unit="Ops", label="R1"))
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (1,), ("Ops", "R1", "4.2"): (4,)}


def test_an_unknown_gap_word_is_an_error_at_its_cell(con) -> None:
    rows = [["Clause", "Status", "Gap"], ["4.1", "Compliant", "None"], ["4.2", "Partial", "Minor"],
            ["4.3", "Compliant", "Huge"]]
    [problem] = errors(imp(con, workbook(("S", rows)), unit="Ops", label="R1"))
    assert (problem.row, problem.column, problem.value) == (4, "Gap (C)", "Huge")


# --- headings of the catalog ---------------------------------------------------------------------


def test_a_heading_answers_for_each_of_its_sub_items_with_a_warning(con) -> None:
    rows = [["Clause", "Requirement", "Status", "Gap"], ["6.1: Risk assessment", None, "Partial", "Minor"],
            ["7.5", "Documented information", "Compliant", "None"], ["9.2: Internal audit", None, "Compliant", "None"],
            ["9.3", "Management review", "Non-compliant", "High"], ["9.2.2", "Audit programme", "Non-compliant", None]]
    result = imp(con, workbook(("Clauses", rows)), "coarse.xlsx", unit="Ops", label="R1")
    ok(result)
    got = {k[2]: v[0] for k, v in stored(con, "maturity").items()}
    assert got == {"6.1.1": 2, "6.1.2": 2, "6.1.3": 2, "6.1.4": 2, "7.5.1": 3, "7.5.2": 3, "7.5.3": 3,
                   "9.2.1": 3, "9.2.2": 0, "9.3.1": 0, "9.3.2": 0, "9.3.3": 0}
    said = [p.message for p in warnings(result)]
    assert any("6.1 is a heading of the catalog" in m and "6.1.1, 6.1.2, 6.1.3, 6.1.4" in m for m in said)
    assert any("9.2.2" in m and "answered in its own row (6)" in m for m in said)  # the explicit row wins


def test_a_clause_looking_id_is_never_corrected_to_a_control(con) -> None:
    rows = [["Clause", "Maturity"], ["7.6", 2], ["9.4", 1]]
    result = imp(con, workbook(("Clauses", rows)), unit="Ops", label="R1")
    assert result.status == "rejected"
    assert [p.value for p in errors(result)] == ["7.6", "9.4"]
    assert not any("write A." in (p.expected or "") for p in errors(result))
    annex = imp(con, workbook(("Annex A", [["Control", "Maturity"], ["9.9", 2]])), "a.xlsx", unit="Ops", label="R1")
    assert [p.value for p in errors(annex)] == ["9.9"]


# --- CISO Assistant -------------------------------------------------------------------------------

CISO_HEADER = ["urn", "assessable", "ref_id", "name", "description", "compliance_result", "requirement_progress",
               "score", "observations"]


def ciso_rows() -> list[list[Any]]:
    urn = "urn:intuitem:risk:req_node:iso42001-2023:"
    return [CISO_HEADER,
            [urn + "4", False, "4", "Context of the organization", None, "not_assessed", "to_do", None, None],
            [urn + "4.1", True, "4.1", "Understanding the organization", "our words", "compliant", "done", 4,
             "Context register v3"],
            [urn + "4.2", True, "4.2", None, None, "partially_compliant", "in_progress", None, "Needs review"],
            [urn + "6.1", False, "6.1", "Actions to address risks", None, "not_assessed", "to_do", None, None],
            [urn + "6.1.2", True, "6.1.2", None, None, "non_compliant", "to_do", None, None],
            [urn + "a.2", False, None, "Policies related to AI", None, None, None, None, None],
            [urn + "a.2.2", True, "A.2.2", None, None, "not_applicable", "done", None, "No AI policy needed here"],
            [urn + "a.2.3", True, "A.2.3", None, None, "not_assessed", "to_do", None, None],
            [urn + "a.2.4", True, "A.2.4", None, None, "compliant", "done", 5, None]]


def _ciso_check(con, result) -> None:
    ok(result)
    why = "No AI policy needed here"
    assert stored(con, "maturity", "applicable", "notes", "justification") == {
        ("Ops", "R1", "4.1"): (4, True, "Context register v3", None), ("Ops", "R1", "4.2"): (2, True, "Needs review", None),
        ("Ops", "R1", "6.1.2"): (0, True, None, None), ("Ops", "R1", "A.2.2"): (None, False, why, why),
        ("Ops", "R1", "A.2.4"): (5, True, None, None)}
    not_imported = [p.column for p in warnings(result) if "not imported" in p.message]
    assert not_imported == ["requirement_progress (G)"]


def test_ciso_assistant_audit_export_imports_as_it_is(con) -> None:
    """Outline rows (assessable false) are skipped, score is the maturity, the result words are status words,
    observations are the notes (and an excluded control's justification)."""
    _ciso_check(con, imp(con, workbook(("Audit", ciso_rows())), "ciso.xlsx", unit="Ops", label="R1"))


def test_ciso_assistant_csv_export_imports_as_it_is(con) -> None:
    result = imp(con, csv_file(ciso_rows()), "ciso.csv", unit="Ops", label="R1")
    _ciso_check(con, result)


def test_not_assessable_rows_are_skipped_even_when_their_cells_are_bad(con) -> None:
    rows = [["ref_id", "assessable", "score"], ["4", "false", "not a level"], ["4.1", "true", 3]]
    batch, report = validate_bytes("c.xlsx", workbook(("S", rows)), load(), unit="Ops", label="R1")
    assert report.ok, [str(p) for p in report.problems]
    assert batch.rows_skipped == 1 and batch.response_count == 1


def load():
    from dashboard.catalog import load_catalog

    return load_catalog()


# --- every error names the cell that holds the bad value -----------------------------------------


def test_na_in_the_maturity_column_is_reported_at_that_column(con) -> None:
    header = ["Unit", "Round", "Date", "Clause", "Title", "Owner", "Maturity", "Target", "Applicable"]
    rows = [header, ["Ops", "R1", None, "4.1", "Context", "Ana", 2, 3, None],
            ["Ops", "R1", None, "4.2", "Parties", "Ana", "N/A", 3, None]]
    [problem] = errors(imp(con, workbook(("S", rows))))
    assert (problem.row, problem.column, problem.value) == (3, "Maturity (G)", "N/A")


def test_csv_errors_carry_the_column_letter(con) -> None:
    rows = [["Unit", "Round", "Clause", "Maturity"], ["Ops", "R1", "4.1", 7]]
    [problem] = errors(imp(con, csv_file(rows), "x.csv"))
    assert (problem.sheet, problem.row, problem.column, problem.value) == (None, 2, "Maturity (D)", "7")


def test_heading_rows_without_answers_are_an_outline_and_say_nothing(con) -> None:
    rows = [["Clause/Control", "Title", "Maturity"], ["6.1", "Actions to address risks", None],
            ["6.1.1", "General", 2], ["6.1.2", "Risk assessment", 3]]
    result = imp(con, workbook(("Clauses", rows)), unit="Ops", label="R1")
    ok(result)
    assert not warnings(result)
    assert stored(con, "maturity") == {("Ops", "R1", "6.1.1"): (2,), ("Ops", "R1", "6.1.2"): (3,)}


def test_ciso_scores_on_a_hundred_point_scale_are_refused_unless_mapped_away(con) -> None:
    rows = [[*CISO_HEADER[:6], "score"], ["urn:x:4.1", True, "4.1", None, None, "compliant", 80]]
    data = workbook(("Audit", rows))
    [problem] = errors(imp(con, data, "ciso100.xlsx", unit="Ops", label="R1"))
    assert (problem.column, problem.value) == ("score (G)", "80")
    result = imp(con, data, "ciso100.xlsx", unit="Ops", label="R1", mapping='{"maturity": null}')
    ok(result)
    assert stored(con, "maturity") == {("Ops", "R1", "4.1"): (3,)}  # compliant: the default target
    assert [p.column for p in warnings(result)] == ["score (G)"]  # and the score column is said not imported


def test_a_sheet_of_values_that_is_not_read_is_named(con) -> None:
    """A second sheet whose header is not recognised is not passed over silently; a cover sheet is not named."""
    cover = ("Cover", [["Organisation", "Aldermoor"], ["Division", "Ops"], ["Round", "R1"], ["Assessor", "R. H."]])
    clauses = ("Clauses", [["Clause", "Maturity"], ["4.1", 2]])
    controls = ("Controls", [["Code", "Heading", "Grade"], ["A.2.2", "AI policy", 2], ["A.2.3", "Alignment", 1],
                             ["A.2.4", "Review", 3]])
    result = imp(con, workbook(cover, clauses, controls), "two-sheets.xlsx")
    ok(result)
    [warning] = warnings(result)
    assert warning.sheet == "Controls" and warning.message.startswith("sheet 'Controls' holds 4 rows of values that are "
                                                                      "not imported")


@pytest.mark.parametrize(("audience", "unit_words", "round_words"), [
    ("cli", "--unit NAME", "--assessment LABEL"),
    ("page", "the page's 'Business unit' field", "the page's 'Round label' field"),
])
def test_messages_name_the_options_in_the_reader_s_terms(audience: str, unit_words: str, round_words: str) -> None:
    data = workbook(("S", [["Clause", "Maturity"], ["4.1", 7]]))
    _, report = validate_bytes("x.xlsx", data, load(), audience=audience)
    assert [(p.column, p.expected.endswith(w)) for p, w in zip(report.errors, (unit_words, round_words), strict=False)] == [
        ("unit", True), ("assessment", True)]
    assert report.errors[2].column == "Maturity (B)"  # and the row's own error, in the same report


def test_a_gap_column_of_free_text_is_kept_in_the_notes(con) -> None:
    rows = [["Clause", "Maturity", "Gap"], ["4.1", 1, "No register of interested parties"], ["4.2", 3, None]]
    result = imp(con, workbook(("S", rows)), unit="Ops", label="R1")
    ok(result)
    assert stored(con, "maturity", "notes") == {("Ops", "R1", "4.1"): (1, "Gap: No register of interested parties"),
                                                ("Ops", "R1", "4.2"): (3, None)}
