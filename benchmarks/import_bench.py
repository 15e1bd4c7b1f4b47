"""How long the import of a 100,000-row workbook takes, against reading it bare with python-calamine.

    python benchmarks/import_generate.py        # once: writes benchmarks/out/import-100k.xlsx
    python benchmarks/import_bench.py           # best and median of 3 runs each, every run in a fresh process

"bare parse" opens the workbook with python-calamine and turns its data sheet into Python values
(`to_python`), nothing else: the reference the target is set against. "fastexcel bare" is the parse the
importer itself uses (fastexcel, every cell as text into Arrow), nothing else: the floor of any import
built on it. "full import" is `etl.importer.import_bytes` on a new database file: the safety checks
(declared and real archive sizes, entity scan, first row of each sheet), reading, recognising the layout,
mapping, validating every cell and rule, creating units and assessments, writing responses, and the
commit. All start from the file's bytes in memory. Peak RSS is the process's high-water mark
(`getrusage`), so it includes Python, pandas and DuckDB themselves. The target: full <= 1.5 x bare parse,
peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

from benchmarks.import_generate import DEFAULT_OUT  # noqa: E402

__all__ = ["measure_once"]

TARGET_RATIO, TARGET_MB = 1.5, 500

BARE = """
import io, json, resource, sys, time
import python_calamine
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
seconds = time.perf_counter() - started
book.close()
print(json.dumps({"seconds": seconds, "rows": len(rows) - 1,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FASTEXCEL = """
import json, resource, sys, time
import fastexcel
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
reader = fastexcel.read_excel(data)
cells = reader.load_sheet(reader.sheet_names[0], header_row=None, dtypes="string").to_arrow()
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": cells.num_rows - 1,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FULL = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from dashboard.access import local_admin
from dashboard.catalog import load_catalog
from dashboard.db import connect
from etl.importer import import_bytes
catalog = load_catalog()
data = open(sys.argv[1], "rb").read()
marks = []
with connect(sys.argv[2], catalog=catalog) as con:
    started = time.perf_counter()
    result = import_bytes(con, sys.argv[1], data, principal=local_admin("bench"), by="benchmark", catalog=catalog,
                          progress=lambda fraction, text: marks.append(time.perf_counter()))
    seconds = time.perf_counter() - started
assert result.status == "imported", result.describe()
stages = [b - a for a, b in zip([started, *marks], marks)]
print(json.dumps({"seconds": seconds, "rows": result.rows_read, "assessments": len(result.new_assessments),
                  "stages": dict(zip(["start", "read + checks", "recognise + validate", "write + commit"], stages)),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure_once(kind: str, workbook: Path) -> dict:
    """One measurement in a fresh Python process (so that peak memory is this measurement's alone)."""
    with tempfile.TemporaryDirectory(prefix="aims-import-bench-") as folder:
        script = {"bare": BARE, "fastexcel": FASTEXCEL}.get(kind)
        args = [sys.executable, "-c", script, str(workbook)] if script else [
            sys.executable, "-c", FULL, str(workbook), str(Path(folder) / "bench.duckdb"), str(ROOT)]
        done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workbook", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.workbook.exists():
        raise SystemExit(f"{args.workbook} not found: run python benchmarks/import_generate.py first")
    bare, fast, full = [], [], []
    for _ in range(args.runs):  # alternate, so that a busy moment of the machine hits all alike
        bare.append(measure_once("bare", args.workbook))
        fast.append(measure_once("fastexcel", args.workbook))
        full.append(measure_once("full", args.workbook))
    best_bare, best_full = min(r["seconds"] for r in bare), min(r["seconds"] for r in full)
    median_bare, median_full = statistics.median(r["seconds"] for r in bare), statistics.median(r["seconds"] for r in full)
    peak_bare, peak_full = max(r["peak_mb"] for r in bare), max(r["peak_mb"] for r in full)
    fastest = min(full, key=lambda r: r["seconds"])
    size = args.workbook.stat().st_size / 2**20
    print(f"Import benchmark: {args.workbook.name}, {args.runs} runs each, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print()
    best_fast, median_fast = min(r["seconds"] for r in fast), statistics.median(r["seconds"] for r in fast)
    print("| rows | assessments | file MB | bare parse s | fastexcel bare s | full import s | full / bare parse "
          "| full / fastexcel bare | peak RSS MB (bare / full) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {fastest['rows']:,} | {fastest['assessments']:,} | {size:.1f} | {best_bare:.2f} (median {median_bare:.2f}) "
          f"| {best_fast:.2f} (median {median_fast:.2f}) | {best_full:.2f} (median {median_full:.2f}) "
          f"| {best_full / best_bare:.2f} (median {median_full / median_bare:.2f}) "
          f"| {best_full / best_fast:.2f} (median {median_full / median_fast:.2f}) | {peak_bare:.0f} / {peak_full:.0f} |")
    print()
    print("Fastest full import by stage: " + ", ".join(f"{k} {v:.2f} s" for k, v in fastest["stages"].items() if k != "start"))
    ratio_ok, memory_ok = best_full / best_bare <= TARGET_RATIO, peak_full < TARGET_MB
    print(f"Targets: full <= {TARGET_RATIO} x bare parse: {'met' if ratio_ok else 'NOT met'}; "
          f"peak memory < {TARGET_MB} MB: {'met' if memory_ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
