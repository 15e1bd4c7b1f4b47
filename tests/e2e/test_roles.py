"""The signed-in dashboard in Chromium, one person per role, against a local OpenID Connect provider.

One dashboard (app.py on a copy of the demo data, `[auth]` pointing at oidc-provider-mock) serves the whole
walk. The first administrator comes from AIMS_ADMINS; the other roles are granted with the command line
(`python -m etl access grant`) before the server starts. Each person signs in through the provider's form in
a browser context of their own, is checked for what the sidebar offers and what they may open or are
refused, and logs out through the provider's end-session page.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.e2e.conftest import ROOT, ProxyTrap, Server, Tab, assert_clean, browser_tab, settle
from tests.e2e.signin import (
    LOG_OUT_BUTTON,
    Person,
    Provider,
    Received,
    auth_secrets,
    dashboard,
    grant,
    main_text,
    nav_titles,
    provider,
    serve_provider_stylesheet,
    sidebar_text,
    sign_in,
    sign_out,
)
from tests.processes import free_port

pytestmark = pytest.mark.e2e

UNIT = "Life Insurance"  # the assessor's unit: a demo unit whose answers name no other unit
OTHER_UNIT = "Group IT"
ADMIN = Person("ada.admin@aldermoor.example", "Ada Admin")
LEAD = Person("lee.lead@aldermoor.example", "Lee Lead")
ASSESSOR = Person("asa.assessor@aldermoor.example", "Asa Assessor")
VIEWER = Person("vic.viewer@aldermoor.example", "Vic Viewer")
NOBODY = Person("noa.nobody@aldermoor.example", "Noa Nobody")
PEOPLE = [ADMIN, LEAD, ASSESSOR, VIEWER, NOBODY]

ADMIN_ONLY = {"Access", "AI settings"}
ORGANISING = {"Import", "Units and rounds"}
HEADINGS = {"/access": "Access", "/settings": "Settings", "/import_data": "Import spreadsheets",
            "/units": "Units and rounds", "/assess": "Questionnaire", "/interview": "AI-guided interview",
            "/roadmap": "Roadmap"}  # each page's own title (its st.title)
ANSWERING = {"Questionnaire", "AI-guided interview", "Roadmap", "Campaigns", "Proposed answers"}
DASHBOARDS = {"Overview", "Benchmarking", "Sections and controls", "Trends", "Presentation", "Summaries"}


@dataclass(frozen=True)
class Walk:
    person: Person
    title: str  # the role's name the sidebar shows
    listed: set[str]  # pages the sidebar must offer
    unlisted: set[str]  # pages it must not
    refused_paths: tuple[str, ...]  # addresses that must not open their page (refused, or another page shown)


WALKS = {
    "administrator": Walk(ADMIN, "Administrator", DASHBOARDS | ANSWERING | ORGANISING | ADMIN_ONLY, set(), ()),
    "lead": Walk(LEAD, "Governance lead", DASHBOARDS | ANSWERING | ORGANISING, ADMIN_ONLY, ("/access",)),
    "assessor": Walk(ASSESSOR, "Unit assessor", DASHBOARDS | ANSWERING, ORGANISING | ADMIN_ONLY,
                     ("/import_data", "/access")),
    "viewer": Walk(VIEWER, "Viewer", DASHBOARDS, ANSWERING | ORGANISING | ADMIN_ONLY,
                   ("/assess", "/import_data")),
}


@dataclass(frozen=True)
class Site:
    server: Server
    provider: Provider
    database: Path
    assessment_ids: dict[str, int]  # unit name -> one of its assessments (the newest)


def signed_in_database(demo_database: Path, target: Path) -> Path:
    """A copy of the demo database with the roles of this walk granted through the command line."""
    shutil.copyfile(demo_database, target)
    grant(target, LEAD.email, "lead")
    grant(target, ASSESSOR.email, "assessor", UNIT)
    grant(target, VIEWER.email, "viewer")
    return target


def newest_assessments(database: Path) -> dict[str, int]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        found = con.execute("""SELECT u.name, max(a.id) FROM assessment a JOIN unit u ON u.id = a.unit_id
                               GROUP BY u.name""").fetchall()
    finally:
        con.close()
    return {str(name): int(i) for name, i in found}


@contextmanager
def signed_in_site(demo_database: Path, proxy_trap: ProxyTrap, workdir: Path,
                   env: dict[str, str] | None = None) -> Iterator[Site]:
    database = signed_in_database(demo_database, workdir / "signed-in.duckdb")
    ids = newest_assessments(database)
    port = free_port()
    with provider(PEOPLE, workdir) as found:
        secrets_file = auth_secrets(workdir / "secrets.toml", found, port)
        with dashboard(ROOT / "app.py", workdir, proxy_trap, secrets_file=secrets_file, port=port,
                       env={"AIMS_DB": str(database), "AIMS_ADMINS": ADMIN.email, **(env or {})}) as server:
            yield Site(server, found, database, ids)


@pytest.fixture(scope="module")
def site(chromium: Any, demo_database: Path, proxy_trap: ProxyTrap,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with signed_in_site(demo_database, proxy_trap, tmp_path_factory.mktemp("roles")) as found:
        yield found


@contextmanager
def signed_in_as(chromium: Any, site: Site, person: Person) -> Iterator[tuple[Tab, Received]]:
    with browser_tab(chromium, site.server) as tab:
        received = Received(tab)
        serve_provider_stylesheet(tab)
        sign_in(tab, site.server, site.provider, person)
        yield tab, received


def refused(page: Any) -> str:
    """The refusal shown on the page (an error box), or '' when there is none."""
    boxes = page.locator('[data-testid="stAlertContentError"]')
    return "\n".join(boxes.nth(i).inner_text() for i in range(boxes.count()))


# leaving a page by its address aborts the script chunks it was still loading; an address the role's navigation
# does not hold makes Streamlit say so in the console and run the main page (that is the refusal we want)
EXPECTED_ON_NAVIGATION = re.compile(r"^request failed: GET \S+/static/\S+ \(net::ERR_ABORTED\)$"
                                    r"|^console error: The page that you have requested does not seem to exist")


def open_path(tab: Tab, site: Site, path: str) -> Any:
    tab.page.goto(site.server.url + path)
    tab.page.locator('[data-testid="stApp"]').wait_for()
    settle(tab.page)
    tab.problems[:] = [p for p in tab.problems if not EXPECTED_ON_NAVIGATION.match(p)]
    return tab.page


@pytest.mark.parametrize("role", list(WALKS))
def test_each_role_sees_and_may_open_what_it_should(chromium: Any, site: Site, role: str) -> None:
    walk = WALKS[role]
    with signed_in_as(chromium, site, walk.person) as (tab, received):
        page = tab.page
        bar = sidebar_text(page)
        assert walk.person.name in bar and walk.person.email in bar, f"the sidebar does not say who is signed in:\n{bar}"
        assert walk.title in bar, f"the sidebar does not name the role {walk.title!r}:\n{bar}"
        assert "Local mode" not in bar
        titles = set(nav_titles(page))
        assert walk.listed <= titles, f"{role}: pages missing from the sidebar: {sorted(walk.listed - titles)}"
        assert not walk.unlisted & titles, f"{role}: pages it must not be offered: {sorted(walk.unlisted & titles)}"
        assert_clean(tab, site.server, f"{role}: after signing in")
        for path in walk.refused_paths:
            open_path(tab, site, path)
            heading = page.get_by_role("heading", name=HEADINGS[path], level=1, exact=True)
            assert heading.count() == 0, f"{role}: {path} opened its page:\n{main_text(page)[:1500]}"
        if walk.refused_paths:
            open_path(tab, site, "/")  # and close Streamlit's "page not found" dialog of the last one
        # a deep link to another unit's assessment: open for every-unit roles, refused for the assessor
        link = f"/assess?assessment={site.assessment_ids[OTHER_UNIT]}"
        if "Questionnaire" in walk.listed:
            open_path(tab, site, link)
            if role == "assessor":
                message = refused(page)
                assert message, f"the assessor opened another unit's assessment by URL:\n{main_text(page)[:1500]}"
                assert OTHER_UNIT not in main_text(page), "the refusal names the other unit"
            else:
                assert not refused(page), f"{role} was refused {link}: {refused(page)}"
                assert OTHER_UNIT in main_text(page), f"{role}: {link} does not show {OTHER_UNIT}'s round"
        if role == "administrator":  # the Access page lists the roles granted through the command line
            since = received.mark()
            open_path(tab, site, "/access")
            assert page.get_by_role("heading", name="Access", level=1).count() == 1
            sent = received.text(since)  # the roles table is drawn on a canvas: read what the server sent
            for person in (LEAD, ASSESSOR, VIEWER):
                assert person.email in sent, f"the Access page does not list {person.email}"
            assert UNIT in sent, "the Access page does not name the assessor's unit"
        assert_clean(tab, site.server, f"{role}: after the walk")
        sign_out(tab, site.server, site.provider, button=LOG_OUT_BUTTON)
        assert page.get_by_role("button", name=re.compile("^Sign in")).count() >= 1, "not back on the sign-in page"
        assert walk.person.email not in main_text(page) + sidebar_text(page), "still shows who was signed in"
        assert_clean(tab, site.server, f"{role}: after logging out")


def test_a_person_without_a_role_sees_whom_to_ask_and_nothing_else(chromium: Any, site: Site) -> None:
    with signed_in_as(chromium, site, NOBODY) as (tab, _received):
        page = tab.page
        text = main_text(page)
        assert ADMIN.email in text, f"the page does not say whom to ask:\n{text}"
        assert nav_titles(page) == [], f"a person without a role is offered pages: {nav_titles(page)}"
        for name in site.assessment_ids:
            assert name not in text + sidebar_text(page), f"{name} shown to a person without a role"
        open_path(tab, site, f"/assess?assessment={site.assessment_ids[UNIT]}")
        assert UNIT not in main_text(page), "a deep link shows a unit to a person without a role"
        assert_clean(tab, site.server, "a person without a role")
