"""A campaign end to end in headless Chromium, each person signed in through a local OpenID Connect provider.

On a copy of the demo data (a governance lead granted with the command line, nobody else), the lead opens
*Campaigns*, launches a campaign for three units with one assessor named for Life Insurance, starting from each
unit's previous answers; the board shows the three rounds. The assessor (granted by the launch itself) signs in,
sees only their unit's row, opens the round, changes an answer and submits it. The lead returns it with a comment
on an item and one on the round; the assessor sees both (the item's above the item), changes that item and submits
again; the lead finalises it and the board shows *finalised*. The database holds each step with who made it. Any
exception box, console error, failed or outbound request fails the test.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from dashboard import review, store
from dashboard.db import connect
from tests.e2e.conftest import ROOT, ProxyTrap, Server, Tab, assert_clean, browser_tab, keyed, settle
from tests.e2e.signin import (
    Person,
    Provider,
    Received,
    auth_secrets,
    dashboard,
    grant,
    main_text,
    provider,
    serve_provider_stylesheet,
    sign_in,
)
from tests.e2e.test_board_pages import _serious as serious_violations
from tests.principals import ADMIN
from tests.processes import free_port

pytestmark = pytest.mark.e2e

LEAD = Person("lee.lead@aldermoor.example", "Lee Lead")
ASSESSOR = Person("asa.assessor@aldermoor.example", "Asa Assessor")
UNITS = ["Corporate Banking", "Life Insurance", "Retail Banking"]  # their newest rounds answer every clause item
OWN = "Life Insurance"
NAME, LABEL = "Spring self-assessment", "2026-S1"
ITEM = "4.1"  # the first item of section 4, the section the questionnaire opens on
NEXT_ITEM = "4.2"
ITEM_COMMENT = "Say who approved the context analysis"
ROUND_COMMENT = "Nearly there: one point to fix"


# the comment's nearest enclosing block that holds the item's level choice must not hold the next item's too
BESIDE = """(element, [own, next]) => {
  for (let box = element.parentElement; box; box = box.parentElement) {
    if (box.querySelector(own)) return !box.querySelector(next);
  }
  return false;
}"""


@dataclass(frozen=True)
class Site:
    server: Server
    provider: Provider
    database: Path


@pytest.fixture(scope="module")
def site(chromium: Any, demo_database: Path, proxy_trap: ProxyTrap,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("campaign")
    database = workdir / "campaign.duckdb"
    shutil.copyfile(demo_database, database)
    grant(database, LEAD.email, "lead")  # the assessor gets a role from the launch, not from here
    port = free_port()
    with provider([LEAD, ASSESSOR], workdir) as found:
        secrets_file = auth_secrets(workdir / "secrets.toml", found, port)
        with dashboard(ROOT / "app.py", workdir, proxy_trap, secrets_file=secrets_file, port=port,
                       env={"AIMS_DB": str(database)}) as server:
            yield Site(server, found, database)


# leaving a page by its address aborts the script chunks it was still loading (as in test_roles.py): not a fault
ABORTED_ON_NAVIGATION = re.compile(r"^request failed: GET \S+/static/\S+ \(net::ERR_ABORTED\)$")


def go(tab: Tab, site: Site, path: str, heading: str) -> Any:
    tab.page.goto(site.server.url + path)
    tab.page.get_by_role("heading", name=heading, level=1).wait_for()
    settle(tab.page)
    tab.problems[:] = [p for p in tab.problems if not ABORTED_ON_NAVIGATION.match(p)]
    return tab.page


def success(page: Any, text: str) -> None:
    page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text=text).wait_for()


def board_states(site: Site) -> dict[str, str]:
    """What the board shows per unit is read by the page from the core; the test reads the same from the file."""
    with connect(site.database, wait=15) as con:
        rounds = {u: store.get_assessment(con, unit=u, label=LABEL) for u in UNITS}
        return {u: review.review_state(con, a.id) for u, a in rounds.items() if a is not None}


# the board as the data grid shows it: the grid draws on a canvas and keeps an accessible table of what it shows
BOARD_JS = """(grid) => {
  const headers = Array.from(grid.querySelectorAll('thead th')).map(th => th.textContent.trim());
  return Array.from(grid.querySelectorAll('tbody tr')).map(tr =>
    Object.fromEntries(Array.from(tr.querySelectorAll('td')).map((td, i) => [headers[i] || String(i), td.textContent.trim()])));
}"""


def board(page: Any) -> dict[str, dict[str, str]]:
    """The board's rows by unit, with the headers people read."""
    grid = page.locator('[data-testid="stDataFrame"]').filter(has=page.locator("th", has_text="State")).first
    grid.locator("tbody tr").first.wait_for(state="attached")
    page.wait_for_timeout(300)  # the accessible table is drawn after the grid
    return {row["Unit"]: row for row in grid.evaluate(BOARD_JS)}


