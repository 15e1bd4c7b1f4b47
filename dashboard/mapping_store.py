"""Where mapping sets live: ours ship as files (`dashboard.frameworks.load_mapping_sets`), the ones a user
imports are stored in the database with their provenance. One lookup serves both, ours first.

An imported set never replaces ours: it has its own id, an id of ours is refused, and the same id imported
again with other content is refused unless the caller asks to replace that (imported) set.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from dashboard.access import Principal, authorise_write
from dashboard.db import frame, rows, transaction
from dashboard.frameworks import MappingRow, MappingSet, load_mapping_sets

__all__ = ["MappingSetError", "delete_imported", "get_set", "list_sets", "save_imported", "sets_for"]


class MappingSetError(ValueError):
    """An imported set that cannot be stored (its id is taken); the message says what to do."""


def _imported(con: duckdb.DuckDBPyConnection, set_id: str | None = None) -> list[MappingSet]:
    where, params = ("WHERE id = ?", [set_id]) if set_id else ("", [])
    sets = rows(con, f"""SELECT id, name, source_framework, target_framework, version, made_by, made_on, made_from, licence,
                               reviewed_by, filename, imported_by, imported_at
                        FROM mapping_set {where} ORDER BY imported_at, id""", params)
    if not sets:
        return []
    ids = [s[0] for s in sets]
    found: dict[str, list[MappingRow]] = {i: [] for i in ids}
    for set_id_, source, target, relationship, rationale in rows(
            con, f"""SELECT set_id, source_item, target_item, relationship, rationale FROM mapping_row
                     WHERE set_id IN ({', '.join('?' for _ in ids)}) ORDER BY set_id, ord""", ids):
        found[set_id_].append(MappingRow(source=source, target=target, relationship=relationship, rationale=rationale or ""))
    return [MappingSet(id=s[0], name=s[1], source_framework=s[2], target_framework=s[3], version=s[4] or "", made_by=s[5],
                       made_on=s[6] or "", made_from=s[7] or "", licence=s[8], reviewed_by=s[9] or "", rows=tuple(found[s[0]]),
                       origin="imported", filename=s[10] or "", imported_by=s[11] or "",
                       imported_at=s[12].isoformat(sep=" ", timespec="minutes") if s[12] else "")
            for s in sets]


def sets_for(con: duckdb.DuckDBPyConnection, framework_id: str) -> list[MappingSet]:
    """The mapping sets to a framework: ours first, then the imported ones, oldest first."""
    ours = [s for s in load_mapping_sets().values() if s.target_framework == framework_id]
    return ours + [s for s in _imported(con) if s.target_framework == framework_id]


def get_set(con: duckdb.DuckDBPyConnection, set_id: str) -> MappingSet:
    """One set by id (ours or imported); a KeyError names the id when there is none."""
    ours = load_mapping_sets()
    if set_id in ours:
        return ours[set_id]
    found = _imported(con, set_id)
    if not found:
        raise KeyError(f"no mapping set with id {set_id!r}")
    return found[0]


def list_sets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every set, ours and imported, with its provenance and row counts (for the page and the command line)."""
    records = []
    for s in [*load_mapping_sets().values(), *_imported(con)]:
        records.append({"id": s.id, "name": s.name, "framework": s.target_framework, "origin": s.origin,
                        "made by": s.made_by, "made on": s.made_on, "made from": s.made_from, "licence": s.licence,
                        "reviewed by": s.reviewed_by,
                        "mappings": len(s.mapped), "no counterpart": len(s.rows) - len(s.mapped),
                        "file": s.filename, "imported by": s.imported_by, "imported at": s.imported_at})
    return pd.DataFrame(records)


def save_imported(con: duckdb.DuckDBPyConnection, mapping: MappingSet, *, content_hash: str, by: str,
                  principal: Principal, replace: bool = False) -> str:
    """Store an imported set in one transaction; returns 'imported', 'replaced' or 'unchanged' (same content again).

    Administrators and leads only (AccessDenied otherwise). An id of ours is refused; an id already imported with
    other content is refused unless `replace`.
    """
    authorise_write(con, principal, "save_imported")
    if mapping.id in load_mapping_sets():
        raise MappingSetError(f"the id {mapping.id!r} belongs to a mapping set shipped with this tool; "
                              "give your set another id (--set-id on the command line)")
    existing = rows(con, "SELECT content_hash, filename, imported_at FROM mapping_set WHERE id = ?", [mapping.id])
    if existing and existing[0][0] == content_hash:
        return "unchanged"
    if existing and not replace:
        raise MappingSetError(f"a mapping set {mapping.id!r} was already imported from {existing[0][1]} on "
                              f"{existing[0][2]:%Y-%m-%d %H:%M}; give this one another id, or replace it explicitly "
                              "(--replace on the command line, 'Replace an imported set with the same id' on the page)")
    table = pd.DataFrame([(mapping.id, n, r.source, r.target, r.relationship, r.rationale) for n, r in enumerate(mapping.rows, 1)],
                         columns=["set_id", "ord", "source_item", "target_item", "relationship", "rationale"])
    with transaction(con):
        con.execute("DELETE FROM mapping_row WHERE set_id = ?", [mapping.id])
        con.execute("DELETE FROM mapping_set WHERE id = ?", [mapping.id])
        con.execute("""INSERT INTO mapping_set (id, name, source_framework, target_framework, version, made_by, made_on,
                                                made_from, licence, reviewed_by, filename, content_hash, imported_by, imported_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [mapping.id, mapping.name, mapping.source_framework, mapping.target_framework, mapping.version,
                     mapping.made_by, mapping.made_on, mapping.made_from, mapping.licence, mapping.reviewed_by,
                     mapping.filename, content_hash, by, dt.datetime.now().replace(microsecond=0)])
        con.register("_mapping_rows", table)
        try:
            con.execute("INSERT INTO mapping_row SELECT * FROM _mapping_rows")
        finally:
            con.unregister("_mapping_rows")
    return "replaced" if existing else "imported"


def delete_imported(con: duckdb.DuckDBPyConnection, set_id: str) -> bool:
    """Remove an imported set (ours cannot be removed); True when one was removed."""
    if set_id in load_mapping_sets():
        raise MappingSetError(f"{set_id!r} is shipped with this tool and cannot be removed")
    found = frame(con, "SELECT id FROM mapping_set WHERE id = ?", [set_id])
    with transaction(con):
        con.execute("DELETE FROM mapping_row WHERE set_id = ?", [set_id])
        con.execute("DELETE FROM mapping_set WHERE id = ?", [set_id])
    return not found.empty
