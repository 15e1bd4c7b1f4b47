"""Several dashboard processes on one PostgreSQL database, in Chromium.

Both tests start a throwaway PostgreSQL server (tests/pg.py; skipped, saying why, where Debian's binaries are
missing), load the demo data and launch a campaign round for one unit on it, then start two dashboard processes
(`python -m streamlit run app.py`) with `AIMS_DB` set to that database.

- Side by side: a person answers an item in one process; a second person, on the same round in the other process,
  sees the answer on their next interaction (answering another item), and the first sees theirs likewise.
- Behind nginx (`deploy/nginx.conf`, as the README runs it; skipped, saying so, without /usr/sbin/nginx): both
  processes share one secrets file (one `cookie_secret`, the proxy's `redirect_uri`). Each browser is pinned to a
  process by the proxy's route cookie; each signs in through the local OpenID Connect provider, they see each
  other's answers as above, and a browser moved to the other process stays signed in (the cookie one process signed
  is valid on the other). The proxy's access log shows a websocket upgraded (101) to each process.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard import campaigns, store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from etl.demo import load_demo
from tests.e2e.conftest import ROOT, ProxyTrap, Server, Tab, assert_clean, browser_tab, keyed, settle, type_name
from tests.e2e.proxy import ROUTE_COOKIE, nginx, route_to, websocket_upstreams
from tests.e2e.signin import (
    Person,
    auth_secrets,
    dashboard,
    provider,
    serve_provider_stylesheet,
    sidebar_text,
    sign_in,
)
from tests.principals import ADMIN
from tests.processes import free_port

pytestmark = pytest.mark.e2e

UNIT = "Life Insurance"
LABEL = "2027-Q1"
ADA = Person("ada.admin@aldermoor.example", "Ada Admin")
LEE = Person("lee.assessor@aldermoor.example", "Lee Assessor")
FIRST, SECOND, THIRD = [i.id for i in load_catalog().items if i.kind == "clause"][:3]
EVIDENCE = "Interested parties register v3, reviewed by the AI committee"


@dataclass(frozen=True)
class Round:
    template: str  # the database name holding the demo and the campaign, copied per test
    assessment_id: int


@pytest.fixture(scope="module")
def campaign_round(pg_server: Any) -> Round:
    """The demo data on the server, with a campaign round for one unit whose assessor is Lee."""
    from tests.conftest import _close_pooled

    url = pg_server.new_database()
    with connect(url) as con:
        assert all(r.ok for r in load_demo(con, principal=ADMIN, by="e2e"))
        launched = campaigns.launch(con, name="Replicas", units=[UNIT], scope="clauses", label=LABEL,
                                    assessed_on=dt.date(2027, 1, 10), due_on=None, assessors={UNIT: [LEE.email]},
                                    principal=ADMIN, by="e2e")
    _close_pooled()
    return Round(url.rsplit("/", 1)[1], launched.assessment_ids[0])


@pytest.fixture
def database(campaign_round: Round, request: pytest.FixtureRequest) -> str:
    """A copy of the round's database for one test (dropped after it)."""
    from tests.conftest import pg_copy

    return pg_copy(request, "campaign_round_template")


@pytest.fixture(scope="module")
def campaign_round_template(campaign_round: Round) -> str:
    return campaign_round.template


def two_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


def open_round(tab: Tab, base: str, assessment_id: int) -> Any:
    page = tab.page
    page.goto(f"{base}/assess?assessment={assessment_id}")
    page.locator('[data-testid="stSidebarNav"]').wait_for()
    settle(page)
    # leaving a page by its address aborts the script chunks it was still loading: not a fault
    tab.problems[:] = [p for p in tab.problems if not re.match(r"^request failed: GET \S+/static/\S+ \(net::ERR_ABORTED\)$", p)]
    return page


def checked(page: Any, assessment_id: int, item: str) -> str | None:
    radio = keyed(page, f"a{assessment_id}:{item}:maturity")
    chosen = radio.locator('label[data-testid="stRadioOption"]').filter(has=page.locator("input:checked"))
    return chosen.inner_text() if chosen.count() == 1 else None


def choose(page: Any, assessment_id: int, item: str, level: int) -> None:
    radio = keyed(page, f"a{assessment_id}:{item}:maturity")
    assert radio.get_by_role("radio").first.is_enabled(), f"{item} is read-only on {page.url}"
    radio.locator('label[data-testid="stRadioOption"]').filter(has_text=re.compile(rf"^{level} · ")).click()
    settle(page)


def give_evidence(page: Any, assessment_id: int, item: str, text: str) -> None:
    box = keyed(page, f"a{assessment_id}:{item}:evidence").locator("textarea")
    box.fill(text)
    box.press("Tab")  # leaving the field saves it
    settle(page)


def evidence(page: Any, assessment_id: int, item: str) -> str:
    return keyed(page, f"a{assessment_id}:{item}:evidence").locator("textarea").input_value()


def answer_across(one: Tab, two: Tab, servers: tuple[Server, Server], assessment_id: int) -> None:
    """One answers FIRST in its process; two's next interaction (answering SECOND) shows it; one's next (answering
    THIRD) shows two's answer."""
    first, second = one.page, two.page
    assert checked(first, assessment_id, FIRST) is None and checked(second, assessment_id, FIRST) is None
    choose(first, assessment_id, FIRST, 2)
    give_evidence(first, assessment_id, FIRST, EVIDENCE)
    assert_clean(one, servers[0], "answering in the first process")
    choose(second, assessment_id, SECOND, 3)  # the second person's next interaction, in the other process
    assert (checked(second, assessment_id, FIRST) or "").startswith("2 · "), checked(second, assessment_id, FIRST)
    assert evidence(second, assessment_id, FIRST) == EVIDENCE
    assert_clean(two, servers[1], "the other process after its next interaction")
    # the first person's next interaction: a level (it reruns the page; a text saved reruns only its item's fields)
    choose(first, assessment_id, THIRD, 1)
    assert (checked(first, assessment_id, SECOND) or "").startswith("3 · "), checked(first, assessment_id, SECOND)
    assert_clean(one, servers[0], "the first process after its next interaction")


