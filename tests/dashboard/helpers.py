"""Small builders for the dashboard core tests (plain functions, imported by the test modules)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd

from dashboard import store
from dashboard.store import RESPONSE_FIELDS

BY = "tester"


def new_assessment(
    con: duckdb.DuckDBPyConnection,
    unit: str,
    label: str,
    *,
    scope: str = "both",
    assessed_on: dt.date | None = None,
    default_target: int = 3,
) -> store.Assessment:
    return store.create_assessment(
        con, unit=unit, label=label, scope=scope, catalog_version="test",
        assessed_on=assessed_on, default_target=default_target,
    )


def stage(assessment_id: int, rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """A staged frame for `upsert_responses`: item id -> the fields given; every other field NA."""
    records = []
    for item_id, fields in rows.items():
        unknown = set(fields) - set(RESPONSE_FIELDS)
        assert not unknown, unknown
        record: dict[str, Any] = {"assessment_id": assessment_id, "item_id": item_id}
        record.update({f: fields.get(f) for f in RESPONSE_FIELDS})
        records.append(record)
    return pd.DataFrame(records, columns=["assessment_id", "item_id", *RESPONSE_FIELDS])
