"""Issue 15 as a user meets it in a real browser, on the running dashboard with the demo data: a mapping set of
one's own imported from the Other frameworks page (a bad file refused first, naming row and column), the page
then showing and naming that set, and its readiness downloaded with human headers; an ISO/IEC 27001 assessment
uploaded on the Proposed answers page, a proposal saved as the answer, and the questionnaire pointing to the
proposal still waiting."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from etl.framework_exports import HEADERS
from tests.e2e.conftest import Server, assert_clean, browser_tab, click_sidebar_page, keyed, settle, type_name

pytestmark = pytest.mark.e2e

OURS = ("source_item,target_item,relationship,rationale\n"
        "A.9.2,Art. 14,equal,We read our responsible-use process as the oversight duty.\n"
        "6.1.2,Art. 9,subset of,Risk assessment is one part of the risk management system.\n"
        ",Art. 5,no counterpart,Prohibited uses are a legal test outside our management system.\n")
BAD = OURS.replace("6.1.2,Art. 9,", "6.1.2,Art. 99,")


def _upload(page: Any, key: str, path: Path) -> None:
    keyed(page, key).locator('input[type="file"]').set_input_files(str(path))
    settle(page)


def _fill(page: Any, key: str, text: str) -> None:
    box = keyed(page, key).get_by_role("textbox")
    box.fill(text)
    box.press("Tab")  # a text input sends its value when it loses focus
    settle(page)


def _alert(page: Any, kind: str) -> str:
    found = page.locator(f'[data-testid="stAlertContent{kind}"]')
    found.first.wait_for()
    return found.first.inner_text()


def test_a_mapping_set_of_ones_own_from_the_page(chromium: Any, server: Server, tmp_path: Path) -> None:
    good, bad = tmp_path / "acme-act.csv", tmp_path / "acme-bad.csv"
    good.write_text(OURS, encoding="utf-8")
    bad.write_text(BAD, encoding="utf-8")
    with browser_tab(chromium, server) as tab:
        page = tab.page
        page.goto(server.url + "/")
        page.locator('[data-testid="stSidebarNav"]').wait_for()
        settle(page)
        click_sidebar_page(page, "Other frameworks")
        page.get_by_role("heading", name="Other frameworks", level=1).wait_for()
        assert "shipped with this tool" in _alert(page, "Info")  # ours is the default
        page.get_by_text("Bring your own mapping set", exact=True).click()
        settle(page)
        for key, text in (("fw_set_id", "acme-act"), ("fw_set_name", "ACME AI Act map"), ("fw_made_by", "ACME GRC"),
                          ("fw_licence", "CC-BY-4.0")):
            _fill(page, key, text)

        _upload(page, "fw_upload", bad)
        page.get_by_role("button", name="Import the mapping set").click()
        settle(page)
        refused = _alert(page, "Error")
        assert "Refused, nothing imported" in refused
        assert "acme-bad.csv: row 3, column target_item: 'Art. 99' is not a requirement of EU AI Act" in refused

        _upload(page, "fw_upload", good)
        page.get_by_role("button", name="Import the mapping set").click()
        settle(page)
        assert "imported: ACME AI Act map (imported from acme-act.csv" in _alert(page, "Success")
        notice = _alert(page, "Info")  # the page now shows the new set and says so
        assert "uses the mapping set ACME AI Act map (imported from acme-act.csv" in notice and "CC-BY-4.0" in notice
        assert_clean(tab, server, "the mapping set imported from the page")

        with page.expect_download() as download:
            page.get_by_role("button", name="Download readiness (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_bytes().decode("utf-8-sig"))))
        settle(page)
    assert list(rows[0]) == list(HEADERS.values())
    assert {r["Mapping set"] for r in rows} == {"acme-act"}
    art14 = [r for r in rows if r["Requirement"] == "Art. 14"]
    assert art14 and all(r[HEADERS["answers"]].startswith("A.9.2: equal, ") for r in art14)
    art5 = [r for r in rows if r["Requirement"] == "Art. 5"]
    assert {r["State"] for r in art5} == {"not covered by 42001"}
    assert {r["Why 42001 does not cover it"] for r in art5} == {"Prohibited uses are a legal test outside our management system."}


def _isms_workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "ISMS"
    sheet.append(["Business unit", "Round", "Requirement", "Maturity", "Evidence"])
    sheet.append(["Group IT", "2027-Q1", "9.2 Internal audit", 4, "Audit programme 2027"])
    sheet.append(["Group IT", "2027-Q1", "A.5.1", 2, None])  # only intersects in our set: nothing proposed
    book.save(path)


def test_proposals_from_a_27001_upload_to_a_saved_answer(chromium: Any, server: Server, tmp_path: Path) -> None:
    isms = tmp_path / "isms.xlsx"
    _isms_workbook(isms)
    with browser_tab(chromium, server) as tab:
        page = tab.page
        page.goto(server.url + "/proposals")
        page.get_by_role("heading", name="Proposed answers from ISO/IEC 27001", level=1).wait_for()
        settle(page)
        type_name(page, "Ines Ito")
        page.get_by_text("Import an ISO/IEC 27001 assessment", exact=True).click()
        settle(page)
        _upload(page, "prop_upload", isms)
        page.get_by_role("button", name="Propose levels").click()
        settle(page)
        outcome = _alert(page, "Success")
        assert "2 level(s) proposed" in outcome and "new 42001 round(s): Group IT · 2027-Q1" in outcome
        assert "1 ISO 27001 item(s) with no equal 42001 item" in outcome
        # the first proposal, picked: its source line under the table (the table's own cell is in the grid's hidden
        # accessible copy, which a wait for a visible element would wait on for ever)
        page.get_by_text("proposed from ISO/IEC 27001:2022 9.2.1").filter(visible=True).first.wait_for()
        page.get_by_role("button", name="Save as the answer").click()
        settle(page)
        assert "9.2.1: proposal accepted" in _alert(page, "Success")
        assert_clean(tab, server, "a proposal saved as the answer")

        # the one left waiting: the questionnaire of that round points to it
        href = page.get_by_role("link", name="open the item in the questionnaire").get_attribute("href") or ""
        assert re.fullmatch(r"assess\?assessment=\d+&item=9\.2\.2", href), href
        page.goto(f"{server.url}/{href}")
        page.get_by_role("heading", name="Questionnaire", level=1).wait_for()
        settle(page)
        waiting = page.get_by_text(re.compile(r"1 level\(s\) proposed from ISO/IEC 27001 for this round \(9\.2\.2\)"))
        waiting.first.wait_for()
        assert_clean(tab, server, "the questionnaire of the round with a proposal")