def downloaded(page: Any, button: str) -> bytes:
    """The file a download button gives (built on click by the server), the page idle before and after."""
    settle(page)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name=button).click()
    data = Path(download.value.path()).read_bytes()
    settle(page)
    return data


def pick(page: Any, key: str, option: str) -> None:
    """Choose `option` in the select box or multiselect with this key (typed, so that a long list shows it; tried
    again if a rerun closed the list before the click)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wanted = page.locator('[role="listbox"] [role="option"]').filter(has_text=re.compile("^" + re.escape(option) + "$"))
    for attempt in range(3):
        combo = keyed(page, key).get_by_role("combobox").first
        combo.click()
        combo.fill(option)
        try:
            wanted.first.wait_for(timeout=10_000)
            wanted.first.click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            settle(page)
    page.keyboard.press("Escape")


def test_a_campaign_from_launch_to_finalised(chromium: Any, site: Site) -> None:
    with browser_tab(chromium, site.server) as lead, browser_tab(chromium, site.server) as asa:
        serve_provider_stylesheet(lead)
        serve_provider_stylesheet(asa)
        asa_sent = Received(asa)

        # 1. the lead launches for three units, naming the Life Insurance assessor
        sign_in(lead, site.server, site.provider, LEAD)
        page = go(lead, site, "/campaigns", "Campaigns")
        page.get_by_role("textbox", name="Campaign name").fill(NAME)
        for unit in UNITS:
            pick(page, "c_units", unit)
        page.locator('label[data-testid="stRadioOption"]').filter(has_text="Clauses 4–10").click()
        page.get_by_role("textbox", name="Round label").fill(LABEL)
        page.get_by_role("textbox", name="Assessors, one unit a line").fill(f"{OWN} = {ASSESSOR.email}")
        page.get_by_role("button", name="Launch").click()
        settle(page)
        success(page, f"Launched {NAME}: 3 round(s).")
        page.locator('[data-testid="stCaptionContainer"]').filter(has_text="3 unit(s): 0 not started · 3 in progress").wait_for()
        assert board_states(site) == dict.fromkeys(UNITS, "in progress")
        shown = board(page)
        assert sorted(shown) == UNITS and {r["State"] for r in shown.values()} == {"in progress (100%)"}, shown
        assert shown[OWN]["Assessors"] == ASSESSOR.email, shown[OWN]
        assert_clean(lead, site.server, "launching")

        # 2. the assessor sees only their unit, answers and submits
        sign_in(asa, site.server, site.provider, ASSESSOR)
        since = asa_sent.mark()
        page = go(asa, site, "/campaigns", "Campaigns")
        page.locator('[data-testid="stCaptionContainer"]').filter(has_text="1 unit(s):").wait_for()
        assert list(board(page)) == [OWN]
        sent = asa_sent.text(since) + main_text(page)
        assert not [u for u in UNITS if u != OWN and u in sent], "another unit's name was sent to the assessor"
        assert page.get_by_text("Launch a campaign").count() == 0
        with connect(site.database, wait=15) as con:
            aid = store.get_assessment(con, unit=OWN, label=LABEL).id
        page = go(asa, site, f"/assess?assessment={aid}", "Questionnaire")
        page.get_by_text("Review: in progress").wait_for()
        keyed(page, f"a{aid}:{ITEM}:maturity").locator('label[data-testid="stRadioOption"]').filter(
            has_text=re.compile(r"^1 · ")).click()
        settle(page)
        page.get_by_role("button", name="Submit for review").click()
        settle(page)
        page.get_by_text("Review: submitted").wait_for()
        assert keyed(page, f"a{aid}:{ITEM}:maturity").get_by_role("radio").first.is_disabled()
        assert board_states(site)[OWN] == "submitted"
        assert_clean(asa, site.server, "submitting")

        # 3. the lead returns it with a comment on the item and one on the round (the page passes the accessibility
        # scan with its board, chart and review part drawn)
        page = go(lead, site, "/campaigns", "Campaigns")
        page.wait_for_timeout(500)  # the data grid draws its accessible table after the script ends
        assert not serious_violations(page), serious_violations(page)
        page.get_by_role("textbox", name="Comment on the round").fill(ROUND_COMMENT)
        page.get_by_role("textbox", name="Comments on items, one a line").fill(f"{ITEM} = {ITEM_COMMENT}")
        page.get_by_role("button", name="Return to the assessors").click()
        settle(page)
        success(page, f"Returned {OWN}'s round to its assessors with 2 comment(s).")
        assert board_states(site)[OWN] == "returned"
        assert_clean(lead, site.server, "returning")

        # 4. the assessor sees both comments, the item's above the item, fixes it and submits again
        page = go(asa, site, f"/assess?assessment={aid}", "Questionnaire")
        page.get_by_text("Review: returned").wait_for()
        warnings = page.locator('[data-testid="stAlertContentWarning"]')
        assert warnings.filter(has_text=ROUND_COMMENT).count() == 1
        comment = warnings.filter(has_text=ITEM_COMMENT)
        assert comment.count() == 1, "the item's comment is not shown"
        assert comment.evaluate(BESIDE, [f".st-key-a{aid}-{ITEM.replace('.', '-')}-maturity",
                                         f".st-key-a{aid}-{NEXT_ITEM.replace('.', '-')}-maturity"]), \
            f"the comment on {ITEM} does not stand in {ITEM}'s box"
        keyed(page, f"a{aid}:{ITEM}:maturity").locator('label[data-testid="stRadioOption"]').filter(
            has_text=re.compile(r"^3 · ")).click()
        settle(page)
        page.get_by_role("button", name="Submit for review").click()
        settle(page)
        page.get_by_text("Review: submitted").wait_for()
        assert_clean(asa, site.server, "resubmitting")

        # 5. the lead finalises; the board says so
        page = go(lead, site, "/campaigns", "Campaigns")
        page.get_by_role("button", name="Finalise", exact=True).click()
        settle(page)
        success(page, f"Finalised {OWN}'s round.")
        page.locator('[data-testid="stCaptionContainer"]').filter(
            has_text="3 unit(s): 0 not started · 2 in progress · 0 submitted · 0 returned · 1 finalised").wait_for()
        shown = board(page)
        assert {u: r["State"] for u, r in shown.items()} == {
            "Corporate Banking": "in progress (100%)", OWN: "finalised", "Retail Banking": "in progress (100%)"}, shown
        pick(page, "board_states", "finalised")
        settle(page)
        assert list(board(page)) == [OWN], "the state filter kept other units"
        rows = list(csv.DictReader(io.StringIO(downloaded(page, "Board (CSV)").decode("utf-8-sig"))))
        assert [(r["Unit"], r["State"]) for r in rows] == [(OWN, "finalised")], rows  # the board as shown, filtered
        sheet = openpyxl.load_workbook(io.BytesIO(downloaded(page, "Board (XLSX)")), read_only=True)["Board"]
        cells = [[str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
        assert any(OWN in row and "finalised" in row for row in cells), cells
        assert not [u for u in UNITS if u != OWN and any(u in row for row in cells)], cells
        assert_clean(lead, site.server, "finalising")

    # what the file holds: the final round, its answer, and who made each step
    with connect(site.database, wait=15) as con:
        final = store.get_assessment(con, aid)
        answer = store.responses(con, principal=ADMIN, assessment_ids=[aid]).set_index("item_id").loc[ITEM]
        steps = con.execute("""SELECT old_value, new_value, changed_by FROM change_log
                               WHERE assessment_id = ? AND field = 'review' ORDER BY id""", [aid]).fetchall()
    assert final.status == "final" and int(answer["maturity"]) == 3
    assert steps == [("in progress", "submitted", f"{ASSESSOR.name} <{ASSESSOR.email}>"),
                     ("submitted", "returned", f"{LEAD.name} <{LEAD.email}>"),
                     ("returned", "submitted", f"{ASSESSOR.name} <{ASSESSOR.email}>"),
                     ("submitted", "finalised", f"{LEAD.name} <{LEAD.email}>")], steps
