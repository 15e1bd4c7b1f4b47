"""A new assessor's first round in a real browser: start it, answer an item, close the tab, come back.

On the running dashboard (demo data, headless Chromium, see conftest.py) a person opens the app, goes to
*Units and rounds*, types their name, starts a round for a new business unit, follows the link to the
questionnaire and answers the first item of section 4 (a maturity level and evidence text). The tab is
closed; a fresh browser session opens the questionnaire's link (`?assessment=ID`) again, and after the
name is typed again the saved answer is shown. The database holds the answer and its change log under
the name typed. Any exception box, console error, failed or outbound request fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dashboard import store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from tests.e2e.conftest import ProxyTrap, Server, assert_clean, browser_tab, keyed, open_from_sidebar, settle, type_name
from tests.principals import ADMIN

pytestmark = pytest.mark.e2e

NAME = "Ada"
UNIT = "Treasury"
ROUND = "2026-Q4"
SCOPE_LABEL = "Clauses 4–10 (management system)"
LEVEL = 2  # shown as "2 · Managed — <the item's rubric line>"
EVIDENCE = "Context register v2 on the AIMS SharePoint, approved by the CRO in March"
def checked_option(radio: Any) -> str | None:
    chosen = radio.locator('label[data-testid="stRadioOption"]').filter(has=radio.page.locator("input:checked"))
    return chosen.inner_text() if chosen.count() == 1 else None


def test_a_new_assessor_answers_closes_the_tab_and_finds_the_answer_again(
    chromium: Any, server: Server, demo_database: Path, proxy_trap: ProxyTrap
) -> None:
    item = next(i for i in load_catalog().items if i.section == "4")  # the first item of section 4
    level_text = re.compile(rf"^{LEVEL} · ")

    with browser_tab(chromium, server) as tab:
        page = tab.page
        # 1. Units and rounds: say who I am, start a round for a new unit
        open_from_sidebar(page, server, "Units and rounds", "Units and rounds", as_name=NAME)
        form = page.locator('[data-testid="stForm"]').filter(has_text="Start an assessment")
        form.get_by_role("textbox", name="…or a new business unit").fill(UNIT)
        form.locator('label[data-testid="stRadioOption"]').filter(has_text=SCOPE_LABEL).click()
        form.get_by_role("textbox", name="Round label").fill(ROUND)
        form.get_by_role("button", name="Start").click()
        settle(page)
        page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text=f"Started {UNIT} {ROUND}").wait_for()
        assert_clean(tab, server, "starting the round")

        # 2. the questionnaire: the link opens the new round; answer the first item of section 4
        page.get_by_role("link", name="Open the questionnaire").click()
        page.wait_for_url(re.compile(r"/assess\?(.*&)?assessment=\d+"))
        settle(page)
        found = re.search(r"[?&]assessment=(\d+)", page.url)
        assert found, page.url
        assessment_id = int(found.group(1))
        caption = page.locator('[data-testid="stCaptionContainer"]').filter(has_text=f"{UNIT} · round {ROUND}")
        assert caption.count() == 1, f"the questionnaire does not show {UNIT} {ROUND}"
        first_heading = page.locator('[data-testid="stMain"] h4').first.inner_text()
        assert first_heading.startswith(f"{item.id} "), f"the first item shown is {first_heading!r}, not {item.id}"

        maturity = keyed(page, f"a{assessment_id}:{item.id}:maturity")
        evidence = keyed(page, f"a{assessment_id}:{item.id}:evidence").locator("textarea")
        assert maturity.get_by_role("radio").first.is_enabled(), "the item is read-only although a name was typed"
        maturity.locator('label[data-testid="stRadioOption"]').filter(has_text=level_text).click()
        settle(page)
        assert level_text.match(checked_option(maturity) or ""), checked_option(maturity)
        evidence.fill(EVIDENCE)
        evidence.press("Tab")  # leaving the field saves it
        settle(page)
        assert f"assessment={assessment_id}" in page.url, page.url
        assert_clean(tab, server, "answering the first item")
        page.close()  # the tab is closed; its browser context (the session's cookie) goes with it

    with connect(demo_database, wait=15) as con:  # the dashboard holds the file for 0.5 s at most
        created = store.get_assessment(con, unit=UNIT, label=ROUND)
    assert created is not None and created.id == assessment_id, (created, assessment_id)
    assert (created.scope, created.status, created.source) == ("clauses", "draft", "form")

    # 3. a fresh session opens the questionnaire's link again
    with browser_tab(chromium, server) as tab:
        page = tab.page
        page.goto(f"{server.url}/assess?assessment={assessment_id}")
        page.locator('[data-testid="stSidebarNav"]').wait_for()
        settle(page)
        maturity = keyed(page, f"a{assessment_id}:{item.id}:maturity")
        evidence = keyed(page, f"a{assessment_id}:{item.id}:evidence").locator("textarea")
        page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="Type your name").wait_for()
        assert maturity.get_by_role("radio").first.is_disabled(), "a new session may not answer before naming itself"
        type_name(page, NAME)
        assert page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="Type your name").count() == 0
        assert level_text.match(checked_option(maturity) or ""), (
            f"the saved maturity is not selected after reopening: {checked_option(maturity)!r}")
        assert maturity.get_by_role("radio").first.is_enabled()
        assert evidence.input_value() == EVIDENCE
        assert f"assessment={assessment_id}" in page.url, page.url
        assert_clean(tab, server, "reopening the questionnaire in a new session")

    # 4. what the database holds: the answer, and who gave it
    with connect(demo_database, wait=15) as con:
        saved = store.responses(con, principal=ADMIN, assessment_ids=[assessment_id]).set_index("item_id").loc[item.id]
        history = store.item_history(con, assessment_id, principal=ADMIN)
    assert saved["maturity"] == LEVEL and saved["evidence"] == EVIDENCE and saved["changed_by"] == NAME, saved.to_dict()
    mine = history[history["item_id"] == item.id]
    assert sorted(mine["field"]) == ["created", "evidence", "maturity"], mine.to_dict("records")
    assert set(mine["changed_by"]) == {NAME} and set(mine["source"]) == {"form"}, mine.to_dict("records")
    assert mine["field"].iloc[-1] == "created", mine.to_dict("records")  # newest first: the creation comes last
    changes = mine[mine["field"] != "created"]
    assert dict(zip(changes["field"], changes["new_value"], strict=True)) == {"maturity": str(LEVEL), "evidence": EVIDENCE}
    round_created = history[(history["field"] == "created") & history["item_id"].isna()]  # the round itself
    assert round_created["changed_by"].tolist() == [NAME]
    assert len(history) == 4, history.to_dict("records")  # nothing else was written to this round
    assert not proxy_trap.requests, f"the dashboard's server tried to reach the network: {proxy_trap.requests}"
