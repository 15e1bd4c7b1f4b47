"""Tests for the demo data generator (etl/demo_data.py)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from itertools import pairwise
from types import SimpleNamespace

import pytest

from etl.demo_data import (
    DEMO_DRAFT_ROUNDS,
    DEMO_ORGANISATION,
    DEMO_ROUNDS,
    build_demo_rows,
)

CLAUSE_IDS: tuple[str, ...] = (
    "4.1", "4.2", "4.3", "4.4", "5.1", "5.2", "5.3", "6.1.1", "6.1.2", "6.1.3",
    "6.1.4", "6.2", "6.3", "7.1", "7.2", "7.3", "7.4", "7.5.1", "7.5.2", "7.5.3",
    "8.1", "8.2", "8.3", "8.4", "9.1", "9.2.1", "9.2.2", "9.3.1", "9.3.2", "9.3.3",
    "10.1", "10.2",
)
ANNEX_IDS: tuple[str, ...] = (
    "A.2.2", "A.2.3", "A.2.4", "A.3.2", "A.3.3", "A.4.2", "A.4.3", "A.4.4",
    "A.4.5", "A.4.6", "A.5.2", "A.5.3", "A.5.4", "A.5.5", "A.6.1.2", "A.6.1.3",
    "A.6.2.2", "A.6.2.3", "A.6.2.4", "A.6.2.5", "A.6.2.6", "A.6.2.7", "A.6.2.8", "A.7.2",
    "A.7.3", "A.7.4", "A.7.5", "A.7.6", "A.8.2", "A.8.3", "A.8.4", "A.8.5",
    "A.9.2", "A.9.3", "A.9.4", "A.10.2", "A.10.3", "A.10.4",
)
KEYS = {"unit", "assessment", "assessed_on", "item_id", "title", "maturity", "target", "applicable",
        "justification", "evidence", "owner", "due_date", "notes", "inclusion_justification"}


def _item(item_id: str) -> SimpleNamespace:
    if item_id.startswith("A."):
        return SimpleNamespace(id=item_id, kind="annex_a", section="A." + item_id.split(".")[1],
                               title=f"Control {item_id}")
    return SimpleNamespace(id=item_id, kind="clause", section=item_id.split(".")[0], title=f"Clause {item_id}")


FULL = [_item(i) for i in (*CLAUSE_IDS, *ANNEX_IDS)]
CLAUSE_SET, ANNEX_SET = set(CLAUSE_IDS), set(ANNEX_IDS)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return build_demo_rows(FULL)


def _unit_rounds(rows: list[dict[str, object]]) -> dict[tuple[str, str], list[dict[str, object]]]:
    out: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        out[(str(row["unit"]), str(row["assessment"]))].append(row)
    return out


def test_catalog_fixture_is_complete() -> None:
    assert len(FULL) == 70 and len({i.id for i in FULL}) == 70


def test_deterministic_and_seed_sensitive(rows: list[dict[str, object]]) -> None:
    assert build_demo_rows(FULL) == rows
    assert build_demo_rows(FULL, seed=42) == rows
    assert build_demo_rows(FULL, seed=7) != rows


def test_does_not_touch_global_random() -> None:
    random.seed(123)
    state = random.getstate()
    build_demo_rows(FULL)
    assert random.getstate() == state


def test_units_rounds_and_dates(rows: list[dict[str, object]]) -> None:
    assert DEMO_ORGANISATION.strip()
    units = {r["unit"] for r in rows}
    assert len(units) >= 8
    assert len(DEMO_ROUNDS) == 3
    days = [date.fromisoformat(d) for _, d in DEMO_ROUNDS]
    assert days == sorted(days)
    span = (days[-1].year - days[0].year) * 12 + days[-1].month - days[0].month
    assert span >= 15
    round_dates = dict(DEMO_ROUNDS)
    assert {r["assessment"] for r in rows} == set(round_dates)
    for row in rows:
        assert row["assessed_on"] == round_dates[row["assessment"]]
    # every unit takes part in every round
    assert {(r["unit"], r["assessment"]) for r in rows} == {(u, lab) for u in units for lab in round_dates}


def test_row_shape_and_value_ranges(rows: list[dict[str, object]]) -> None:
    titles = {i.id: i.title for i in FULL}
    for row in rows:
        assert set(row) == KEYS
        assert row["maturity"] is None or (type(row["maturity"]) is int and 0 <= row["maturity"] <= 5)
        assert row["target"] is None or (type(row["target"]) is int and 0 <= row["target"] <= 5)
        assert row["applicable"] in ("yes", "no")
        assert row["title"] == titles[row["item_id"]]
        for key in ("justification", "evidence", "owner", "due_date", "notes", "unit", "assessment"):
            assert isinstance(row[key], str)
        if row["due_date"]:
            due, on = date.fromisoformat(row["due_date"]), date.fromisoformat(row["assessed_on"])
            assert 89 <= (due - on).days <= 366 + 14, "due dates are 3-12 months out"
    assert any(r["target"] == 4 for r in rows)
    assert sum(r["target"] is None for r in rows) > 0.9 * len(rows)


def test_row_order(rows: list[dict[str, object]]) -> None:
    labels = [lab for lab, _ in DEMO_ROUNDS]
    position = {i.id: n for n, i in enumerate(FULL)}
    unit_order: list[str] = []
    for row in rows:
        if not unit_order or unit_order[-1] != row["unit"]:
            assert row["unit"] not in unit_order, "units must be contiguous"
            unit_order.append(str(row["unit"]))
    keys = [(unit_order.index(str(r["unit"])), labels.index(str(r["assessment"])), position[r["item_id"]])
            for r in rows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_not_applicable(rows: list[dict[str, object]]) -> None:
    na = [r for r in rows if r["applicable"] == "no"]
    assert na, "some controls should be marked not applicable"
    assert len({r["justification"] for r in na}) >= 4, "justifications should vary"
    assert len({r["unit"] for r in na}) >= 3
    for row in na:
        assert row["item_id"] in ANNEX_SET
        assert len(str(row["justification"]).strip()) >= 20
    for row in rows:
        if row["item_id"] in CLAUSE_SET:
            assert row["applicable"] == "yes"
        if row["applicable"] == "yes":
            assert row["justification"] == ""


def test_both_scopes(rows: list[dict[str, object]]) -> None:
    scopes = {key: {r["item_id"] for r in group} for key, group in _unit_rounds(rows).items()}
    first, latest = DEMO_ROUNDS[0][0], DEMO_ROUNDS[-1][0]
    clause_only = [k for k, ids in scopes.items() if ids == CLAUSE_SET]
    annex_only = [k for k, ids in scopes.items() if ids == ANNEX_SET]
    full = [k for k, ids in scopes.items() if len(ids) == 70]
    assert clause_only and any(k[1] == first for k in clause_only)
    assert annex_only
    assert len(full) >= len(scopes) // 2
    assert all(len(ids) == 70 for (_, label), ids in scopes.items() if label == latest)
    for ids in scopes.values():
        assert ids in (CLAUSE_SET, ANNEX_SET, CLAUSE_SET | ANNEX_SET)


def test_not_assessed_only_in_draft_rounds(rows: list[dict[str, object]]) -> None:
    latest = DEMO_ROUNDS[-1][0]
    assert 2 <= len(DEMO_DRAFT_ROUNDS) <= 3
    assert all(label == latest for _, label in DEMO_DRAFT_ROUNDS)
    groups = _unit_rounds(rows)
    assert set(groups) >= DEMO_DRAFT_ROUNDS
    for key, group in groups.items():
        applicable = [r for r in group if r["applicable"] == "yes"]
        missing = sum(r["maturity"] is None for r in applicable)
        if key in DEMO_DRAFT_ROUNDS:
            assert 0.10 <= missing / len(applicable) <= 0.25, key
        else:
            assert missing == 0, key
    # not-applicable rows carry no score
    assert all(r["maturity"] is None for r in rows if r["applicable"] == "no")


def test_progress_with_some_regressions(rows: list[dict[str, object]]) -> None:
    labels = [lab for lab, _ in DEMO_ROUNDS]

    def mean(label: str) -> float:
        values = [int(r["maturity"]) for r in rows if r["assessment"] == label and r["maturity"] is not None]
        return sum(values) / len(values)

    assert mean(labels[-1]) > mean(labels[0])
    history: dict[tuple[object, object], dict[object, int]] = defaultdict(dict)
    for row in rows:
        if row["maturity"] is not None:
            history[(row["unit"], row["item_id"])][row["assessment"]] = int(row["maturity"])
    steps = [h[b] - h[a] for h in history.values() for a, b in pairwise(labels) if a in h and b in h]
    assert steps
    assert any(d < 0 for d in steps), "at least one item should regress"
    assert sum(d < 0 for d in steps) < 0.2 * len(steps), "regressions should be the exception"
    assert sum(d >= 0 for d in steps) > 0.8 * len(steps)
    assert all(abs(d) <= 1 for d in steps)
    scores = [int(r["maturity"]) for r in rows if r["maturity"] is not None]
    assert sum(s <= 4 for s in scores) > 0.95 * len(scores)


def test_evidence_is_varied_and_owners_set(rows: list[dict[str, object]]) -> None:
    evidence = [str(r["evidence"]) for r in rows if r["evidence"]]
    assert len(evidence) > 0.5 * len(rows)
    assert len(set(evidence)) >= 0.6 * len(evidence)
    below = [r for r in rows if r["maturity"] is not None and r["maturity"] < (r["target"] or 3)]
    assert sum(bool(r["owner"]) for r in below) > 0.6 * len(below)
    assert sum(bool(r["due_date"]) for r in below) > 0.6 * len(below)
    assert 0 < sum(bool(r["notes"]) for r in rows) < 0.5 * len(rows)
    for row in rows:
        if row["maturity"] is not None and row["maturity"] >= (row["target"] or 3):
            assert row["due_date"] == ""


def test_small_catalog_and_default_target() -> None:
    items = [_item("4.1"), _item("6.1.2"), _item("A.5.2"), _item("A.6.2.4"),
             SimpleNamespace(id="A.99.1", kind="annex_a", section="A.99", title="Unknown control")]
    rows = build_demo_rows(items, default_target=2, seed=1)
    assert rows and {r["item_id"] for r in rows} == {i.id for i in items}
    assert all(set(r) == KEYS for r in rows)
    assert build_demo_rows(items, default_target=2, seed=1) == rows
