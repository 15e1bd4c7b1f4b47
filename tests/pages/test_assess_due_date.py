"""The questionnaire's due date: typed as YYYY-MM-DD and saved when the field is left; anything else is shown as
an error and not saved; blank clears it; another person's saved date shows on the next rerun."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboard import store, ui
from dashboard.db import connect
from tests.pages.test_assess import _app, _responses, _start
from tests.principals import ADMIN


def test_due_date_text_is_read_strictly_as_an_iso_date() -> None:
    assert ui.due_date(" 2026-09-30 ") == dt.date(2026, 9, 30)
    assert ui.due_date("") is None and ui.due_date(None) is None
    for wrong in ("30/09/2026", "2026-9-30", "20260930", "2026-02-30", "next week"):
        with pytest.raises(ValueError, match=r"is not a date: write it as YYYY-MM-DD"):
            ui.due_date(wrong)


def test_a_typed_due_date_is_saved_a_wrong_one_is_refused_and_blank_clears_it(empty_db: Path) -> None:
    aid = _start(empty_db)
    app = _app(assessment=aid)
    key = f"a{aid}:4.1:due_date"
    app.text_input(key=key).input("2026-12-31").run()
    assert not app.exception, app.exception
    assert str(_responses(empty_db, aid).loc["4.1", "due_date"])[:10] == "2026-12-31"

    app.text_input(key=key).input("31/12/2026").run()
    assert any("'31/12/2026' is not a date" in e.value for e in app.error), [e.value for e in app.error]
    assert str(_responses(empty_db, aid).loc["4.1", "due_date"])[:10] == "2026-12-31"  # unchanged
    assert app.text_input(key=key).value == "31/12/2026"  # kept in the field for the person to correct

    app.text_input(key=key).input("").run()
    assert not any("is not a date" in e.value for e in app.error)
    assert pd_missing(_responses(empty_db, aid).loc["4.1", "due_date"])
    with connect(empty_db) as con:
        history = store.item_history(con, aid, "4.1", principal=ADMIN)
    assert history[history["field"] == "due_date"]["new_value"].tolist()[::-1][:1] == ["2026-12-31"]

    with connect(empty_db) as con:  # another person sets it; this session shows it on its next rerun
        store.update_response(con, aid, "4.1", {"due_date": dt.date(2027, 1, 15)}, by="someone else", principal=ADMIN)
    app.run()
    assert app.text_input(key=key).value == "2027-01-15"


def pd_missing(value: object) -> bool:
    return value is None or str(value) in ("NaT", "None", "nan")
