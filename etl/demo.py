"""Load the demo data set the way a governance lead would: one canonical workbook per unit, imported."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd

from dashboard import roadmap, store
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
    rows = _due_dates_in_phase(pd.DataFrame(build_demo_rows(catalog.items, default_target=catalog.scale.default_target)),
                               catalog)
    rows["section"] = [catalog.by_id[i].section for i in rows["item_id"]]
    books = []
    for unit, part in rows.groupby("unit", sort=True):
        slug = re.sub(r"[^a-z0-9]+", "-", str(unit).lower()).strip("-")
        sheet = part.loc[:, list(RESPONSE_COLUMNS)]
        books.append((f"demo-{slug}.xlsx", to_xlsx([("Responses", sheet)], created=_CREATED)))
    return books


def _due_dates_in_phase(rows: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Move each demo due date into the window of the phase the roadmap plans its action in (the one rule,
    `dashboard.roadmap.prioritise`), keeping where it fell in the 3-12 months it was drawn from: a lead's plan
    has its urgent actions due soon, and the demo should not show 'Now' actions due in a year."""
    phases = {p.name: p for p in roadmap.PHASES}
    target = pd.to_numeric(rows["target"]).fillna(catalog.scale.default_target)
    maturity = pd.to_numeric(rows["maturity"])
    below = (rows["applicable"] == "yes") & maturity.notna() & (maturity < target)
    actions = pd.DataFrame({"assessment_id": rows["unit"] + "\x1f" + rows["assessment"], "item_id": rows["item_id"],
                            "gap": (target - maturity)})[below]
    actions["gap"] = actions["gap"].astype(int)
    for index, name in roadmap.prioritise(actions, catalog)["phase"].items():
        if not rows.at[index, "due_date"]:
            continue
        when, due = (dt.date.fromisoformat(rows.at[index, c]) for c in ("assessed_on", "due_date"))
        drawn = (due.year - when.year) * 12 + due.month - when.month  # 3 to 12 months after the round
        phase = phases[name]
        placed = roadmap.add_months(when, phase.start_months + 1 + (drawn - 3) % (phase.end_months - phase.start_months))
        rows.at[index, "due_date"] = min(placed, roadmap.add_months(when, phase.end_months)).isoformat()
    return rows


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
