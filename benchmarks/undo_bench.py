"""How long undoing an import takes, and the near-duplicate unit check, at the import benchmark's scale.

    python benchmarks/undo_bench.py [--rows 100000]

Two workbooks of the same units and rounds with other values (seeds 42 and 43, written by
`import_generate.generate`) are imported one after the other into a new database file: the first creates every
answer, the second changes most of them. Then the second import is undone (its values restored from the change
log) and then the first (every answer, round and unit it created removed). Last, the near-duplicate check of
1,500 new unit names against 500 stored ones. Every step runs in this process on a real DuckDB file; the table
gives seconds per step.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

from benchmarks.import_generate import generate  # noqa: E402
from dashboard.access import local_admin  # noqa: E402
from dashboard.db import connect  # noqa: E402
from dashboard.undo import undo_import  # noqa: E402
from dashboard.units import near_duplicates  # noqa: E402
from etl.importer import import_bytes  # noqa: E402

__all__ = ["main"]

WORDS = ("Retail", "Corporate", "Banking", "Payments", "Cards", "Group", "IT", "HR", "People", "Risk", "Compliance",
         "Legal", "Operations", "Treasury", "Marketing", "Analytics", "Wealth", "Insurance", "Claims", "Audit",
         "Security", "Data", "Digital", "Europe", "Asia", "Americas", "Services", "Lending", "Mortgages", "Finance")


def _names(rng: random.Random, count: int, suffixes: tuple[str, ...] = ("",)) -> list[str]:
    return [" ".join(rng.sample(WORDS, rng.randint(1, 3))) + rng.choice(suffixes) for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    table: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        first, second = Path(folder, "first.xlsx"), Path(folder, "second.xlsx")
        generate(first, args.rows, seed=42)
        generate(second, args.rows, seed=43)
        with connect(Path(folder, "undo.duckdb")) as con:
            ids = []
            for path, step in ((first, "import (creates)"), (second, "import (changes)")):
                started = time.perf_counter()
                result = import_bytes(con, path.name, path.read_bytes(), principal=local_admin("bench"), by="bench")
                table.append((step, result.describe().split(": ", 1)[1], time.perf_counter() - started))
                assert result.status == "imported", result.problems
                ids.append(result.import_id)
            for import_id, step in ((ids[1], "undo (restores)"), (ids[0], "undo (removes)")):
                started = time.perf_counter()
                done = undo_import(con, import_id, principal=local_admin("bench"), by="bench")
                table.append((step, done.describe().split(": ", 1)[1], time.perf_counter() - started))
    rng = random.Random(42)
    stored, new = _names(rng, 500), _names(rng, 1_500, (" Hub", " Desk", " Team", ""))
    started = time.perf_counter()
    found = near_duplicates(new, stored)
    table.append(("near-duplicate units", f"1,500 names against 500: {len(found):,} warnings",
                  time.perf_counter() - started))
    print(f"Undo benchmark, {args.rows:,} rows per workbook\n")
    print("| step | what | seconds |\n| --- | --- | ---: |")
    for step, what, seconds in table:
        print(f"| {step} | {what} | {seconds:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
