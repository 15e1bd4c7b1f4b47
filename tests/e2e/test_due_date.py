"""A typed due date is saved however the field is left, and answering never moves the assessor to another section.

On the running dashboard (demo data, headless Chromium, see conftest.py) an assessor opens a new round's
questionnaire on section 7 through a citation-style link (`?assessment=ID&item=7.1`), types a due date
and leaves the field with Tab (which the date picker used to lose), answers a level and a text on the next
items (the section must stay 7), types a date that is not YYYY-MM-DD (shown as an error, not saved), then
reloads the page: the saved date is shown again and is the one in the database.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from dashboard import rounds, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from tests.e2e.conftest import ProxyTrap, Server, assert_clean, browser_tab, keyed, settle, type_name
from tests.principals import ADMIN

pytestmark = pytest.mark.e2e

NAME = "Grace"
DUE = "2027-03-31"


def section_shown(page: Any) -> str:
    text = page.locator('[data-testid="stMain"]').get_by_text(re.compile(r"^Section \S+: \d+ of \d+")).inner_text()
    return text.split(":")[0].removeprefix("Section ")


def due_box(page: Any, assessment_id: int, item_id: str) -> Any:
    return keyed(page, f"a{assessment_id}:{item_id}:due_date").locator("input")


def test_a_due_date_left_with_tab_is_saved_and_found_after_a_reload(
        chromium: Any, server: Server, demo_database: Path, proxy_trap: ProxyTrap) -> None:
    with connect(demo_database, wait=15) as con:
        unit = store.list_units(con)["name"].iloc[0]
        created, _ = rounds.start_assessment(con, unit=unit, label="2027-Q1", scope="clauses",
                                             catalog_version=load_catalog().version, assessed_on=dt.date(2027, 1, 15),
                                             by=NAME, principal=ADMIN)
    aid = created.id

    with browser_tab(chromium, server) as tab:
        page = tab.page
        page.goto(f"{server.url}/assess?assessment={aid}&item=7.1")
        page.get_by_role("heading", name="Questionnaire", level=1).wait_for()
        settle(page)
        type_name(page, NAME)
        assert section_shown(page) == "7"

        box = due_box(page, aid, "7.1")
        box.fill(DUE)
        box.press("Tab")  # leaving with Tab: the value is sent and saved
        settle(page)
        assert box.input_value() == DUE

        level = keyed(page, f"a{aid}:7.2:maturity").locator('label[data-testid="stRadioOption"]').filter(
            has_text=re.compile(r"^2 · "))
        level.click()
        settle(page)
        evidence = keyed(page, f"a{aid}:7.3:evidence").locator("textarea")
        evidence.fill("Training log for 2026")
        evidence.press("Tab")
        settle(page)
        assert section_shown(page) == "7", "an answer moved the assessor to another section"
        assert section_shown(page) == "7" and page.get_by_text("Section 7: 1 of 7 applicable items assessed").count() == 1

        wrong = due_box(page, aid, "7.4")
        wrong.fill("31/03/2027")
        wrong.press("Tab")
        settle(page)
        error = keyed(page, f"a{aid}:7.4:due_date").locator("xpath=following-sibling::*[1]")
        assert "is not a date: write it as YYYY-MM-DD" in error.inner_text(), error.inner_text()
        assert_clean(tab, server, "typing due dates")

        page.reload()
        page.get_by_role("heading", name="Questionnaire", level=1).wait_for()
        settle(page)
        type_name(page, NAME)
        assert section_shown(page) == "7"
        assert due_box(page, aid, "7.1").input_value() == DUE, "the due date left with Tab was not kept"
        assert due_box(page, aid, "7.4").input_value() == ""
        assert_clean(tab, server, "reloading the questionnaire")

    with connect(demo_database, wait=15) as con:
        saved = store.responses(con, assessment_ids=[aid], principal=ADMIN).set_index("item_id")
        history = store.item_history(con, aid, principal=ADMIN)
    assert str(saved.loc["7.1", "due_date"])[:10] == DUE
    assert saved.loc["7.2", "maturity"] == 2 and saved.loc["7.3", "evidence"] == "Training log for 2026"
    assert saved.loc["7.4", "due_date"] is None or str(saved.loc["7.4", "due_date"]) in ("NaT", "None")
    due_changes = history[history["field"] == "due_date"]
    assert due_changes["item_id"].tolist() == ["7.1"] and due_changes["new_value"].str.startswith(DUE).all()
    assert set(due_changes["changed_by"]) == {NAME}
    assert not proxy_trap.requests, f"the dashboard's server tried to reach the network: {proxy_trap.requests}"
