"""The setting "management views show finalised rounds only": the Overview's figures change with it (Latest per unit
leaves the three demo drafts out) and a caption says so; turned off, the figures are as before."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import campaigns, scoring
from dashboard.db import connect
from dashboard.provenance import FINAL_ONLY_NOTE
from tests.pages.conftest import APP
from tests.principals import ADMIN


def _overview() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def _figures(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _set(db: Path, on: bool) -> dict:
    with connect(db) as con:
        campaigns.set_final_only(con, on, principal=ADMIN, by="test")
        ids = scoring.select_assessments(con, principal=ADMIN, round_label=scoring.LATEST)
        return scoring.organisation_summary(con, ids)


def test_the_overview_follows_the_final_only_setting(demo_db: Path) -> None:
    first = _overview()
    before = _figures(first)
    assert any(c.value.startswith("⚠ Provisional") for c in first.caption)  # the demo's drafts, marked
    expected = _set(demo_db, True)
    app = _overview()
    after = _figures(app)
    assert after != before
    assert after["Overall maturity"] == f"{expected['overall_maturity']:.2f}"
    assert after["Clause maturity (4-10)"] == f"{expected['clause_maturity']:.2f}"
    assert after["Open gaps"] == str(expected["open_gaps"])
    captions = [c.value for c in app.caption]
    assert FINAL_ONLY_NOTE in captions
    assert not any(c.startswith("⚠ Provisional") for c in captions)  # no draft is shown any more
    _set(demo_db, False)
    again = _overview()
    assert _figures(again) == before
    assert FINAL_ONLY_NOTE not in [c.value for c in again.caption]
