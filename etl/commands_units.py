"""`python -m etl imports | undo-import ID | merge-units FROM INTO | similar-units`: the imports made so far and
taking one back, and business units that look alike and merging them (see dashboard.undo, dashboard.units)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _user() -> str:
    from etl.cli import _user

    return _user()


def _imports(args: argparse.Namespace) -> int:
    from dashboard import store
    from dashboard.db import connect

    with connect(args.db, on_wait=_err) as con:
        files = store.list_imports(con)
    if files.empty:
        print("No file imported yet.")
        return 0
    for row in files.itertuples():
        undone = f" — undone {row.undone}" if isinstance(row.undone, str) else ""
        print(f"{row.id}\t{row.imported_at:%Y-%m-%d %H:%M}\t{row.imported_by}\t{row.file}\t{row.rows} rows\t"
              f"{row.new_responses or 0} new, {row.updated_responses or 0} updated{undone}")
    return 0


def _undo(args: argparse.Namespace) -> int:
    from dashboard.access import local_admin
    from dashboard.db import connect
    from dashboard.undo import UndoRefused, undo_import

    with connect(args.db, on_wait=_err) as con:
        try:
            result = undo_import(con, args.id, principal=local_admin(_user()), by=_user())
        except UndoRefused as exc:
            _err(f"error: {exc}")
            for row in exc.conflicts.itertuples():
                item = f" {row.item}" if isinstance(row.item, str) else ""
                field = f" {row.field}" if isinstance(row.field, str) else ""
                who = f" by {row.changed_by} ({row.source}, {row.changed_at:%Y-%m-%d %H:%M})" \
                    if isinstance(row.changed_by, str) else ""
                _err(f"  {row.unit} {row.round}{item}{field}: {row.why}{who}")
            return 2
    print(result.describe())
    return 0


def _merge(args: argparse.Namespace) -> int:
    from dashboard.access import local_admin
    from dashboard.db import connect
    from dashboard.units import UnitClash, merge_units

    with connect(args.db, on_wait=_err) as con:
        try:
            result = merge_units(con, args.source, args.target, principal=local_admin(_user()), by=_user())
        except UnitClash as exc:
            _err(f"error: {exc}")
            return 2
    print(result.describe())
    return 0


def _similar(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from dashboard.units import similar_unit_pairs

    with connect(args.db, on_wait=_err) as con:
        pairs = similar_unit_pairs(con)
    for first, second, reason in pairs:
        print(f"{first}\t{second}\t{reason}")
    if not pairs:
        print("No two units look alike.")
    return 0


def register(commands: Any) -> None:
    """Add the import-history and unit commands to the `python -m etl` parser."""
    imports = commands.add_parser("imports", help="list the imported files, newest first, with their ids")
    imports.set_defaults(run=_imports)

    undo = commands.add_parser(
        "undo-import", help="take back one import (refused if its answers were changed since or a round is final)",
        description="Remove the answers and rounds the import created and put back the values it changed. Refused, "
                    "with the list, when an answer it touched was changed since or a round it touched is finalised.")
    undo.add_argument("id", type=int, metavar="ID", help="the import's id (see `python -m etl imports`)")
    undo.set_defaults(run=_undo)

    merge = commands.add_parser(
        "merge-units", help="move every round of unit FROM to unit INTO, then remove FROM",
        description="Refused when both units have a round with the same label (both are named).")
    merge.add_argument("source", metavar="FROM", help="the unit to merge away")
    merge.add_argument("target", metavar="INTO", help="the unit that keeps the rounds")
    merge.set_defaults(run=_merge)

    similar = commands.add_parser("similar-units", help="list pairs of units whose names look alike")
    similar.set_defaults(run=_similar)
