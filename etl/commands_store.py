"""`python -m etl migrate-store --from FILE --to URL` (and back): copy a whole store between a DuckDB file and a
PostgreSQL database, history included, checked on arrival (see dashboard.store_copy)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def _migrate(args: argparse.Namespace) -> int:
    from dashboard.store_copy import CopyError, copy_store

    try:
        copied = copy_store(args.source, args.target)
    except CopyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(copied.describe())
    return 0


def register(commands: Any) -> None:
    move = commands.add_parser(
        "migrate-store", help="copy everything (history included) from one store into a new one: a DuckDB file or "
                              "a postgresql:// URL, either way; checks counts and scores on arrival")
    move.add_argument("--from", dest="source", required=True, help="the store to copy: a DuckDB file or a URL")
    move.add_argument("--to", dest="target", required=True,
                      help="the new store: a DuckDB file (created) or postgresql://user@host:port/dbname (empty)")
    move.set_defaults(run=_migrate)
