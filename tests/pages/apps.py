"""Helpers the page tests share: the app opened on one page, and a Plotly chart's spec found by its title."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP


def open_page(page: str) -> AppTest:
    """The dashboard run once (navigation, sign-in or local mode), then switched to `page`, without exception."""
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def chart(app: AppTest, title: str) -> dict:
    """The spec of the first chart whose title starts with `title`."""
    for element in app.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        if spec["layout"]["title"]["text"].startswith(title):
            return spec
    raise AssertionError(f"no chart titled {title!r}")
