"""Moving a store between a DuckDB file and a PostgreSQL server (`python -m etl migrate-store --from A --to B`).

Everything is copied, table by table, history included (change log, imports, role grants, summaries, proposals,
mapping sets…), ids kept, in one transaction on the target; the target's id sequences then continue after the
copied ids. On arrival the row count of every table and the scores of every assessment are compared with the
source's; any other difference than a half rounded the other way (see `_compare_scores`) rolls the copy back.
The target must be new (both ends are migrated to the same schema version first): copying over existing data
would mix two histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard import pg, scoring
from dashboard.db import connect, rows, transaction

__all__ = ["Copied", "CopyError", "copy_store", "data_tables"]

# filled by the migrations and the catalog sync on the target; replaced by the source's rows
_REPLACED = ("catalog_item", "catalog_section", "meta")
_SKIPPED = ("schema_version",)
# a table's id column and the sequence that numbers it
_SEQUENCES = {"unit": "unit_id_seq", "assessment": "assessment_id_seq", "import_batch": "import_batch_id_seq",
              "change_log": "change_log_id_seq"}


class CopyError(RuntimeError):
    """The copy was refused or did not arrive whole (nothing was written)."""


@dataclass(frozen=True)
class Copied:
    source: str
    target: str
    counts: dict[str, int]
    assessments_scored: int
    off_by_rounding: int = 0

    def describe(self) -> str:
        total = sum(self.counts.values())
        listed = ", ".join(f"{name} {count}" for name, count in self.counts.items() if count)
        figures = "1 figure differs" if self.off_by_rounding == 1 else f"{self.off_by_rounding} figures differ"
        rounding = (f" ({figures} by one in the last decimal: a half rounded the other way after adding in another "
                    "order)") if self.off_by_rounding else ""
        return (f"Copied {total} rows from {self.source} to {self.target} ({listed}); counts match and the scores of "
                f"{self.assessments_scored} assessments recomputed on arrival agree{rounding}.")


def data_tables(con: Any) -> list[str]:
    """The store's tables, in name order, without the migrations' bookkeeping."""
    found = rows(con, """SELECT table_name FROM information_schema.tables
                         WHERE table_schema IN ('main', 'public') AND table_type = 'BASE TABLE'
                         ORDER BY table_name""")
    return [name for (name,) in found if name not in _SKIPPED]


def _columns(con: Any, table: str) -> list[str]:
    found = rows(con, """SELECT column_name FROM information_schema.columns
                         WHERE table_schema IN ('main', 'public') AND table_name = ? ORDER BY ordinal_position""",
                 [table])
    return [name for (name,) in found]


def _read(con: Any, table: str, columns: list[str]) -> pd.DataFrame:
    listed = ", ".join(columns)
    found = con.execute(f"SELECT {listed} FROM {table}").df()
    return found


def _label(db: Any) -> str:
    return pg.redact_url(str(db)) if pg.is_url(str(db)) else str(db)


def _continue_sequences(con: Any, table: str, sequence: str) -> None:
    """The target's sequence continues after the highest copied id."""
    top = rows(con, f"SELECT coalesce(max(id), 0) FROM {table}")[0][0]
    if not top:
        return
    if isinstance(con, pg.PgConnection):
        con.execute(f"SELECT setval('{sequence}', ?)", [int(top)])
    else:  # DuckDB cannot set a sequence: draw it up to the highest id
        current = rows(con, f"SELECT nextval('{sequence}')")[0][0]
        if current < top:
            con.execute(f"SELECT max(nextval('{sequence}')) FROM range(?)", [int(top - current)])


def _scores(con: Any) -> pd.DataFrame:
    ids = [int(i) for (i,) in rows(con, "SELECT id FROM assessment ORDER BY id")]
    found = scoring.assessment_scores(con, ids).sort_values("assessment_id").reset_index(drop=True)
    return found.astype(object).where(found.notna(), None)  # compared by value: Int32 2 and float 2.0 are equal


def copy_store(source: Any, target: Any) -> Copied:
    """Copy every table of `source` into the new store `target` (a file path or a postgresql:// URL)."""
    if str(source) == str(target):
        raise CopyError("The source and the target are the same store.")
    with connect(source) as src, connect(target) as dst:
        tables = data_tables(src)
        missing = sorted(set(tables) - set(data_tables(dst)))
        if missing:
            raise CopyError(f"The target lacks the tables {', '.join(missing)}: is it an older version of the app?")
        busy = [t for t in tables if t not in _REPLACED and rows(dst, f"SELECT count(*) FROM {t}")[0][0]]
        if busy:
            raise CopyError(f"The target {_label(target)} already holds data ({', '.join(busy)}); "
                            "copy into a new database or file.")
        counts: dict[str, int] = {}
        with transaction(dst):
            for table in tables:
                columns = _columns(src, table)
                data = _read(src, table, columns)
                if table in _REPLACED:
                    dst.execute(f"DELETE FROM {table}")
                counts[table] = len(data)
                if data.empty:
                    continue
                dst.register("_copied", data)
                try:
                    listed = ", ".join(columns)
                    dst.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM _copied")
                finally:
                    dst.unregister("_copied")
            for table, sequence in _SEQUENCES.items():
                _continue_sequences(dst, table, sequence)
            arrived = {t: rows(dst, f"SELECT count(*) FROM {t}")[0][0] for t in tables}
            wrong = {t: (counts[t], arrived[t]) for t in tables if counts[t] != arrived[t]}
            if wrong:
                raise CopyError("Counts differ after the copy (sent, arrived): "
                                + ", ".join(f"{t} {a} vs {b}" for t, (a, b) in wrong.items()))
            before, after = _scores(src), _scores(dst)
            off_by_rounding = _compare_scores(before, after)
    return Copied(_label(source), _label(target), counts, len(before), off_by_rounding)


def _compare_scores(before: pd.DataFrame, after: pd.DataFrame) -> int:
    """Raise CopyError unless the scores agree; return how many figures differ by one in the last decimal shown.

    The two engines add floating numbers in a different order, so a mean that is a half in the last decimal
    (x.xx5) may round up on one and down on the other (1 figure of 36,000 at 500 units x 8 rounds); anything
    more is a failed copy."""
    if list(before.columns) != list(after.columns) or len(before) != len(after):
        raise CopyError("The scores recomputed on arrival have other rows or columns than the source's.")
    last = 10.0 ** -scoring.DECIMALS
    off = 0
    for column in before.columns:
        for a, b in zip(before[column], after[column], strict=True):
            if a == b or (a is None and b is None):
                continue
            if isinstance(a, float) and isinstance(b, float) and abs(a - b) <= last * 1.0001:
                off += 1
                continue
            raise CopyError(f"The scores recomputed on arrival differ from the source's: {column} {a!r} != {b!r}.")
    return off
