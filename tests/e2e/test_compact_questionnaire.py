"""Stored answers stay on screen when the assessor comes back to a section or switches to the compact mode, and an
answer given in compact mode is saved.

On the running dashboard (demo data, headless Chromium, see conftest.py): evidence typed in the full editor of
section 4, section 5 opened and section 4 again (Streamlit forgets the value of a widget it did not draw; the field
showed empty although the answer was stored), then the compact mode: the same evidence on the item's line, a level
chosen there and saved.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dashboard import rounds, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from tests.e2e.conftest import ProxyTrap, Server, assert_clean, browser_tab, keyed, settle, type_name
from tests.principals import ADMIN

pytestmark = pytest.mark.e2e

NAME = "Hedy"


def choose_section(page: Any, aid: int, typed: str) -> None:
    keyed(page, f"section_{aid}").click()
    page.keyboard.type(typed)
    page.keyboard.press("Enter")
    settle(page)


def test_answers_stay_shown_across_sections_and_modes(
        chromium: Any, server: Server, demo_database: Path, proxy_trap: ProxyTrap) -> None:
    with connect(demo_database, wait=15) as con:
        unit = store.list_units(con)["name"].iloc[0]
        created, _ = rounds.start_assessment(con, unit=unit, label="2027-Q2", scope="clauses",
                                             catalog_version=load_catalog().version, assessed_on=dt.date(2027, 4, 1),
                                             by=NAME, principal=ADMIN)
    aid = created.id

    with browser_tab(chromium, server) as tab:
        page = tab.page
        page.goto(f"{server.url}/assess?assessment={aid}")
        page.get_by_role("heading", name="Questionnaire", level=1).wait_for()
        settle(page)
        type_name(page, NAME)

        evidence = keyed(page, f"a{aid}:4.1:evidence").locator("textarea")
        evidence.fill("Context analysis v3")
        evidence.press("Tab")
        settle(page)
        choose_section(page, aid, "5 Lead")
        choose_section(page, aid, "4 Cont")
        assert keyed(page, f"a{aid}:4.1:evidence").locator("textarea").input_value() == "Context analysis v3"

        page.get_by_text("Compact: one line per item").click()
        settle(page)
        assert keyed(page, f"a{aid}:4.1:evidence:compact").locator("input").input_value() == "Context analysis v3"
        keyed(page, f"a{aid}:4.2:maturity:compact").click()
        page.keyboard.type("3 · Defined")
        page.keyboard.press("Enter")
        settle(page)
        line = keyed(page, f"a{aid}:4.2:evidence:compact").locator("input")
        line.fill("Stakeholder register, 2027")
        line.press("Tab")
        settle(page)
        assert_clean(tab, server, "answering in compact mode")

    with connect(demo_database, wait=15) as con:
        saved = store.responses(con, principal=ADMIN, assessment_ids=[aid]).set_index("item_id")
    assert saved.loc["4.1", "evidence"] == "Context analysis v3"
    assert saved.loc["4.2", "maturity"] == 3 and saved.loc["4.2", "evidence"] == "Stakeholder register, 2027"
