"""`migrate-store` round trip, file -> PostgreSQL server -> file, for the demo and an organisation, with timings.

    python benchmarks/migrate_roundtrip.py [--db benchmarks/out/org500.duckdb]

Starts a throwaway PostgreSQL server (tests/pg.py), builds the demo file (`python -m etl demo`), and for the demo
and `--db` runs, as a user would, `python -m etl migrate-store --from FILE --to URL`, then `--from URL --to NEW
FILE`, then `python -m etl export responses|scores|assessments --format csv` from the file, the server and the new
file, and checks that the exports are byte for byte the same. Prints each command with its time; exits non-zero on
any difference.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _etl(*args: str) -> float:
    shown = " ".join("postgresql://…/" + a.rsplit("/", 1)[1] if a.startswith("postgresql://") else a for a in args)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    print(f"$ python -m etl {shown}  [{took:.1f} s]", flush=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return took


def round_trip(name: str, source: Path, url: str, work: Path) -> bool:
    back = work / f"{name}-back.duckdb"
    _etl("migrate-store", "--from", str(source), "--to", url)
    _etl("migrate-store", "--from", url, "--to", str(back))
    same = True
    for what in ("responses", "scores", "assessments"):
        written = {}
        for where, db in (("file", str(source)), ("server", url), ("back", str(back))):
            _etl("--db", db, "export", what, "--format", "csv", "--out", str(work / f"{name}-{what}-{where}.csv"))
            written[where] = sorted(work.glob(f"{name}-{what}-{where}*.csv"))  # a large export comes in parts
        for where in ("server", "back"):
            ok = len(written[where]) == len(written["file"]) and all(
                filecmp.cmp(a, b, shallow=False) for a, b in zip(written["file"], written[where], strict=True))
            print(f"  {name} {what}: {where} {'identical to' if ok else 'DIFFERS from'} the file "
                  f"({len(written[where])} file(s))", flush=True)
            same &= ok
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "org500.duckdb"))
    args = parser.parse_args(argv)
    from tests.pg import PgServer

    with tempfile.TemporaryDirectory(prefix="aims-roundtrip-") as folder, PgServer() as server:
        work = Path(folder)
        demo = work / "demo.duckdb"
        _etl("--db", str(demo), "demo")
        org = work / "org.duckdb"
        shutil.copyfile(args.db, org)  # never the kept file
        same = [round_trip(name, source, server.new_database(), work) for name, source in (("demo", demo), ("org", org))]
    return 0 if all(same) else 1


if __name__ == "__main__":
    raise SystemExit(main())
