"""The Import page: upload, preview, correct the mapping, import, see what changed; real files through AppTest."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
from streamlit.testing.v1 import AppTest

from dashboard import store
from dashboard.db import connect
from tests.pages.conftest import APP

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(rows: list[list[Any]], title: str = "Assessment") -> bytes:
    book = openpyxl.Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


PAYMENTS = workbook([["Division", "Payments"], ["Assessment date", dt.datetime(2026, 3, 15)], [],
                     ["Ref", "Maturity level", "Evidence"], ["4.1", 2, "Register"], ["5.2", "Defined", None]])
BROKEN = workbook([["Unit", "Round", "Item", "Maturity"], ["Ops", "R1", "4.1", 9], ["Ops", "R1", "4.2", 1]])
ODD = workbook([["Org", "Cycle", "Item", "Grade"], ["Legal", "R1", "4.1", 3]])


def page(name: str | None = "Ana Import") -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/import_data.py").run()
    assert not app.exception, app.exception
    if name:
        app.sidebar.text_input(key="assessor_name_input").input(name).run()
    return app


def upload(app: AppTest, *files: tuple[str, bytes]) -> AppTest:
    app.file_uploader(key="import_files").set_value([(n, d, XLSX) for n, d in files]).run()
    assert not app.exception, app.exception
    return app


def table(app: AppTest, column: str) -> Any:
    """The first table on the page that has this column (AppTest does not expose dataframe keys)."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def metrics(app: AppTest) -> list[tuple[str, str]]:
    return [(m.label, str(m.value)) for m in app.metric]


def test_the_page_offers_the_template_and_waits_for_files(empty_db: Path) -> None:
    app = page()
    assert app.get("download_button")[0].label == "Download the import template"
    assert not app.metric and not app.button  # nothing to import yet
    assert not app.dataframe  # and no file imported so far


def test_preview_then_import_then_already_imported(empty_db: Path) -> None:
    app = upload(page(), ("payments.xlsx", PAYMENTS))
    assert metrics(app) == [("Rows", "2"), ("Items", "2"), ("Assessments", "1"), ("Warnings", "0"), ("Errors", "0")]
    captions = [c.value for c in app.caption]
    assert "Units (1): Payments · Rounds (1): 2026-03-15" in captions
    assert "Header block: Unit: Payments · Assessment date: 2026-03-15" in captions
    columns = table(app, "how")
    assert dict(zip(columns["header"], columns["field"], strict=True)) == {
        "Ref": "item_id", "Maturity level": "maturity", "Evidence": "evidence"}
    button = app.button(key="import_run")
    assert button.label == "Import 1 file(s)" and not button.disabled

    button.click().run()
    assert not app.exception, app.exception
    summary = table(app, "new assessments")
    assert summary.iloc[0][["file", "result", "new assessments", "new responses"]].tolist() == [
        "payments.xlsx", "imported", 1, 2]
    with connect(empty_db) as con:
        assessment = store.get_assessment(con, unit="Payments", label="2026-03-15")
        assert assessment is not None and assessment.source == "import"
        by = con.execute("SELECT DISTINCT changed_by FROM response").fetchall()
    assert by == [("Ana Import",)]
    app.run()  # the database changed: the same file is now recognised
    assert any("already imported" in i.value for i in app.info)
    assert app.button(key="import_run").disabled
    # and it is listed among the files imported so far, with who imported it and what it created
    history = table(app, "imported_by")
    assert history[["file", "imported_by", "rows", "new_assessments", "new_responses", "units", "rounds"]].values.tolist() == [
        ["payments.xlsx", "Ana Import", 2, 1, 2, "Payments", "2026-03-15"]]


def test_without_a_name_nothing_can_be_imported(empty_db: Path) -> None:
    app = upload(page(name=None), ("payments.xlsx", PAYMENTS))
    assert app.button(key="import_run").disabled
    assert "Type your name" in app.warning[0].value


def test_a_file_with_errors_shows_its_report_and_is_not_offered(empty_db: Path) -> None:
    app = upload(page(), ("broken.xlsx", BROKEN), ("payments.xlsx", PAYMENTS))
    problems = table(app, "severity")
    assert problems[["severity", "sheet", "row", "column", "value"]].values.tolist() == [
        ["error", "Assessment", 2, "Maturity (D)", "9"]]
    assert app.button(key="import_run").label == "Import 1 file(s)"
    app.button(key="import_run").click().run()
    with connect(empty_db) as con:
        assert [u for u in store.list_units(con)["name"]] == ["Payments"]


def test_the_person_corrects_the_mapping_and_sees_the_command_line(empty_db: Path) -> None:
    app = upload(page(), ("odd.xlsx", ODD))
    assert ("Errors", "1") in metrics(app) and app.button(key="import_run").disabled
    prefix = "import_0_odd.xlsx_"  # + the placement JSON, empty while the guessed header row is kept
    for field, header in (("unit", "Org"), ("assessment", "Cycle"), ("item_id", "Item"), ("maturity", "Grade")):
        app.selectbox(key=f"{prefix}_{field}").select(header)
    app.run()
    assert not app.exception, app.exception
    assert ("Errors", "0") in metrics(app)
    assert '--mapping \'{"sheet":"Assessment","header_row":1,"columns":{"unit":"Org"' in app.code[0].value
    app.button(key="import_run").click().run()
    with connect(empty_db) as con:
        assert con.execute("SELECT item_id, maturity FROM response").fetchall() == [("4.1", 3)]


