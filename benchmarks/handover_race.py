"""Processes handing one DuckDB file back and forth: retrying the open (as db.py did before turns) against
taking turns (`dashboard/turns.py`). Each process opens the file, adds a row, changes one value of a
200,000-row table, closes it (a checkpoint), again and again.

    python benchmarks/handover_race.py                     # both ways, 6 processes x 60 saves
    python benchmarks/handover_race.py --processes 4 --saves 100 --way retry

DuckDB 2.0 reads the file's header before it takes its lock; a process retrying while another checkpoints can
open with the header of before that checkpoint: "Could not read enough bytes", "Corrupted ... segment", and a file
whose later reads fail. Afterwards the file is read: rows stored (every save adds one) and the changed table's
sum (every save adds 1) must equal the saves made; *intact* says whether the file still reads.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LOCKED = re.compile(r"Could not set lock on file|Conflicting lock", re.IGNORECASE)
BASE_SUM = sum(n % 7 for n in range(200_000))


def _save(con: Any, writer: int, n: int) -> None:
    con.execute("INSERT INTO t VALUES (?, ?)", [writer, n])
    con.execute("UPDATE big SET v = v + 1 WHERE id = ?", [random.randrange(200_000)])


def _writer(path: str, writer: int, saves: int, way: str, out: Any) -> None:
    import duckdb

    from dashboard import db

    errors: collections.Counter[str] = collections.Counter()
    done = 0
    for n in range(saves):
        try:
            if way == "turns":
                con, took = db._open(path, 120.0, lambda _: None)
                try:
                    _save(con, writer, n)
                finally:
                    db._close(path, con, took)
            else:
                while True:
                    try:
                        con = duckdb.connect(path)
                        break
                    except duckdb.IOException as exc:
                        if not LOCKED.search(str(exc)):
                            raise
                        time.sleep(0.01 * random.random())
                try:
                    _save(con, writer, n)
                finally:
                    con.close()
            done += 1
        except Exception as exc:  # counted: each one is a lost save
            errors[f"{type(exc).__name__}: {str(exc)[:90]}"] += 1
    out.put((done, dict(errors)))


def run(way: str, processes: int, saves: int) -> dict[str, Any]:
    import duckdb

    path = str(Path(tempfile.mkdtemp(prefix="aims-handover-")) / "race.duckdb")
    con = duckdb.connect(path)
    con.execute("CREATE TABLE t (w INTEGER, n INTEGER)")
    con.execute("CREATE TABLE big AS SELECT range AS id, range % 7 AS v FROM range(200000)")
    con.close()
    context = mp.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_writer, args=(path, w, saves, way, out)) for w in range(processes)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    done, errors = 0, collections.Counter()
    for _ in workers:
        count, found = out.get()
        done += count
        errors.update(found)
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    try:
        con = duckdb.connect(path)
        stored = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
        total = con.execute("SELECT sum(v) FROM big").fetchall()[0][0] - BASE_SUM
        con.close()
        intact = "yes"
    except duckdb.Error as exc:
        stored = total = -1
        intact = f"no ({str(exc)[:60]})"
    return {"way": way, "processes": processes, "saves": processes * saves, "completed": done, "rows": stored,
            "changes": total, "errors": sum(errors.values()), "intact": intact, "wall": wall, "kinds": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--saves", type=int, default=60, help="saves per process")
    parser.add_argument("--way", choices=("retry", "turns"), action="append")
    args = parser.parse_args(argv)
    print("| way | processes | saves | completed | rows stored | changes stored | errors | file intact | wall s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    bad = False
    for way in args.way or ["retry", "turns"]:
        r = run(way, args.processes, args.saves)
        print(f"| {r['way']} | {r['processes']} | {r['saves']} | {r['completed']} | {r['rows']} | {r['changes']} | "
              f"{r['errors']} | {r['intact']} | {r['wall']:.1f} |", flush=True)
        for kind, count in r["kinds"].most_common(3):
            print(f"  {count} x {kind}", file=sys.stderr)
        bad |= way == "turns" and (r["errors"] or r["rows"] != r["saves"] or r["changes"] != r["saves"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
