"""The read after a write on a PostgreSQL store: the pulled copy pulled whole again, or brought up to date.

    python benchmarks/pull_refresh_bench.py [--db benchmarks/out/org500.duckdb] [--url postgresql://…] [--repeat 5]

The dashboard reads a server's store through an in-memory DuckDB copy of its tables (dashboard/pulled.py). Without
`--url` this starts a throwaway PostgreSQL server (tests/pg.py) and copies the file into it (`migrate-store`'s
code). It then times, median of `--repeat`:

* **whole pull**: `pulled.pull`, what every read after any write cost before the change notes
  (dashboard/pg_changes.py), and still the first read of a process;
* **after one saved answer**: one `store.update_response` in a draft round, then the dashboard's next read
  (`pulled.lease`: the change token, the incremental refresh — that round's rows of `response` and `change_log` —
  and the read itself, the organisation's headline over *Latest per unit*), against a whole pull plus the same read;
* **after answers saved in K rounds** between two reads (many assessors, or an import's shape): the refresh
  pulls those rounds' rows, or the whole table past `pulled._WHOLE_AFTER` rounds;
* **a save**: `store.update_response`'s own time with the notes' triggers (the write side's cost).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import pulled, rounds, scoring, selection, store  # noqa: E402
from dashboard.access import local_admin  # noqa: E402
from dashboard.catalog import load_catalog  # noqa: E402
from dashboard.db import connect, rows  # noqa: E402
from dashboard.store_copy import copy_store  # noqa: E402

ADMIN = local_admin("benchmark")


def _times(action: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
    return out


def _headline(con: Any) -> Any:
    return scoring.organisation_summary(con, selection.select_assessments(con, principal=ADMIN))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "org500.duckdb"))
    parser.add_argument("--url", help="an empty PostgreSQL database to copy --db into (else a throwaway server)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not pulled.available():
        raise SystemExit("the ADBC PostgreSQL driver is not installed (pip install -r requirements.txt)")
    server = None
    try:
        if not args.url:
            from tests.pg import PgServer

            server = PgServer().start()
            args.url = server.new_database()
        started = time.perf_counter()
        copied = copy_store(args.db, args.url)
        print(f"copied {sum(copied.counts.values()):,} rows into the server in {time.perf_counter() - started:.1f} s")
        catalog = load_catalog()
        items = [i.id for i in catalog.items if i.kind == "clause"]
        with connect(args.url) as con:
            units = store.list_units(con)["name"].tolist()
            drafts = [rounds.start_assessment(con, unit=name, label="refresh-bench", scope="clauses",
                                              catalog_version=catalog.version, assessed_on=None, principal=ADMIN,
                                              by="benchmark")[0].id for name in units[:300]]
        answer = iter(range(10**6))

        def save(con: Any, assessment_id: int) -> None:
            n = next(answer)
            store.update_response(con, assessment_id, items[n % len(items)], {"evidence": f"Register v{n}"},
                                  by="benchmark", principal=ADMIN)

        with pulled.lease(args.url) as con:  # the first read: a whole pull
            _headline(con)
        results: dict[str, list[float]] = {}
        results["whole pull (`pulled.pull`: schema, every table, catalog)"] = \
            _times(lambda: pulled.pull(args.url).close(), args.repeat)

        def after_one(whole: bool) -> Callable[[], None]:
            def run() -> None:
                with connect(args.url) as con:
                    save(con, drafts[0])
                started = time.perf_counter()
                if whole:
                    pulled.COPIES.clear()
                with pulled.lease(args.url) as con:
                    _headline(con)
                results.setdefault(f"read after one saved answer: {'whole pull' if whole else 'incremental'} + "
                                   "headline", []).append(time.perf_counter() - started)
            return run

        for whole in (True, False):
            for _ in range(args.repeat):
                after_one(whole)()
        with pulled.lease(args.url) as con:
            results["the headline read alone (on the up-to-date copy)"] = _times(lambda: _headline(con), args.repeat)
        for k in (10, 100, 300):
            def many(k: int = k) -> None:
                with connect(args.url) as con:
                    for assessment_id in drafts[:k]:
                        save(con, assessment_id)
                started = time.perf_counter()
                with pulled.lease(args.url) as con:
                    _headline(con)
                results.setdefault(f"read after answers saved in {k} rounds + headline", []).append(
                    time.perf_counter() - started)
            for _ in range(args.repeat):
                many()
        with connect(args.url) as con:
            results["a save (`store.update_response`, with the notes' triggers)"] = \
                _times(lambda: save(con, drafts[1]), args.repeat * 4)
            notes = rows(con, "SELECT count(*) FROM aims_meta.changed")[0][0]
        print(f"\nmedian (max) of {args.repeat} runs, seconds; {Path(args.db).name}; change notes on the server: {notes:,}")
        print("| step | median s | max s |\n| --- | ---: | ---: |")
        for name, times in results.items():
            print(f"| {name} | {statistics.median(times):.3f} | {max(times):.3f} |")
    finally:
        if server is not None:
            from dashboard import pg

            pulled.COPIES.clear()
            pg.POOL.close_all()
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
