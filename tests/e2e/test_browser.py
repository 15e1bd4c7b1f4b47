"""Every page of the running dashboard in a real browser: no exception box, no console error, no failed
request, nothing fetched from another host; the Overview's clause chart and the benchmark heatmap drawn."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.app_pages import app_pages
from tests.e2e.conftest import ProxyTrap, Server, settle

pytestmark = pytest.mark.e2e

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SETTLE_TIMEOUT = 30.0
# Plotly's figures in the page: title (tags stripped), trace types, drawn bars and heatmap layers
CHARTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => {
    const title = el.layout && el.layout.title ? (el.layout.title.text ?? el.layout.title) : '';
    return {
        title: String(title).replace(/<[^>]*>/g, ''),
        types: (el.data || []).map(t => t.type),
        svg: el.querySelectorAll('.main-svg').length,
        bars: el.querySelectorAll('.barlayer .point path').length,
        heatmaps: el.querySelectorAll('.heatmaplayer .hm, .heatmaplayer image, g.hm').length,
    };
})"""


@dataclass
class Watched:
    """A browser tab and everything that went wrong in it."""

    page: Any
    problems: list[str] = field(default_factory=list)


def _on_route(watched: Watched, route: Any) -> None:
    host = urlsplit(route.request.url).hostname or ""
    if route.request.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in LOOPBACK:
        watched.problems.append(f"request to another host: {route.request.url}")
        route.abort()
    else:
        route.continue_()


@pytest.fixture
def tab(chromium: Any, server: Server) -> Iterator[Watched]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda m: watched.problems.append(f"console error: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.problems.append(f"uncaught error in the page: {e}"))
    page.on("requestfailed", lambda r: watched.problems.append(f"request failed: {r.method} {r.url} ({r.failure})"))
    page.route("**/*", lambda route: _on_route(watched, route))
    try:
        yield watched
    finally:
        context.close()


def _exceptions(page: Any) -> list[str]:
    boxes = page.locator('[data-testid="stException"]')
    return [boxes.nth(i).inner_text()[:800] for i in range(boxes.count())]


def _open_home(watched: Watched, server: Server) -> None:
    watched.page.goto(server.url + "/")
    watched.page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=SETTLE_TIMEOUT * 1000)
    settle(watched.page)


def _click_page(watched: Watched, server: Server, title: str) -> None:
    """Click the sidebar link of the page titled `title`.

    A page without the sidebar (presentation mode hides it) is left the way a person would: by opening
    the dashboard's address again. A folded page list ('view more') is unfolded first.
    """
    page = watched.page
    nav = page.locator('[data-testid="stSidebarNav"]')
    link = nav.locator('a[data-testid="stSidebarNavLink"]').filter(has=page.locator(f'span[label="{title}"]'))
    if link.count() == 0 or not link.first.is_visible():
        more = nav.locator('[data-testid="stSidebarNavViewButton"]')
        if more.count() and more.first.is_visible():
            more.first.click()
        elif not nav.is_visible():
            _open_home(watched, server)
    assert link.count() == 1, f"no sidebar link for {title!r}"
    href = link.first.get_attribute("href")
    link.first.click()
    if href:
        page.wait_for_url(re.compile("^" + re.escape(href.split("?")[0])), timeout=SETTLE_TIMEOUT * 1000)
    # the rerun starts after the click reaches the server; give it the chance to, then wait for quiet
    page.wait_for_timeout(200)
    settle(page)


def _charts(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(CHARTS_JS)


def _wait_for_chart(page: Any, wanted: Any, what: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    charts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        charts = _charts(page)
        found = [c for c in charts if wanted(c)]
        if found:
            return found[0]
        page.wait_for_timeout(200)
    raise AssertionError(f"{what} was not drawn within {timeout:.0f} s; charts on the page: {charts}")


PAGES = app_pages()


def test_every_page_opens_from_the_sidebar_without_errors(tab: Watched, server: Server) -> None:
    assert PAGES, "app.py registers no page"
    _open_home(tab, server)
    failures = [f"opening /: {problem}" for problem in tab.problems]
    failures += [f"opening /: exception box: {text}" for text in _exceptions(tab.page)]
    visited: list[str] = []
    for file, title in [*PAGES[1:], PAGES[0]]:  # every other page, then back to the default one
        seen = len(tab.problems)
        try:
            _click_page(tab, server, title)
        except AssertionError as exc:
            failures.append(f"{title} ({file}): {exc}")
            continue
        visited.append(title)
        failures += [f"{title} ({file}): exception box: {text}" for text in _exceptions(tab.page)]
        failures += [f"{title} ({file}): {problem}" for problem in tab.problems[seen:]]
    assert not failures, "\n".join(failures) + "\n--- server output ---\n" + server.output()[-4000:]
    assert len(visited) == len(PAGES)


def test_overview_draws_the_clause_chart(tab: Watched, server: Server) -> None:
    _open_home(tab, server)
    chart = _wait_for_chart(tab.page, lambda c: "Maturity per clause" in c["title"] and c["bars"] > 0 and c["svg"] > 0,
                            "the Overview's clause chart")
    assert "bar" in chart["types"]
    assert chart["bars"] == 7  # one bar per clause 4-10
    assert not _exceptions(tab.page)
    assert not tab.problems, tab.problems


def test_benchmarking_draws_its_heatmap(tab: Watched, server: Server) -> None:
    titles = [title for _, title in PAGES if "benchmark" in title.lower()]
    if not titles:
        pytest.skip("app.py registers no Benchmarking page")
    _open_home(tab, server)
    _click_page(tab, server, titles[0])
    chart = _wait_for_chart(tab.page, lambda c: "heatmap" in c["types"] and c["heatmaps"] > 0 and c["svg"] > 0,
                            f"the heatmap of {titles[0]!r}")
    assert chart["heatmaps"] > 0
    assert not _exceptions(tab.page), _exceptions(tab.page)
    assert not tab.problems, tab.problems


def test_the_server_never_tried_to_reach_the_network(server: Server, proxy_trap: ProxyTrap) -> None:
    """Runs last: everything the server's HTTP clients tried to fetch since it started went to the trap."""
    assert not proxy_trap.requests, (
        f"the dashboard's server process tried to reach the network: {proxy_trap.requests}\n" + server.output()[-2000:]
    )
