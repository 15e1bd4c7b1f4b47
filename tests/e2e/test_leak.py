"""The leak test: signed in as the assessor of one demo unit, nothing of another unit reaches the browser.

The assessor of Life Insurance opens every page the sidebar offers, every choice of each filter and view
(radio, segmented control, toggle, select box: every option, up to MAX_CHOICES per widget), triggers every
download button it meets, and asks for every summary kind: offline on one dashboard, and through the local
fake model server (tests/llm_server.py) on another, where each request the model received is read. What is
searched for another unit's name, answer text, evidence, note, justification or owner:

- everything the server sent to the browser over its websocket (page text, tables drawn on a canvas, chart
  data, every select box's options), with markdown escapes and HTML entities undone;
- every downloaded file (a workbook or zip is unpacked, each member read as text);
- every request the model server received.

Answer widgets (maturity, target, applicability) are never touched: the walk reads, it does not change answers.
A deep link to another unit's assessment (?assessment=ID) must show a refusal and nothing of that unit.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.e2e.conftest import ProxyTrap, Tab, browser_tab, settle
from tests.e2e.signin import Received, main_text, nav_titles, readable, serve_provider_stylesheet, sign_in
from tests.e2e.test_roles import ASSESSOR, EXPECTED_ON_NAVIGATION, UNIT, Site, open_path, refused, signed_in_site
from tests.llm_server import ChatServer

pytestmark = pytest.mark.e2e

MAX_CHOICES = 20  # options tried per select box (the sections and Annex A objectives fit; the 38+ items do not)
ANSWER_WIDGETS = {"Current maturity", "Target", "Applicable to this unit", "Maturity level", "Level to save as the answer"}
FREE_TEXT = ("evidence", "notes", "justification", "owner")
DOWNLOAD_WAIT_S = 90  # a file is built on click: the board deck renders its charts through Chromium (kaleido)
MIN_TEXT = 12  # shorter answer texts ("n/a", "Yes") say nothing about a unit


@dataclass(frozen=True)
class Secrets:
    """What the assessor must never see (`other`), and some of what it must see (`own`), from the database."""

    other_units: tuple[str, ...]
    other_texts: frozenset[str]
    own_texts: frozenset[str]

    def found_in(self, text: str) -> list[str]:
        hits = [f"unit name {name!r}" for name in self.other_units if name in text]
        hits += [f"another unit's text {t[:80]!r}" for t in self.other_texts if t in text]
        return hits


def read_secrets(database: Path) -> Secrets:
    con = duckdb.connect(str(database), read_only=True)
    try:
        units = [str(r[0]) for r in con.execute("SELECT name FROM unit").fetchall()]
        texts: dict[bool, set[str]] = {True: set(), False: set()}
        for column in FREE_TEXT:
            for unit, value in con.execute(f"""SELECT u.name, r.{column} FROM response r
                                               JOIN assessment a ON a.id = r.assessment_id JOIN unit u ON u.id = a.unit_id
                                               WHERE r.{column} IS NOT NULL""").fetchall():
                if len(str(value).strip()) >= MIN_TEXT:
                    texts[unit == UNIT].add(readable(str(value).strip()))
        # a campaign in flight (`leak_database`): the lead's comments on other units' rounds, their assessors
        for unit, value in con.execute("""SELECT u.name, c.comment FROM review_comment c
                                         JOIN assessment a ON a.id = c.assessment_id JOIN unit u ON u.id = a.unit_id
                                         UNION ALL
                                         SELECT u.name, r.email FROM round_assessor r
                                         JOIN assessment a ON a.id = r.assessment_id JOIN unit u ON u.id = a.unit_id
                                         """).fetchall():
            texts[unit == UNIT].add(readable(str(value).strip()))
    finally:
        con.close()
    assert UNIT in units
    return Secrets(tuple(u for u in units if u != UNIT), frozenset(texts[False] - texts[True]), frozenset(texts[True]))


def file_text(name: str, data: bytes) -> str:
    """A downloaded file as text: a workbook or zip unpacked member by member."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(readable(archive.read(m).decode("utf-8", errors="replace")) for m in archive.namelist())
    return readable(data.decode("utf-8-sig", errors="replace"))


