"""Every page runs without an exception, on an empty database and on the demo data."""

from __future__ import annotations

import ast

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages import app_pages
from tests.pages.conftest import APP, ROOT

PAGES = [path for path, _title in app_pages()]


def test_every_page_file_is_registered() -> None:
    on_disk = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
    assert sorted(PAGES) == on_disk


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("database", ["empty_db", "demo_db"])
def test_page_runs_without_exception(page: str, database: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(database)
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    if page != PAGES[0]:
        app.switch_page(page).run()
    assert not app.exception, app.exception


def _calls(tree: ast.Module) -> list[str]:
    """`module.function` of each call to `st.*` or `ui.*` in the page's own statements, in order."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("st", "ui")):
            found.append((node.lineno, node.col_offset, f"{node.func.value.id}.{node.func.attr}"))
    return [name for *_, name in sorted(found)]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_first_hands_itself_to_the_apps_frame(page: str) -> None:
    """`ui.page_setup()` before anything else: a bookmarked page opened first on a fresh server otherwise runs
    in Streamlit's legacy pages/ mode, with a sidebar of file names instead of the app's navigation."""
    calls = _calls(ast.parse((ROOT / page).read_text(encoding="utf-8")))
    assert calls and calls[0] == "ui.page_setup", f"{page} starts with {calls[:1]}"
