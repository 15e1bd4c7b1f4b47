"""Load the demo data set the way a governance lead would: one canonical workbook per unit, imported."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd

from dashboard import store
from dashboard.access import Principal
from dashboard.catalog import Catalog, load_catalog
from dashboard.db import transaction
from etl.demo_data import DEMO_DRAFT_ROUNDS, DEMO_ORGANISATION, build_demo_rows
from etl.exports import RESPONSE_COLUMNS, to_xlsx
from etl.importer import FileResult, import_bytes

__all__ = ["DEMO_ORGANISATION", "demo_workbooks", "load_demo"]

# a fixed creation time keeps the workbooks byte-identical, so re-running `demo` is recognised as done
_CREATED = dt.datetime(2026, 9, 1, 9, 0, 0)


def demo_workbooks(catalog: Catalog) -> list[tuple[str, bytes]]:
    """The demo data as (file name, .xlsx bytes), one canonical workbook per business unit."""
    rows = pd.DataFrame(build_demo_rows(catalog.items, default_target=catalog.scale.default_target))
    rows["section"] = [catalog.by_id[i].section for i in rows["item_id"]]
    books = []
    for unit, part in rows.groupby("unit", sort=True):
        slug = re.sub(r"[^a-z0-9]+", "-", str(unit).lower()).strip("-")
        sheet = part.loc[:, list(RESPONSE_COLUMNS)]
        books.append((f"demo-{slug}.xlsx", to_xlsx([("Responses", sheet)], created=_CREATED)))
    return books


def load_demo(con: duckdb.DuckDBPyConnection, *, principal: Principal, by: str,
              catalog: Catalog | None = None) -> list[FileResult]:
    """Import every demo workbook, then finalise the rounds that are not meant to stay drafts."""
    catalog = catalog or load_catalog()
    results = [import_bytes(con, name, data, principal=principal, by=by, catalog=catalog, source="demo")
               for name, data in demo_workbooks(catalog)]
    if all(r.ok for r in results):
        with transaction(con):
            for row in store.list_assessments(con).itertuples():
                if row.source == "demo" and row.status == "draft" and (row.unit, row.label) not in DEMO_DRAFT_ROUNDS:
                    store.set_status(con, int(row.id), "final", by)
    return results