def stored(url: str, assessment_id: int) -> dict[str, tuple[Any, Any, str]]:
    with connect(url) as con:
        found = store.responses(con, principal=ADMIN, assessment_ids=[assessment_id]).set_index("item_id")
    return {item: (row["maturity"], row["evidence"], str(row["changed_by"])) for item, row in found.iterrows()}


def test_two_processes_on_one_server_show_each_others_answers(
        chromium: Any, proxy_trap: ProxyTrap, database: str, campaign_round: Round, tmp_path: Path) -> None:
    aid = campaign_round.assessment_id
    env = {"AIMS_DB": database}
    with dashboard(ROOT / "app.py", tmp_path, proxy_trap, secrets_file=None, env=env) as a, \
            dashboard(ROOT / "app.py", tmp_path, proxy_trap, secrets_file=None, env=env) as b, \
            browser_tab(chromium, a) as one, browser_tab(chromium, b) as two:
        for tab, server, name in ((one, a, "Ada"), (two, b, "Bea")):
            open_round(tab, server.url, aid)
            type_name(tab.page, name)
            assert_clean(tab, server, f"opening the round as {name}")
        answer_across(one, two, (a, b), aid)
    saved = stored(database, aid)
    assert saved[FIRST] == (2, EVIDENCE, "Ada") and saved[THIRD][::2] == (1, "Ada"), saved
    assert saved[SECOND][::2] == (3, "Bea"), saved
    assert not proxy_trap.requests, f"a dashboard tried to reach the network: {proxy_trap.requests}"


@pytest.fixture
def signed_in_pair(chromium: Any, proxy_trap: ProxyTrap, database: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """nginx on a free port in front of two dashboard processes sharing one secrets file, and the provider."""
    proxy_port = free_port()
    ports = two_ports()
    with provider([ADA, LEE], tmp_path) as found:
        secrets_file = auth_secrets(tmp_path / "secrets.toml", found, proxy_port)  # one cookie_secret for both
        env = {"AIMS_DB": database, "AIMS_ADMINS": ADA.email}
        with dashboard(ROOT / "app.py", tmp_path, proxy_trap, secrets_file=secrets_file, env=env, port=ports[0]) as a, \
                dashboard(ROOT / "app.py", tmp_path, proxy_trap, secrets_file=secrets_file, env=env, port=ports[1]) as b, \
                nginx(tmp_path / "nginx", proxy_port, ports) as proxy:
            yield {"provider": found, "servers": (a, b), "proxy": proxy, "ports": ports}


def pinned(tab: Tab, proxy: Any, route: str) -> list[str]:
    """Send the tab's browser to the process `route` leads to; returns the X-AIMS-Upstream of every response after."""
    tab.page.context.add_cookies([{"name": ROUTE_COOKIE, "value": route, "url": proxy.url}])
    served: list[str] = []
    tab.page.on("response", lambda r: served.append(r.headers.get("x-aims-upstream", "?"))
                if r.url.startswith(proxy.url) else None)
    return served


def test_behind_nginx_with_one_cookie_secret(chromium: Any, signed_in_pair: dict[str, Any], database: str,
                                              campaign_round: Round, proxy_trap: ProxyTrap) -> None:
    proxy, found, (a, b), ports = (signed_in_pair[k] for k in ("proxy", "provider", "servers", "ports"))
    routes = [route_to(proxy, port) for port in ports]
    upstreams = [f"127.0.0.1:{port}" for port in ports]
    aid = campaign_round.assessment_id
    through = [Server(proxy.url, a.log), Server(proxy.url, b.log)]  # the proxy's address; each process's own log
    with browser_tab(chromium, through[0]) as one, browser_tab(chromium, through[1]) as two:
        served = []
        for tab, route, server, person in ((one, routes[0], through[0], ADA), (two, routes[1], through[1], LEE)):
            served.append(pinned(tab, proxy, route))
            serve_provider_stylesheet(tab)
            sign_in(tab, server, found, person)
            assert f"Signed in as {person.name}" in sidebar_text(tab.page), sidebar_text(tab.page)
            open_round(tab, proxy.url, aid)
            assert_clean(tab, server, f"{person.name} opening the round through the proxy")
        assert set(served[0]) == {upstreams[0]} and set(served[1]) == {upstreams[1]}, served  # sticky
        answer_across(one, two, (through[0], through[1]), aid)

        # the first browser moved to the other process: still signed in (one cookie_secret), the answers there
        moved = pinned(one, proxy, routes[1])
        page = open_round(one, proxy.url, aid)
        assert page.url.startswith(proxy.url), f"moving to the other process sent the browser to {page.url}"
        assert set(moved) == {upstreams[1]}, moved
        assert f"Signed in as {ADA.name}" in sidebar_text(page), sidebar_text(page)
        assert (checked(page, aid, SECOND) or "").startswith("3 · ") and evidence(page, aid, FIRST) == EVIDENCE
        assert_clean(one, through[1], "the first browser on the other process")
    assert websocket_upstreams(proxy) == set(upstreams), proxy.access_log()[-3000:]
    saved = stored(database, aid)
    assert ADA.email in saved[FIRST][2] and LEE.email in saved[SECOND][2], saved
    assert not proxy_trap.requests, f"a dashboard tried to reach the network: {proxy_trap.requests}"
