"""Tables of cases for the pieces of the import that need no file and no database."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from etl.layouts import match_header
from etl.mapping import Mapping, MappingError, load_mapping
from etl.preview import listing
from etl.values import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    PARTIAL,
    BadValue,
    fold,
    parse_applicable,
    parse_date,
    parse_item_id,
    parse_maturity,
    parse_status,
    partial_level,
)


@pytest.mark.parametrize(("header", "field", "sure"), [
    ("item_id", "item_id", True), ("Item ID", "item_id", True), ("Ref.", "item_id", True),
    ("Control", "item_id", True), ("Exigence", "item_id", True), ("Anforderung", "item_id", True),
    ("Business Unit", "unit", True), ("Unité", "unit", True), ("Geschäftseinheit", "unit", True),
    ("Maturity (0-5)", "maturity", True), ("Reifegrad", "maturity", True), ("Nivel de madurez", "maturity", True),
    ("Current maturity rating", "maturity", True), ("Maturity as judged", "maturity", False), ("Compliance status", "status", True),
    ("Fälligkeit", "due_date", True), ("Échéance", "due_date", True), ("Due date", "due_date", True),
    ("Date", "assessed_on", True), ("Preuves", "evidence", True), ("Commentaires", "notes", True),
    ("Justification for exclusion", "justification", True), ("Applicable?", "applicable", True),
    ("Title", "title", True), ("Evidence examples", "evidence", False),
    ("Area", None, False), ("Questions", None, False), ("A very long header that says many different things", None, False),
])
def test_header_names(header: str, field: str | None, sure: bool) -> None:
    assert match_header(header) == (field, sure)


@pytest.mark.parametrize(("raw", "annex", "expected"), [
    ("6.1.2", False, "6.1.2"), ("A.6.2.4", False, "A.6.2.4"), ("A6.2.4", False, "A.6.2.4"),
    ("a 6.2.4", False, "A.6.2.4"), ("6.2.4", True, "A.6.2.4"), ("A.6.2.4", True, "A.6.2.4"),
    ("5.2 AI policy", False, "5.2"), ("5.2", True, "A.5.2"), (5.2, False, "5.2"), ("10.2", False, "10.2"),
    ("6.2.4 – Verification", True, "A.6.2.4"), (None, False, None),
])
def test_item_ids(catalog, raw: object, annex: bool, expected: str | None) -> None:
    assert parse_item_id(raw, catalog, annex=annex) == expected


@pytest.mark.parametrize(("raw", "annex", "hint"), [
    ("2.2", False, "write A.2.2"), ("6.2.4", False, ""), ("4.1", True, ""),
    ("A.11.1", False, ""), ("Policy", False, "such as"),
])
def test_unknown_item_ids(catalog, raw: str, annex: bool, hint: str) -> None:
    with pytest.raises(BadValue) as caught:
        parse_item_id(raw, catalog, annex=annex)
    assert hint in caught.value.expected


@pytest.mark.parametrize(("raw", "expected"), [
    (0, 0), (5.0, 5), ("3", 3), ("3 - Defined", 3), ("3 – Defined", 3), ("4: Measured", 4), ("Optimising", 5),
    ("quantitatively managed", 4), ("None", 0), ("Compliant", COMPLIANT), ("partially compliant", PARTIAL),
    ("Non conforme", NON_COMPLIANT), ("N/A", NOT_APPLICABLE), ("n.a.", NOT_APPLICABLE), ("TBD", NOT_ASSESSED),
    ("Nicht erfüllt", NON_COMPLIANT), ("Cumple parcialmente", PARTIAL), (None, None),
])
def test_maturity_cells(catalog, raw: object, expected: object) -> None:
    assert parse_maturity(raw, catalog.scale) == expected


@pytest.mark.parametrize("raw", [6, -1, 2.5, "great", "7 - Beyond", True])
def test_bad_maturity_cells(catalog, raw: object) -> None:
    with pytest.raises(BadValue):
        parse_maturity(raw, catalog.scale)


@pytest.mark.parametrize(("raw", "expected"), [("Compliant", COMPLIANT), ("  PARTIAL ", PARTIAL), ("gap", NON_COMPLIANT),
                                               ("Sans objet", NOT_APPLICABLE), ("Pending", NOT_ASSESSED)])
def test_status_words(raw: str, expected: str) -> None:
    assert parse_status(raw) == expected


@pytest.mark.parametrize(("target", "level"), [(5, 2), (4, 2), (3, 2), (2, 1), (1, 1), (0, 1)])
def test_partial_is_below_a_target_of_two_or_more_and_never_zero(target: int, level: int) -> None:
    assert partial_level(target) == level


@pytest.mark.parametrize(("raw", "expected"), [
    ("yes", True), ("Y", True), (True, True), (1, True), ("Applicable", True), ("oui", True), ("Sí", True),
    ("no", False), ("N", False), ("FALSE", False), (0.0, False), ("Excluded", False), ("N/A", False),
    ("non applicable", False), ("Nicht anwendbar", False), ("No aplica", False), (None, None), ("  ", None),
])
def test_applicable_words(raw: object, expected: bool | None) -> None:
    assert parse_applicable(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (dt.datetime(2026, 3, 1, 0, 0), dt.date(2026, 3, 1)), (dt.date(2026, 3, 1), dt.date(2026, 3, 1)),
    ("2026-03-01", dt.date(2026, 3, 1)), ("2026-03-01T09:30", dt.date(2026, 3, 1)), (None, None),
    ("2026-03-01 00:00:00", dt.date(2026, 3, 1)), ("2026-03-01 13:05:00", dt.date(2026, 3, 1)),  # as the reader gives dates
])
def test_dates(raw: object, expected: dt.date | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["01/03/2026", "2026-3-1", "2026-03-01xyz", "March 1", "2026-02-30",
                                 "1899-12-31 10:30:00"])  # a time of day alone, as the reader gives it
def test_ambiguous_or_bad_dates(raw: str) -> None:
    with pytest.raises(BadValue):
        parse_date(raw)


def test_fold_drops_case_accents_and_punctuation() -> None:
    assert fold("  Fälligkeit (Datum)! ") == "falligkeit datum"
    assert fold("N/A") == "n/a" and fold("Straße") == "strasse"


@pytest.mark.parametrize(("text", "expected"), [
    ('{"maturity": "Score"}', Mapping(columns={"maturity": "Score"})),
    ('{"columns": {"unit": "C"}, "notes": null}', Mapping(columns={"unit": "C", "notes": None})),
    ('{"sheet": "Data", "header_row": 4}', Mapping("Data", 4)),
    ("", Mapping()),
])
def test_mapping_json(text: str, expected: Mapping) -> None:
    assert Mapping.from_json(text) == expected
    assert Mapping.from_json(expected.to_json()) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("[1, 2]", "JSON object"), ('{"colour": "B"}', "unknown field"), ('{"maturity": 3}', "header text"),
    ('{"header_row": "4"}', "header_row"), ('{"sheet": 2}', "sheet"), ("{oops", "not valid JSON"),
])
def test_bad_mappings(text: str, says: str) -> None:
    with pytest.raises(MappingError) as caught:
        Mapping.from_json(text)
    assert says in str(caught.value)


def test_mapping_from_a_file_or_text(tmp_path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"maturity": "Grade"}), encoding="utf-8-sig")
    assert load_mapping(str(path)) == load_mapping('{"maturity": "Grade"}') == Mapping(columns={"maturity": "Grade"})
    with pytest.raises(MappingError, match="neither JSON text nor an existing"):
        load_mapping(str(tmp_path / "missing.json"))


@pytest.mark.parametrize(("values", "text"), [
    (["A"], "A"), ([f"U{n}" for n in range(8)], "U0, U1, U2, U3, U4, U5, U6, U7"),
    ([f"U{n}" for n in range(1429)], "U0, U1, U2, U3, U4, U5, U6, U7 and 1,421 more"),
])
def test_long_lists_of_units_are_shortened(values: list[str], text: str) -> None:
    assert listing(values) == text
