"""The AI-guided interview in a real browser while the model is slow: the page shows the reply arriving, and
"Stop and pick the level myself" ends the model's call, closes its stream and leaves the level to the person, whose
words are kept as evidence. After that the next item is read by the model to its end and its proposal is shown.

The model is the local fake server (tests/llm_server.py) streaming its reply slowly, as a small model on a busy
machine does; the dashboard is `python -m streamlit run app.py` on a copy of the demo data (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dashboard import store
from dashboard.db import connect
from dashboard.interview import STOPPED
from tests.e2e.conftest import ProxyTrap, Server, assert_clean, browser_tab, open_from_sidebar, settle
from tests.e2e.model_site import dashboard_with_model, wait_for
from tests.llm_server import ChatServer, judge
from tests.principals import ADMIN

pytestmark = pytest.mark.e2e

UNIT, ROUND = "Interview Stop Unit", "2026-IS"
FIRST = "Our scope statement lists the AI systems we build and buy; the board approved it in May."
SECOND = "Interested parties are listed in a register kept by the risk office and reviewed every quarter."


@pytest.fixture(scope="module")
def model() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


@pytest.fixture(scope="module")
def site(chromium: Any, demo_database: Path, proxy_trap: ProxyTrap, model: ChatServer,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    with dashboard_with_model(tmp_path_factory.mktemp("interview-stop"), demo_database, proxy_trap, model.url) as found:
        yield found


def answer(page: Any, text: str) -> None:
    box = page.locator('[data-testid="stChatInput"] textarea')
    box.fill(text)
    box.press("Enter")


def test_stop_ends_the_models_call_and_the_person_picks_the_level(
        chromium: Any, site: tuple[Server, Path], model: ChatServer) -> None:
    server, database = site
    with browser_tab(chromium, server) as tab:
        page = tab.page
        open_from_sidebar(page, server, "AI-guided interview", "AI-guided interview", as_name="Ida Interviewer")
        form = page.locator('[data-testid="stForm"]')
        form.get_by_role("textbox", name="Business unit").fill(UNIT)
        form.get_by_role("textbox", name="Round label").fill(ROUND)
        form.locator('label[data-testid="stRadioOption"]').filter(has_text="Clauses 4-10").click()
        form.get_by_role("button", name="Start or resume").click()
        settle(page)
        assert_clean(tab, server, "starting the interview")

        # a slow model: ~200 chunks of four characters, half a second apart
        model.respond = lambda body: replace(judge(3, "Approved and published. " * 20)(body), chunk_delay=0.5)
        answer(page, FIRST)
        progress = page.get_by_text("Receiving the reply:", exact=False)
        progress.wait_for(timeout=60_000)
        first = progress.inner_text()
        page.wait_for_timeout(1500)
        assert page.get_by_text("Receiving the reply:", exact=False).inner_text() != first, "the progress did not move"

        page.get_by_role("button", name="Stop and pick the level myself").click()
        page.get_by_text(STOPPED.split(":")[0], exact=False).wait_for(timeout=30_000)
        settle(page)
        wait_for(lambda: model.disconnected == 1, 10, "the model's stream was not closed after Stop")
        assert len(model.received) == 1, "Stop must not retry"
        assert page.get_by_text(FIRST).count() >= 1  # the answer stays in the conversation
        assert page.get_by_text("I would say level").count() == 0  # no proposal: the call was stopped
        assert page.get_by_role("button", name="Stop and pick the level myself").count() == 0
        assert_clean(tab, server, "after Stop")

        levels = page.locator('[data-testid="stRadio"]').filter(has_text="Maturity level")
        levels.locator('label[data-testid="stRadioOption"]').filter(has_text="2 · ").first.click()
        settle(page)
        page.get_by_role("button", name="Save this level").click()
        settle(page)

        # the next item: the model reads it to the end and proposes
        model.respond = lambda body: judge(3, "A register reviewed every quarter.")(body)
        answer(page, SECOND)
        page.get_by_text("I would say level 3", exact=False).wait_for(timeout=60_000)
        settle(page)
        assert len(model.received) == 2 and model.disconnected == 1
        assert_clean(tab, server, "after a complete reading")

    with connect(database) as con:
        saved = store.responses(con, principal=ADMIN, assessment_ids=[store.get_assessment(con, unit=UNIT, label=ROUND).id])
        saved = saved.dropna(subset=["maturity"]).set_index("item_id")
    assert saved.loc["4.1", "maturity"] == 2 and saved.loc["4.1", "evidence"] == FIRST
    assert "4.2" not in saved.index  # proposed, not yet decided
