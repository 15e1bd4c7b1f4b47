"""Asking the model for a summary in a real browser: the page shows progress while the reply streams in, and a click
on Cancel stops the run, closes the connection to the model and saves nothing (see conftest.py).

The model is the local fake server (tests/llm_server.py) streaming a long reply slowly, as a small model on a busy
machine does; the dashboard is `python -m streamlit run app.py` on a copy of the demo data. After the cancelled run,
a second one is let through: its summary is shown and cached, so the first run's absence from the cache is not an
accident of the page never writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.db import connect, rows
from tests.e2e.conftest import ProxyTrap, Server, assert_clean, browser_tab, settle
from tests.e2e.model_site import dashboard_with_model, wait_for
from tests.llm_server import ChatServer, Received, Reply, quotations

pytestmark = pytest.mark.e2e

SLOW = 0.5  # seconds between streamed chunks of four characters: the reply (~60 chunks) would take ~30 s
PARAGRAPH = "Impact assessments are written for most systems but not yet reviewed on a schedule."
RUN = "Summarise with openai/test-model"


def reply(body: dict[str, Any], delay: float) -> Reply:
    cited = [{"unit": q["unit"], "item": q["item"]} for q in quotations(Received("", {}, body))[:1]]
    return Reply(json={"paragraphs": [PARAGRAPH], "points": [{"text": "Reviews are not scheduled.", "group": "Gaps",
                                                              "citations": cited}]}, chunk_delay=delay)


@pytest.fixture(scope="module")
def model() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


@pytest.fixture(scope="module")
def site(chromium: Any, demo_database: Path, proxy_trap: ProxyTrap, model: ChatServer,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    with dashboard_with_model(tmp_path_factory.mktemp("summary-progress"), demo_database, proxy_trap, model.url) as found:
        yield found


def cached(database: Path) -> int:
    with connect(database) as con:
        return rows(con, "SELECT count(*) FROM summary_cache")[0][0]


def test_progress_is_shown_cancel_stops_the_model_and_nothing_is_saved(
        chromium: Any, site: tuple[Server, Path], model: ChatServer) -> None:
    server, database = site
    with browser_tab(chromium, server) as tab:
        page = tab.page
        page.goto(f"{server.url}/summaries?kind=item&item=A.5.2")
        settle(page)
        assert_clean(tab, server, "the Summaries page")
        assert cached(database) == 0

        model.respond = lambda body: reply(body, SLOW)
        page.get_by_role("button", name=RUN).click()
        # the progress line counts the tokens as they arrive, in the status box, while the run goes on
        progress = page.get_by_text("Receiving the reply:", exact=False)
        progress.wait_for(timeout=60_000)
        first = progress.inner_text()
        page.wait_for_timeout(1500)
        later = page.get_by_text("Receiving the reply:", exact=False).inner_text()
        assert first != later, f"the progress line did not move: {first!r}"
        assert len(model.received) == 1 and model.received[0].body["stream"] is True

        page.get_by_role("button", name="Cancel").click()
        page.get_by_text("Cancelled: nothing was saved.").wait_for(timeout=30_000)
        settle(page)
        wait_for(lambda: model.disconnected == 1, 10, "the model's stream was not closed after Cancel")
        assert len(model.received) == 1, "Cancel must not retry"
        assert page.get_by_text(PARAGRAPH).count() == 0
        assert page.get_by_text("No summary of this selection yet").count() == 1
        assert cached(database) == 0
        assert_clean(tab, server, "after Cancel")

        model.respond = lambda body: reply(body, 0.0)
        page.get_by_role("button", name=RUN).click()
        page.get_by_text(PARAGRAPH).wait_for(timeout=60_000)
        settle(page)
        assert page.get_by_text("Cancelled: nothing was saved.").count() == 0
        assert page.get_by_role("button", name="Cancel").count() == 0  # nothing left to cancel
        assert len(model.received) == 2 and cached(database) == 1
        assert_clean(tab, server, "after a complete run")
