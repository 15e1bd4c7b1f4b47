"""The SoA's inclusion justification through import: recognised under its usual names, kept apart from the
exclusion justification, never required (a missing one is a warning on the SoA, not an import error), and
exported and imported back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import scoring, store
from dashboard.db import connect
from etl import exports
from etl.canonical import COLUMNS
from etl.importer import import_bytes
from etl.layouts import match_header
from etl.template import build_template
from tests.principals import ADMIN

BY = "tester"


@pytest.mark.parametrize("header", ["Reason for inclusion", "Inclusion justification", "inclusion_justification",
                                    "Justification for inclusion", "Risks treated"])
def test_inclusion_headers_are_recognised_apart_from_the_exclusion_reason(header: str) -> None:
    assert match_header(header) == ("inclusion_justification", True)
    assert match_header("Justification for exclusion") == ("justification", True)
    assert match_header("Justification") == ("justification", True)


def _rows() -> list[dict[str, object]]:
    base = {"unit": "Ops", "assessment": "2026-Q3", "assessed_on": "2026-09-30"}
    return [
        {**base, "item_id": "A.2.2", "maturity": 2, "applicable": "yes", "reason for exclusion": "",
         "reason for inclusion": "Treats risk R-01: unmanaged AI use"},
        {**base, "item_id": "A.2.3", "maturity": 1, "applicable": "yes", "reason for exclusion": "",
         "reason for inclusion": ""},  # none given: imported, flagged on the SoA
        {**base, "item_id": "A.10.4", "maturity": "", "applicable": "no", "reason for exclusion": "No customers",
         "reason for inclusion": ""},
    ]


def test_import_keeps_it_and_the_round_trip_is_identical(make_xlsx, tmp_path: Path) -> None:
    with connect(tmp_path / "a.duckdb") as con:
        result = import_bytes(con, "soa.xlsx", make_xlsx(_rows(), list(_rows()[0])), by=BY, principal=ADMIN)
        assert result.status == "imported", [str(p) for p in result.problems]
        assert not [p for p in result.problems if p.severity == "error"]
        saved = store.responses(con, principal=ADMIN).set_index("item_id")
        assert saved.loc["A.2.2", "inclusion_justification"] == "Treats risk R-01: unmanaged AI use"
        assert saved.loc["A.10.4", "justification"] == "No customers"
        soa = scoring.statement_of_applicability(con, int(saved.loc["A.2.2", "assessment_id"])).set_index("control")
        assert soa.loc["A.2.2", "justification"] == "Treats risk R-01: unmanaged AI use"
        assert "A.2.3" in scoring.unjustified_controls(soa.reset_index())
        table = exports.responses_table(store.responses(con, principal=ADMIN))
        assert list(table.columns) == list(COLUMNS) and "inclusion_justification" in COLUMNS
        exported = exports.to_xlsx([("Responses", table)])
        before = sorted(map(tuple, table.astype(str).to_numpy()))
    with connect(tmp_path / "b.duckdb") as other:
        again = import_bytes(other, "export.xlsx", exported, by=BY, principal=ADMIN)
        assert again.status == "imported", [str(p) for p in again.problems]
        after = exports.responses_table(store.responses(other, principal=ADMIN))
        assert sorted(map(tuple, after.astype(str).to_numpy())) == before
        # importing the same export again changes nothing
        third = import_bytes(other, "export.xlsx", exported, by=BY, principal=ADMIN)
        assert sorted(map(tuple, exports.responses_table(store.responses(other, principal=ADMIN)).astype(str).to_numpy())) == before
        assert third.status == "already imported"


def test_the_template_has_the_column(catalog) -> None:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(build_template(catalog)))
    assert [c.value for c in book["Responses"][1]] == list(COLUMNS)
    assert any("inclusion_justification" in (r[0] or "") for r in book["Instructions"].iter_rows(values_only=True))
