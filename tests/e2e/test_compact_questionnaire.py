"""Stored answers stay on screen when the assessor comes back to a section or switches to the compact mode, and an
answer given in compact mode is saved.

On the running dashboard (demo data, headless Chromium, see conftest.py): evidence typed in the full editor of
section 4, section 5 opened and section 4 again (Streamlit forgets the value of a widget it did not draw; the field
showed empty although the answer was stored), then the compact mode: the same evidence on the item's line, a level
chosen there with one click, another with the keyboard alone (arrows along the levels, Space), and the previous
round's answer kept with one click, all saved.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dashboard import carry, rounds, store
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
        level = keyed(page, f"a{aid}:4.2:maturity:compact").get_by_role("radio", name="3", exact=True)
        level.click()  # one click: the level is a group of six buttons (radios to assistive technology)
        settle(page)
        assert level.get_attribute("aria-checked") == "true"
        line = keyed(page, f"a{aid}:4.2:evidence:compact").locator("input")
        line.fill("Stakeholder register, 2027")
        line.press("Tab")
        settle(page)
        # the keyboard alone: on 4.3's level 0, the right arrow twice to level 2, Space
        keyed(page, f"a{aid}:4.3:maturity:compact").get_by_role("radio", name="0", exact=True).focus()
        for _ in range(2):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Space")
        settle(page)
        # the demo's previous round of this unit answered 4.4: one click keeps its level and evidence
        keep = keyed(page, f"a{aid}:4.4:keep:compact")
        assert "Keep as in" in keep.inner_text()
        keep.get_by_role("button").click()
        settle(page)
        assert keyed(page, f"a{aid}:4.4:keep:compact").count() == 0, "the offer goes once the item is answered"
        assert_clean(tab, server, "answering in compact mode")

    with connect(demo_database, wait=15) as con:
        saved = store.responses(con, principal=ADMIN, assessment_ids=[aid]).set_index("item_id")
    assert saved.loc["4.1", "evidence"] == "Context analysis v3"
    assert saved.loc["4.2", "maturity"] == 3 and saved.loc["4.2", "evidence"] == "Stakeholder register, 2027"
    assert saved.loc["4.3", "maturity"] == 2, "two right arrows from level 0 and Space chose level 2"
    with connect(demo_database, wait=15) as con:
        before = carry.previous_answers(con, aid, principal=ADMIN).set_index("item_id")
    assert saved.loc["4.4", "maturity"] == before.loc["4.4", "maturity"]
    assert saved.loc["4.4", "evidence"] == before.loc["4.4", "evidence"]