def test_the_unit_and_round_fields_apply_to_rows_that_name_none(empty_db: Path) -> None:
    data = workbook([["Item", "Maturity"], ["4.1", 1]], title="Sheet1")
    app = upload(page(), ("answers.xlsx", data))
    assert ("Errors", "2") in metrics(app)
    app.text_input(key="import_unit").input("Claims")
    app.text_input(key="import_label").input("2026-Q4").run()
    assert ("Errors", "0") in metrics(app)
    app.button(key="import_run").click().run()
    with connect(empty_db) as con:
        assert store.get_assessment(con, unit="Claims", label="2026-Q4") is not None


# --- the page follows corrections, speaks of its own fields, shows a refusal alone (issue 11, part 6) ---


def test_the_status_and_the_command_follow_a_correction(empty_db: Path) -> None:
    app = upload(page(), ("odd.xlsx", ODD))
    assert [e.value for e in app.error] == ["Not importable as it is: 1 error(s), listed below; nothing of it is written."]
    assert [e.label for e in app.expander] == ["odd.xlsx — not importable"]
    assert not app.code  # no command for a file that cannot be imported
    prefix = "import_0_odd.xlsx_"
    for field, header in (("unit", "Org"), ("assessment", "Cycle"), ("item_id", "Item"), ("maturity", "Grade")):
        app.selectbox(key=f"{prefix}_{field}").select(header)
    app.run()
    assert not app.error and app.success[0].value == "Ready to import (with the corrections made)."
    assert [e.label for e in app.expander] == ["odd.xlsx — ready to import"]  # the title follows the correction
    command = app.code[0].value
    assert command.startswith("python -m etl import odd.xlsx --mapping ") and '"maturity":"Grade"' in command


def test_the_command_carries_the_page_fields(empty_db: Path) -> None:
    data = workbook([["Item", "Maturity"], ["4.1", 1]], title="Sheet1")
    app = upload(page(), ("answers.xlsx", data))
    app.text_input(key="import_unit").input("Claims & Cards")
    app.text_input(key="import_label").input("2026-Q4").run()
    assert app.code[0].value == "python -m etl import answers.xlsx --unit 'Claims & Cards' --assessment 2026-Q4"


def test_messages_name_the_page_fields_and_every_problem_is_shown_at_once(empty_db: Path) -> None:
    """No unit, no round and a bad cell: the three problems together, in the page's words (not --unit)."""
    data = workbook([["Item", "Maturity"], ["4.1", 1], ["4.2", 9]], title="Sheet1")
    app = upload(page(), ("answers.xlsx", data))
    problems = table(app, "severity")
    assert problems[["severity", "row", "column"]].values.tolist() == [
        ["error", 1, "unit"], ["error", 1, "assessment"], ["error", 3, "Maturity (B)"]]
    expected = " ".join(problems["expected"].dropna())
    assert "the page's 'Business unit' field" in expected and "the page's 'Round label' field" in expected
    assert "--unit" not in expected and "--assessment" not in expected


def test_a_refused_file_shows_the_refusal_only(empty_db: Path) -> None:
    hostile = ",".join(f"c{i}" for i in range(100_000)).encode()
    app = upload(page(), ("wide.csv", hostile), ("payments.xlsx", PAYMENTS))
    [refusal] = app.error
    assert [e.label for e in app.expander] == ["wide.csv — refused", "payments.xlsx — ready to import"]
    assert refusal.value.startswith("Refused before reading: the first line has 100,000 columns")
    # the other file is previewed as usual; the refused one has no mapping controls, table or command
    assert not [s for s in app.selectbox if s.key and s.key.startswith("import_0_")]
    assert len(app.code) == 1 and "payments.xlsx" in app.code[0].value
    assert app.button(key="import_run").label == "Import 1 file(s)"


def test_a_column_not_imported_is_named_with_the_page_control_that_maps_it(empty_db: Path) -> None:
    """The warning for a column holding values that feeds nothing tells the person where to point a field at it:
    the file's own 'Correct the columns of …' control, by the label the page shows (not --mapping)."""
    data = workbook([["Unit", "Round", "Item", "Maturity", "Auditor view"], ["Ops", "R1", "4.1", 2, "fine"]])
    app = upload(page(), ("extra.xlsx", data))
    problems = table(app, "severity")
    [expected] = problems.loc[problems["message"].str.contains("not imported"), "expected"].tolist()
    popovers = [block.proto.popover.label for block in app.get("popover")]
    assert popovers == ["Correct the columns of extra.xlsx"]
    assert expected == f"point a field at it with a correction under '{popovers[0]}' if it should be imported"


def test_a_27001_questionnaire_is_refused_with_the_way_to_propose_from_it(empty_db: Path) -> None:
    isms = workbook([["ISO/IEC 27001:2022 internal audit checklist"], ["Division", "Group IT"], [],
                     ["Ref", "Maturity level", "Evidence"], ["6.1.2", 3, "Risk method"], ["9.2", 2, "Audit plan"]])
    app = upload(page(), ("isms.xlsx", isms), ("payments.xlsx", PAYMENTS))
    problems = table(app, "severity")
    assert problems[["severity", "sheet", "row", "column"]].values.tolist() == [["error", "Assessment", 1, "A"]]
    message = " ".join(str(v) for v in problems.iloc[0].tolist())
    assert "ISO/IEC 27001 assessment" in message and "the page 'Proposed answers from ISO/IEC 27001'" in message
    assert app.button(key="import_run").label == "Import 1 file(s)"  # the 42001 file beside it is still offered
    app.button(key="import_run").click().run()
    with connect(empty_db) as con:
        assert [u for u in store.list_units(con)["name"]] == ["Payments"]
