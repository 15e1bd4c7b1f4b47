"""Units that look alike (a table of pairs that must and must not match) and merging one unit into another."""

from __future__ import annotations

import time

import pytest

from dashboard import store
from dashboard.units import (
    UnitClash,
    close_reason,
    fold_name,
    merge_units,
    near_duplicate_pairs,
    near_duplicates,
    similar_unit_pairs,
)
from tests.principals import ADMIN

SAME = "same name apart from case, spacing or punctuation"
ORDER = "same words in another order"
PART = "one name is part of the other"
SLIP = "a typing slip apart"


@pytest.mark.parametrize(("a", "b", "reason"), [
    ("Group IT", "Group I.T.", SAME),
    ("Group IT", "GroupIT", SAME),
    ("Group IT", "group-it", SAME),
    ("Payments & Cards", "Payments and Cards", SAME),
    ("R&D", "R & D", SAME),
    ("Développement", "Developpement", SAME),
    ("Cards & Payments", "Payments and Cards", ORDER),
    ("Payments", "Payments & Cards", PART),
    ("Retail", "Retail Banking", PART),  # decided: one name inside the other is worth a look
    ("IT", "Group IT", PART),
    ("Payment", "Payments", SLIP),
    ("Compliance", "Complaince", SLIP),  # two letters swapped = one slip
    ("Human Resources", "Human Resorces", SLIP),
    ("Internal Audit", "Internal Adit", SLIP),
    ("Procurement", "Procuremnet", SLIP),
    ("Procurement", "Prcuremnet", SLIP),  # two slips in a long word
    # must not match
    ("IT", "HR", None),
    ("IT", "IS", None),  # short words are not typing slips of each other
    ("Sales EU", "Sales US", None),
    ("Legal", "Local", None),  # two slips in a short word
    ("Region 1", "Region 2", None),  # numbers tell units apart
    ("Unit 001", "Unit 002", None),
    ("Region 1", "Region", None),
    ("Retail Banking", "Corporate Banking", None),
    ("Finance", "Risk", None),
    ("Payments", "Payments", None),  # the same unit is not a near-duplicate
    ("Group  IT", "group it", None),  # nor equal apart from case and doubled spaces (the store's rule)
])
def test_which_names_are_close(a: str, b: str, reason: str | None) -> None:
    assert close_reason(a, b) == reason
    assert close_reason(b, a) == reason


def test_folding() -> None:
    assert fold_name("  Group I.T. ") == "group it"
    assert fold_name("Payments & Cards") == "payments and cards"
    assert fold_name("Ops/Tech_Hub") == "ops tech hub"


def test_near_duplicates_skip_existing_units_and_rank_the_closest_first() -> None:
    existing = ["Group IT", "Payments & Cards", "Payments", "HR & People"]
    assert near_duplicates(["Group I.T.", "payments", "Payment", "Legal"], existing) == [
        ("Group I.T.", "Group IT", SAME),
        ("Payment", "Payments", SLIP),  # not "Payments & Cards": a slip and a word more is too far
    ]


def test_pairs_among_units_are_listed_once() -> None:
    assert near_duplicate_pairs(["Group IT", "Group I.T.", "HR", "IT"]) == [
        ("Group IT", "Group I.T.", SAME), ("Group IT", "IT", PART), ("Group I.T.", "IT", PART)]


def test_a_thousand_new_units_against_a_thousand_stored_stay_quick() -> None:
    stored = [f"Business Unit {n:04d}" for n in range(1000)]
    new = [f"Business Unit {n:04d}" for n in range(1000, 2000)]
    start = time.perf_counter()
    assert near_duplicates(new, stored) == []  # numbers differ: not alike
    assert time.perf_counter() - start < 10  # generous: the indexes keep it near a second on two cores


# --- merging ---------------------------------------------------------------------------------------


def _round(con, unit: str, label: str, scope: str = "both") -> int:
    return store.create_assessment(con, unit=unit, label=label, scope=scope, catalog_version="test").id


def test_merge_moves_every_round_logs_it_and_removes_the_unit(con) -> None:
    kept = _round(con, "Group IT", "2025-Q1")
    moved = [_round(con, "Group I.T.", "2025-Q4"), _round(con, "Group I.T.", "2026-Q3")]
    store.update_response(con, moved[0], "4.1", {"maturity": 2}, by="ana", principal=ADMIN)
    store.ensure_unit(con, "IT Security", parent="Group I.T.")
    assert similar_unit_pairs(con)[0][:2] == ("Group I.T.", "Group IT")

    result = merge_units(con, "group i.t.", "Group IT", principal=ADMIN, by="lead")

    assert result.rounds == ["2025-Q4", "2026-Q3"]
    assert "2 round(s)" in result.describe() and "Group I.T. removed" in result.describe()
    units = store.list_units(con, include_archived=True)
    assert units[["name", "parent", "assessments"]].fillna("").values.tolist() == [
        ["Group IT", "", 3], ["IT Security", "Group IT", 0]]
    assert store.get_assessment(con, moved[0]).unit == "Group IT"
    assert store.responses(con, principal=ADMIN, assessment_ids=[moved[0]]).set_index("item_id").loc["4.1", "maturity"] == 2
    log = con.execute("""SELECT assessment_id, field, old_value, new_value, changed_by, source FROM change_log
                         WHERE field = 'unit' ORDER BY assessment_id""").fetchall()
    assert log == [(i, "unit", "Group I.T.", "Group IT", "lead", "merge") for i in moved]
    assert store.get_assessment(con, kept).unit == "Group IT"


def test_a_label_clash_is_refused_naming_both_rounds_and_nothing_moves(con) -> None:
    a = _round(con, "Payments", "2026-Q1")
    b = _round(con, "Payments & Cards", "2026-Q1")
    _round(con, "Payments", "2026-Q2")
    with pytest.raises(UnitClash) as refused:
        merge_units(con, "Payments", "Payments & Cards", principal=ADMIN, by="lead")
    message = str(refused.value)
    assert "both have a round labelled '2026-Q1'" in message
    assert f"assessment {a} of Payments" in message and f"assessment {b} of Payments & Cards" in message
    assert store.list_units(con)["assessments"].tolist() == [2, 1]  # all or nothing
    assert con.execute("SELECT count(*) FROM change_log WHERE field = 'unit'").fetchall() == [(0,)]


@pytest.mark.parametrize(("source", "target", "message"), [
    ("Nowhere", "Payments", "No business unit named 'Nowhere'"),
    ("payments", "PAYMENTS", "are the same unit"),
])
def test_merge_refuses_unknown_or_same_units(con, source: str, target: str, message: str) -> None:
    _round(con, "Payments", "R1")
    with pytest.raises(UnitClash, match=message):
        merge_units(con, source, target, principal=ADMIN, by="lead")
