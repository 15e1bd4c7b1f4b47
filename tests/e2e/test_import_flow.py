"""A governance lead imports the spreadsheets units sent, in a real browser (see conftest.py).

The Import page is opened from a bookmark, as the fresh server's first page request (the sidebar must
show the app's navigation). Two files are uploaded at once: a French workbook of one department (a cover
sheet, a title, a metadata block naming the department and the date, Annex A ids written three ways,
status words, an Excel date) and a semicolon CSV with an out-of-range maturity. The page shows each file
as it understood it; the CSV's report names its row and column and holds it back; one click imports the
workbook alone. The database then holds that department's round, every answer pointing at the file, and
nothing of the CSV. Any exception box, console error, failed request or request to another host (an icon
font, say) fails the test.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from dashboard.db import connect, rows
from tests.e2e.conftest import ProxyTrap, Server, assert_clean, browser_tab, settle, type_name

pytestmark = pytest.mark.e2e

NAME = "Grace"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def french_workbook() -> bytes:
    book = openpyxl.Workbook()
    book.active.title = "Instructions"
    book.active["A1"] = "Remplir la feuille Évaluation sans modifier les en-têtes."
    sheet = book.create_sheet("Évaluation")
    sheet["A1"] = "Auto-évaluation ISO/IEC 42001 — Annexe A"
    for row, (key, value) in enumerate([("Organisation :", "ACME Assurances"), ("Département :", "Finance Export"),
                                        ("Date d'évaluation :", dt.date(2026, 10, 15))], start=3):
        sheet.cell(row, 1, key)
        sheet.cell(row, 2, value)
    sheet.append([])
    sheet.append(["Exigence", "Intitulé", "Maturité", "Statut", "Justification", "Preuves", "Responsable", "Échéance"])
    sheet.append(["A6.2.4", "Vérification", "3 - Defined", None, None, "Rapports de validation", "DSI", dt.date(2027, 1, 31)])
    sheet.append(["A 6.2.2", "Exigences", None, "Conforme", None, "Cahier des charges v4", None, None])
    sheet.append(["6.2.3", "Conception", None, "Partiel", None, "Dossier de conception", "CDO", "2027-03-31"])
    sheet.append(["A.10.4", "Clients", None, "N/A", "Pas de clients utilisant l'IA", None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BAD_CSV = "Unidad;Ronda;Requisito;Madurez\r\nCompras;2026-Q4;4.1;3\r\nCompras;2026-Q4;4.2;7\r\n".encode("cp1252")


def expander(page: Any, title: str) -> Any:
    return page.locator('[data-testid="stExpander"]').filter(has=page.get_by_text(title, exact=False)).first


def test_two_files_uploaded_one_held_back_with_its_report_the_other_imported(
    chromium: Any, server: Server, demo_database: Path, proxy_trap: ProxyTrap
) -> None:
    with browser_tab(chromium, server) as tab:
        page = tab.page
        # a bookmark, as the fresh server's first page request: the app's navigation, not pages/ file names
        page.goto(server.url + "/import_data")
        page.get_by_role("heading", name="Import spreadsheets", level=1).wait_for()
        settle(page)
        nav = page.locator('[data-testid="stSidebarNav"]')
        assert nav.get_by_text("Benchmarking", exact=True).count() == 1, nav.inner_text()
        assert nav.get_by_text("import data", exact=True).count() == 0, nav.inner_text()
        type_name(page, NAME)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(files=[
            {"name": "acme-finance.xlsx", "mimeType": XLSX_MIME, "buffer": french_workbook()},
            {"name": "compras.csv", "mimeType": "text/csv", "buffer": BAD_CSV},
        ])
        settle(page)
        good = expander(page, "acme-finance.xlsx — ready to import")
        good.wait_for()
        assert "Finance Export" in good.inner_text()  # the unit, found in the metadata block
        bad = expander(page, "compras.csv")
        report = bad.locator('[data-testid="stDataFrame"]').last
        report.wait_for()
        assert "ready to import" not in bad.locator("summary").inner_text()
        assert_clean(tab, server, "previewing the two files")

        button = page.get_by_role("button", name="Import 1 file(s)")
        assert button.is_enabled()
        button.click()
        settle(page)
        page.get_by_role("heading", name="What changed").wait_for()
        assert_clean(tab, server, "importing")

    with connect(demo_database, wait=15) as con:  # the dashboard holds the file for 0.5 s at most
        assessments = rows(con, """SELECT u.name, a.label, a.assessed_on, a.scope, a.source FROM assessment a
                                   JOIN unit u ON u.id = a.unit_id WHERE u.name IN ('Finance Export', 'Compras')""")
        answers = rows(con, """SELECT r.item_id, r.maturity, r.applicable, r.created_by, b.filename FROM response r
                               JOIN import_batch b ON b.id = r.created_import JOIN assessment a ON a.id = r.assessment_id
                               JOIN unit u ON u.id = a.unit_id WHERE u.name = 'Finance Export' ORDER BY r.item_id""")
    assert assessments == [("Finance Export", "2026-10-15", dt.date(2026, 10, 15), "annex_a", "import")]
    assert answers == [("A.10.4", None, False, NAME, "acme-finance.xlsx"), ("A.6.2.2", 3, True, NAME, "acme-finance.xlsx"),
                       ("A.6.2.3", 2, True, NAME, "acme-finance.xlsx"), ("A.6.2.4", 3, True, NAME, "acme-finance.xlsx")]
    assert proxy_trap.requests == [], proxy_trap.requests
