"""How fast and in how much memory hostile wide files are refused (issue 11's audit: a 100,000-column CSV
took 74 s, 1,000,000 columns over 300 s and 2.2 GB).

    python benchmarks/wide_files.py

Each case runs `etl.importer.validate_bytes` (read, recognise, validate: what the command line does before
it opens the database) in a fresh process, on bytes built in memory; the table gives the wall time of the
validation and the process's peak RSS (`getrusage`, so it includes Python, pandas and pyarrow themselves).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASE = """
import io, json, resource, sys, time
sys.path.insert(0, {root!r})
import openpyxl
from dashboard.catalog import load_catalog
from etl.importer import validate_bytes

kind, columns, rows, header = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
if kind == "csv":
    lines = [",".join(f"c{{i}}" for i in range(columns))] if header else []
    lines += [",".join(str(i % 6) for i in range(columns)) for _ in range(rows)]
    data, name = ("\\r\\n".join(lines) + "\\r\\n").encode(), "wide.csv"
else:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Data")
    for _ in range(rows):
        sheet.append([str(i % 6) for i in range(columns)])
    out = io.BytesIO(); book.save(out); data, name = out.getvalue(), "wide.xlsx"
catalog = load_catalog()
start = time.perf_counter()
batch, report = validate_bytes(name, data, catalog, unit="Ops", label="R1")
took = time.perf_counter() - start
print(json.dumps({{"bytes": len(data), "seconds": took, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "refused": not report.ok, "message": str(report.errors[0]) if report.errors else ""}}))
"""

CASES = [("csv", 500, 1_000, True), ("csv", 10_000, 1, True), ("csv", 100_000, 1, True), ("csv", 1_000_000, 1, True),
         ("csv", 2_000, 120, False), ("xlsx", 2_000, 120, False), ("xlsx", 16_384, 10, False)]


def main() -> None:
    print(f"{'file':<44} {'size':>9} {'refused':>8} {'seconds':>8} {'peak MB':>8}")
    for kind, columns, rows, header in CASES:
        out = subprocess.run([sys.executable, "-c", CASE.format(root=str(ROOT)), kind, str(columns), str(rows),
                              "1" if header else "0"], capture_output=True, text=True, check=True)
        got = json.loads(out.stdout)
        label = f"{kind} {columns:,} columns x {rows} rows{'' if header else ' (no header)'}"
        print(f"{label:<44} {got['bytes'] / 1024:>7.0f}KB {got['refused']!s:>8} {got['seconds']:>8.2f} "
              f"{got['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
