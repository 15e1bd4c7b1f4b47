"""The Campaigns page's pure parts: typed assessors and comments read (and refused with the line named), the board
as people read it and filtered, and the progress chart drawn from the core's rows."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from dashboard.campaign_charts import progress_chart
from dashboard.campaign_views import BOARD_LABELS, board_view, filter_board, parse_assessors, parse_item_comments, state_text


@pytest.mark.parametrize(("text", "expected"), [
    ("", {}),
    ("Retail Banking = ana@example.org", {"Retail Banking": ["ana@example.org"]}),
    ("R&D = Ana@Example.org, ben@example.org;cy@example.org\n\n# a note\nHR = hr@example.org",
     {"R&D": ["ana@example.org", "ben@example.org", "cy@example.org"], "HR": ["hr@example.org"]}),
    ("A = B = x@example.org", {"A = B": ["x@example.org"]}),  # the last '=' separates the unit
    ("HR = a@example.org\nHR = a@example.org b@example.org", {"HR": ["a@example.org", "b@example.org"]}),
])
def test_assessors_are_read_one_unit_a_line(text: str, expected: dict[str, list[str]]) -> None:
    assert parse_assessors(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("Retail Banking ana@example.org", "line 1: write 'Unit = email, email'"),
    ("HR = a@example.org\n= b@example.org", "line 2: write"),
    ("HR =  ", "line 1: no email"),
    ("HR = ana(at)example.org", "line 1: 'ana(at)example.org' is not an email"),
])
def test_a_wrong_assessor_line_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_assessors(text)


ITEMS = {"4.1", "4.2", "A.2.2"}


@pytest.mark.parametrize(("text", "general", "expected"), [
    ("4.2 = Name the parties", None, {"4.2": "Name the parties"}),
    ("4.2 = Name the parties\n4.2 = and their needs\nA.2.2=Attach the policy", "  Good work overall ",
     {"4.2": "Name the parties and their needs", "A.2.2": "Attach the policy", None: "Good work overall"}),
    ("Please look again at clause 4", "", {None: "Please look again at clause 4"}),
    ("= one for the round", "and another", {None: "and another one for the round"}),
    ("", "", {}),
])
def test_comments_are_read_per_item_and_for_the_round(text: str, general: str | None, expected: dict) -> None:
    assert parse_item_comments(text, ITEMS, general) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("9.9 = not an item", "line 1: '9.9' is not an item of this round"),
    ("4.1 = fine\n4.2 =", "line 2: nothing after '=' for 4.2"),
])
def test_a_wrong_comment_line_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_item_comments(text, ITEMS)


@pytest.mark.parametrize(("state", "pct", "shown"), [
    ("in progress", 0.4, "in progress (40%)"), ("in progress", 40.0, "in progress (40%)"),
    ("in progress", None, "in progress"), ("submitted", 1.0, "submitted"), ("not started", 0.0, "not started"),
])
def test_state_text(state: str, pct: float | None, shown: str) -> None:
    assert state_text(state, pct) == shown


def _board() -> pd.DataFrame:
    return pd.DataFrame({
        "unit": ["HR", "IT", "Sales"], "assessment_id": [7, 8, 9],
        "assessors": [["a@example.org", "b@example.org"], [], ["s@example.org"]],
        "state": ["in progress", "submitted", "not started"], "answered_pct": [0.25, 1.0, 0.0],
        "last_activity": [pd.Timestamp("2026-03-02 10:00"), pd.Timestamp("2026-03-03 09:30"), pd.NaT],
        "due_on": [dt.date(2026, 3, 31)] * 3, "overdue": [True, False, True], "days_overdue": [3, 0, 3],
        "returned_comments": [0, 2, 0],
    })


def test_the_board_for_people_keeps_the_cores_values_and_links_each_round() -> None:
    shown = board_view(_board())
    assert list(shown.columns) == [c for c in BOARD_LABELS if c not in ("active", "elapsed")]  # no times: not given
    assert shown["assessors"].tolist() == ["a@example.org, b@example.org", "", "s@example.org"]
    assert shown["state"].tolist() == ["in progress (25%)", "submitted", "not started"]
    assert shown["link"].tolist() == ["assess?assessment=7", "assess?assessment=8", "assess?assessment=9"]
    assert shown["returned_comments"].tolist() == [0, 2, 0]


def test_the_board_is_filtered_by_state_and_overdue() -> None:
    board = _board()
    assert filter_board(board)["unit"].tolist() == ["HR", "IT", "Sales"]
    assert filter_board(board, ["submitted", "not started"])["unit"].tolist() == ["IT", "Sales"]
    assert filter_board(board, overdue_only=True)["unit"].tolist() == ["HR", "Sales"]
    assert filter_board(board, ["submitted"], overdue_only=True).empty


def test_the_progress_chart_stacks_the_cores_counts_per_state_in_order() -> None:
    rows = pd.DataFrame({"day": ["2026-03-01", "2026-03-01", "2026-03-02", "2026-03-02", "2026-03-02"],
                         "state": ["not started", "in progress", "finalised", "in progress", "not started"],
                         "units": [2, 1, 1, 1, 1]})
    figure = progress_chart(rows, title="Progress over time · Spring <b>")
    spec = json.loads(figure.to_json())
    assert [t["name"] for t in spec["data"]] == ["not started", "in progress", "finalised"]
    by_state = {t.name: [int(v) for v in t.y] for t in figure.data}
    assert by_state == {"not started": [2, 1], "in progress": [1, 1], "finalised": [0, 1]}
    assert spec["layout"]["barmode"] == "stack"
    assert list(figure.data[0].x) == ["2026-03-01", "2026-03-02"]  # one bar a day, named
    assert spec["layout"]["yaxis"]["dtick"] == 1  # a few units: whole numbers only
    assert spec["layout"]["title"]["subtitle"]["text"] == "Spring &lt;b&gt;"  # user text escaped


def test_the_progress_chart_says_when_there_is_nothing() -> None:
    spec = json.loads(progress_chart(pd.DataFrame(columns=["day", "state", "units"])).to_json())
    assert spec["layout"]["annotations"][0]["text"] == "No activity recorded yet"
