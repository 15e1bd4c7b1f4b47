"""How long the responses export of a large organisation takes, its peak memory, and whether it imports again.

    python benchmarks/generate_org.py --units 500 --rounds 8     # once: benchmarks/out/org500.duckdb
    python benchmarks/export_bench.py                            # CSV and Excel, each in a fresh process
    python benchmarks/export_bench.py --reimport                 # and import the files into a new database

Each export is `python -m etl export responses --format F --out DIR/responses.F` on a copy of the
database, run as its own process: "export s" is its wall time, "peak RSS MB" its high-water mark
(`wait4`'s ru_maxrss: Python, pandas, DuckDB and the export together). "files" and "largest MB" say how
the export was cut to stay within the import limits (`AIMS_MAX_UPLOAD_MB`, a workbook's 200 MB unpacked).
With `--reimport`, every file of one export is imported into a new database in one `python -m etl import`
process (time and peak RSS), and the items it holds answered (a maturity, or not applicable) are counted against the original's.
The target (issue 11): every export imports again, the Excel export's peak under 500 MB at 500 x 8.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

__all__ = ["main", "run"]

DEFAULT_DB = ROOT / "benchmarks" / "out" / "org500.duckdb"
TARGET_MB = 500


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run `python -m etl ...` as a child; return (wall seconds, peak RSS MB, its stdout). Fails loudly."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "etl", *command], cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # reaped here, so the child's own peak memory is ours to read
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, problems = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"python -m etl {' '.join(command)} failed ({child.returncode}):\n{problems}")
    return seconds, usage.ru_maxrss / 1024, printed


def responses_in(db: Path, env: dict[str, str]) -> int:
    code = ("import sys; from dashboard.db import connect\n"
            "with connect(sys.argv[1]) as con:\n"
            "    print(con.execute('SELECT count(*) FROM response WHERE maturity IS NOT NULL OR NOT applicable')"
            ".fetchall()[0][0])")
    return int(subprocess.run([sys.executable, "-c", code, str(db)], cwd=ROOT, env=env, check=True,
                              capture_output=True, text=True).stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(DEFAULT_DB), help="the organisation (benchmarks/generate_org.py)")
    parser.add_argument("--format", action="append", choices=("csv", "xlsx"), help="csv, xlsx or both (default)")
    parser.add_argument("--reimport", action="store_true", help="import the exported files into a new database")
    parser.add_argument("--max-upload-mb", help="AIMS_MAX_UPLOAD_MB for the export and the import (default: the setting)")
    args = parser.parse_args(argv)
    source = Path(args.db)
    if not source.exists():
        raise SystemExit(f"{source} not found: run python benchmarks/generate_org.py --out {source} first")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMS_")}
    env.update({"AIMS_USER": "export-bench", "PYTHONPATH": str(ROOT)})
    if args.max_upload_mb:
        env["AIMS_MAX_UPLOAD_MB"] = args.max_upload_mb
    lines = ["| format | rows | files | largest MB | total MB | export s | peak RSS MB | "
             + ("re-import s | re-import peak MB | answered items after re-import |" if args.reimport else ""),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |" + (" ---: | ---: | ---: |" if args.reimport else "")]
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="export-bench-") as scratch_name:
        scratch = Path(scratch_name)
        db = scratch / "org.duckdb"
        shutil.copyfile(source, db)
        expected = responses_in(db, env)
        for fmt in args.format or ["csv", "xlsx"]:
            folder = scratch / fmt
            folder.mkdir()
            seconds, peak, out = run(["--db", str(db), "export", "responses", "--format", fmt,
                                      "--out", str(folder / f"responses.{fmt}")], env)
            rows = int(re.search(r"Wrote (\d+) rows", out).group(1))  # type: ignore[union-attr]
            files = sorted(folder.glob(f"*.{fmt}"))
            sizes = [f.stat().st_size / 2**20 for f in files]
            peaks[fmt] = peak
            line = (f"| {fmt} | {rows:,} | {len(files)} | {max(sizes):.1f} | {sum(sizes):.1f} | {seconds:.1f} | "
                    f"{peak:.0f} |")
            if args.reimport:
                copy = scratch / f"reimport-{fmt}.duckdb"
                again, again_peak, _ = run(["--db", str(copy), "import", *map(str, files)], env)
                line += f" {again:.1f} | {again_peak:.0f} | {responses_in(copy, env):,} of {expected:,} |"
            lines.append(line)
    print("\n".join(lines))
    if "xlsx" in peaks:
        print(f"Target: Excel export peak under {TARGET_MB} MB: {'met' if peaks['xlsx'] < TARGET_MB else 'NOT met'} "
              f"({peaks['xlsx']:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