@dataclass
class Walk:
    tab: Tab
    received: Received
    site: Site
    secrets: Secrets
    findings: list[str] = field(default_factory=list)  # leaks
    errors: list[str] = field(default_factory=list)  # exception boxes, console errors, failed requests
    unopened: list[str] = field(default_factory=list)  # select boxes whose list showed no option
    downloads: dict[str, str] = field(default_factory=dict)  # "page: button -> file" -> its text
    pages: list[str] = field(default_factory=list)
    choices: int = 0

    @property
    def page(self) -> Any:
        return self.tab.page

    def check(self, where: str) -> None:
        text = self.received.text() + "\n" + readable(main_text(self.page))
        self.findings += [f"{where}: {hit}" for hit in self.secrets.found_in(text)]
        self.received.frames[:] = []  # checked: keep the next search small
        # an exception box or a browser error is recorded and the walk goes on, so one run names every problem
        boxes = self.page.locator('[data-testid="stException"]')
        self.errors += [f"{where}: exception box: {boxes.nth(i).inner_text()[:300]}" for i in range(boxes.count())]
        self.errors += [f"{where}: {problem}" for problem in self.tab.problems
                        if not EXPECTED_ON_NAVIGATION.match(problem)]
        self.tab.problems[:] = []

    def assert_no_leak_and_no_error(self) -> None:
        assert not self.findings, "another unit leaked to the assessor:\n" + "\n".join(sorted(set(self.findings))[:60])
        assert not self.errors, (f"no leak, but the walk met errors (select boxes without options: {self.unopened}):\n"
                                 + "\n".join(self.errors[:30]) + "\n--- server output ---\n" + self.site.server.output()[-3000:])

    def download_all(self, where: str) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout  # here: the module imports without playwright

        buttons = self.page.locator('[data-testid="stDownloadButton"] button')
        for i in range(buttons.count()):
            button = buttons.nth(i)
            if not button.is_visible() or button.is_disabled():
                continue
            label = button.inner_text().strip()
            try:
                with self.page.expect_download(timeout=DOWNLOAD_WAIT_S * 1000) as info:
                    button.click()
                download = info.value
            except PlaywrightTimeout:
                self.findings.append(f"{where}: the button {label!r} gave no file within {DOWNLOAD_WAIT_S} s")
                continue
            key = f"{where}: {label} -> {download.suggested_filename}"
            if key in self.downloads:
                continue
            data = Path(download.path()).read_bytes()
            text = file_text(download.suggested_filename, data)
            self.downloads[key] = text
            self.findings += [f"{key}: {hit}" for hit in self.secrets.found_in(text)]
        settle(self.page)

    def widgets(self, kind: str) -> list[tuple[int, str]]:
        found = self.page.locator(f'[data-testid="stMain"] [data-testid="{kind}"], '
                                  f'[data-testid="stSidebar"] [data-testid="{kind}"]')
        out = []
        for i in range(found.count()):
            label = found.nth(i).locator('[data-testid="stWidgetLabel"]')
            text = label.first.inner_text().strip() if label.count() else ""
            if text not in ANSWER_WIDGETS and found.nth(i).is_visible():
                out.append((i, text))
        return out

    def nth(self, kind: str, i: int) -> Any:
        return self.page.locator(f'[data-testid="stMain"] [data-testid="{kind}"], '
                                 f'[data-testid="stSidebar"] [data-testid="{kind}"]').nth(i)

    def exercise(self, title: str) -> None:
        """Every choice of every radio, segmented control and toggle (downloading at each), then of every select box."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        for kind, option in (("stRadio", "label"), ("stButtonGroup", "button"), ("stCheckbox", "label")):
            for i, label in self.widgets(kind):
                options = self.nth(kind, i).locator(option)
                count = options.count() if kind != "stCheckbox" else 2
                for j in range(count):
                    target = self.nth(kind, i).locator(option)
                    if j >= target.count() and kind != "stCheckbox":
                        break
                    (target.first if kind == "stCheckbox" else target.nth(j)).click()
                    settle(self.page)
                    self.choices += 1
                    where = f"{title} / {label or kind} #{j}"
                    self.check(where)
                    self.download_all(where)
        for i, label in self.widgets("stSelectbox"):
            for j in range(MAX_CHOICES):
                box = self.nth("stSelectbox", i)
                if box.count() == 0:
                    break
                combo = box.get_by_role("combobox").first
                if combo.is_disabled():  # nothing to choose ("No options to select"): nothing more to see
                    self.unopened.append(f"{title} / {label}")
                    break
                combo.click()
                options = self.page.locator('[role="listbox"] [role="option"]')
                try:
                    options.first.wait_for(timeout=5_000)
                except PlaywrightTimeout:  # a box with nothing to choose (its list stays empty)
                    self.unopened.append(f"{title} / {label}")
                    self.page.keyboard.press("Escape")
                    break
                if j >= options.count():  # a long list renders only its first options: those are tried
                    self.page.keyboard.press("Escape")
                    break
                options.nth(j).click()
                settle(self.page)
                self.choices += 1
                self.check(f"{title} / {label} option {j}")

    def open(self, title: str) -> None:
        nav = self.page.locator('[data-testid="stSidebarNav"]')
        if nav.count() == 0 or not nav.is_visible():
            open_path(self.tab, self.site, "/")
        nav_titles(self.page)  # unfolds the list
        link = nav.locator('a[data-testid="stSidebarNavLink"]').filter(has=self.page.locator(f'span[label="{title}"]'))
        link.first.click()
        settle(self.page)
        self.pages.append(title)
        self.check(title)
        self.download_all(title)


OTHER_COMMENT = "Please name the register where the model cards are kept, not the team"


@pytest.fixture(scope="module")
def leak_database(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with a campaign in flight for every unit: the assessor's own round and every other unit's on the
    board, another unit's round submitted and returned with comments, an assessor named for each unit."""
    from dashboard import campaigns, review
    from dashboard.access import local_admin
    from dashboard.db import connect

    path = tmp_path_factory.mktemp("leak-db") / "aims.duckdb"
    shutil.copy(demo_database, path)
    lead = local_admin("Lea Lead")
    with connect(path) as con:
        units = [str(r[0]) for r in con.execute("SELECT name FROM unit ORDER BY name").fetchall()]
        named = {u: [ASSESSOR.email] if u == UNIT else [f"assessor.{i}@elsewhere.example"] for i, u in enumerate(units)}
        launched = campaigns.launch(con, name="AIMS 2027", units=units, scope="clauses", label="2027-Q1",
                                    assessed_on=dt.date(2026, 11, 1), due_on=dt.date(2026, 11, 20), assessors=named,
                                    copy_previous=True, principal=lead, by="Lea Lead")
        board = campaigns.board(con, launched.id, principal=lead)
        complete = board[(board["unit"] != UNIT) & (board["answered_pct"] >= 1)]
        assert len(complete) >= 1, board[["unit", "answered_pct"]]
        other = int(complete["assessment_id"].iloc[0])
        review.submit(con, other, principal=lead, by="Lea Lead")
        review.return_round(con, other, comments={"4.1": OTHER_COMMENT, None: OTHER_COMMENT + " (round)"},
                            principal=lead, by="Lea Lead")
    return path


@pytest.fixture(scope="module")
def secrets(leak_database: Path) -> Secrets:
    found = read_secrets(leak_database)
    assert OTHER_COMMENT in found.other_texts and any(t.endswith("@elsewhere.example") for t in found.other_texts)
    assert len(found.other_units) == 9 and len(found.other_texts) > 100 and len(found.own_texts) > 20, found.other_units
    return found


@pytest.fixture(scope="module")
def model() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


@pytest.fixture(scope="module")
def offline_site(chromium: Any, leak_database: Path, proxy_trap: ProxyTrap,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with signed_in_site(leak_database, proxy_trap, tmp_path_factory.mktemp("leak-offline")) as found:
        yield found


@pytest.fixture(scope="module")
def model_site(chromium: Any, leak_database: Path, proxy_trap: ProxyTrap, model: ChatServer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    env = {"AIMS_LLM_MODEL": "openai/test-model", "AIMS_LLM_API_BASE": model.url, "AIMS_LLM_TIMEOUT": "5",
           "AIMS_LLM_RETRIES": "1"}
    with signed_in_site(leak_database, proxy_trap, tmp_path_factory.mktemp("leak-model"), env=env) as found:
        yield found


def _signed_in_walk(chromium: Any, site: Site, secrets: Secrets) -> Iterator[Walk]:
    with browser_tab(chromium, site.server) as tab:
        received = Received(tab)
        serve_provider_stylesheet(tab)
        sign_in(tab, site.server, site.provider, ASSESSOR)
        yield Walk(tab, received, site, secrets)


def test_the_assessor_of_one_unit_sees_nothing_of_another_on_any_page_choice_or_download(
        chromium: Any, offline_site: Site, secrets: Secrets) -> None:
    for walk in _signed_in_walk(chromium, offline_site, secrets):
        titles = nav_titles(walk.page)
        assert "Questionnaire" in titles and "Summaries" in titles, titles
        seen_own = False
        for title in titles:
            walk.open(title)
            walk.exercise(title)
        seen_own = any(t in text for text in walk.downloads.values() for t in secrets.own_texts)
        walk.assert_no_leak_and_no_error()
        # the walk was not empty: every page, many choices, downloads holding the assessor's own answers
        assert walk.pages == titles
        assert walk.choices >= 20, walk.choices
        assert len(walk.downloads) >= 3, sorted(walk.downloads)
        assert seen_own, f"no download held the assessor's own evidence: {sorted(walk.downloads)}"


def test_a_deep_link_to_another_units_assessment_is_refused(chromium: Any, offline_site: Site, secrets: Secrets) -> None:
    for walk in _signed_in_walk(chromium, offline_site, secrets):
        for unit, assessment in sorted(offline_site.assessment_ids.items()):
            if unit == UNIT:
                continue
            for path in (f"/assess?assessment={assessment}", f"/summaries?kind=unit&unit={unit}"):
                walk.received.frames[:] = []
                open_path(walk.tab, offline_site, path)
                if path.startswith("/assess"):
                    assert refused(walk.page), f"{path} ({unit}) was not refused:\n{main_text(walk.page)[:1500]}"
                walk.check(path)
        walk.assert_no_leak_and_no_error()
        open_path(walk.tab, offline_site, f"/assess?assessment={offline_site.assessment_ids[UNIT]}")
        assert not refused(walk.page) and UNIT in main_text(walk.page), "the assessor's own round does not open"


def test_every_summary_kind_through_the_model_sends_only_the_assessors_unit(
        chromium: Any, model_site: Site, model: ChatServer, secrets: Secrets) -> None:
    for walk in _signed_in_walk(chromium, model_site, secrets):
        walk.open("Summaries")
        kinds = walk.nth("stRadio", walk.widgets("stRadio")[0][0]).locator("label")
        for j in range(kinds.count()):
            walk.nth("stRadio", walk.widgets("stRadio")[0][0]).locator("label").nth(j).click()
            settle(walk.page)
            before = len(model.received)
            ask = walk.page.get_by_role("button", name=re.compile(r"^(Summarise|Regenerate) with"))
            ask.first.click()
            settle(walk.page, timeout=90)
            assert len(model.received) > before, f"summary kind #{j}: nothing reached the model"
            walk.check(f"Summaries kind #{j} through the model")
        sent = "\n".join(readable(r.text) for r in model.received)
        walk.findings += [f"sent to the model: {hit}" for hit in secrets.found_in(sent)]
        walk.assert_no_leak_and_no_error()
        assert kinds.count() >= 4
        assert any(t in sent for t in secrets.own_texts), "the model never received the assessor's own answers"
