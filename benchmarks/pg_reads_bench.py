"""Scoring reads on a PostgreSQL store: the same SQL on the server, or the tables pulled into DuckDB.

    python benchmarks/generate_org.py --units 500 --rounds 8 --out benchmarks/out/org500.duckdb
    python benchmarks/pg_reads_bench.py --db benchmarks/out/org500.duckdb [--url postgresql://…] [--repeat 5]

Without `--url` it starts a throwaway PostgreSQL server (tests/pg.py: Debian's binaries, run as `postgres` when
root) and copies the file into it with `migrate-store`'s code (the copy's time is printed). Then, for the reads a
dashboard page makes (the selection "Latest per unit", scores per assessment and section, the organisation's
sections and headline, every item of the selection), it prints the median of `--repeat` runs on:

* **duckdb file**: the DuckDB file itself (today's store);
* **postgres SQL**: the same SQL on the server through dashboard/pg.py (option a);
* **pulled duckdb**: an in-memory DuckDB holding the server's tables, pulled as Arrow (option b), whose
  refresh — needed after every write anywhere, when the server's change token moves — is timed separately:
  with the ADBC PostgreSQL driver (`adbc-driver-postgresql`, if installed) and with psycopg (`COPY … TO STDOUT`).
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

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402

from dashboard import scoring, selection  # noqa: E402
from dashboard.access import local_admin  # noqa: E402
from dashboard.catalog import load_catalog  # noqa: E402
from dashboard.db import connect  # noqa: E402
from dashboard.store_copy import copy_store, data_tables  # noqa: E402

ADMIN = local_admin("benchmark")
# the tables the scoring and selection SQL reads
SCORING_TABLES = ("assessment", "catalog_item", "catalog_section", "response", "role_assignment", "unit")


def _median(action: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _reads(con: Any) -> dict[str, Callable[[], Any]]:
    picks = selection.select_assessments(con, principal=ADMIN)
    return {
        "select Latest per unit": lambda: selection.select_assessments(con, principal=ADMIN),
        "assessment_scores": lambda: scoring.assessment_scores(con, picks),
        "section_scores": lambda: scoring.section_scores(con, picks),
        "organisation_sections": lambda: scoring.organisation_sections(con, picks),
        "organisation_summary": lambda: scoring.organisation_summary(con, picks),
        "item_scores (35,000 rows)": lambda: scoring.item_scores(con, picks),
    }


def pull_adbc(url: str, tables: tuple[str, ...]) -> dict[str, pa.Table]:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url) as con, con.cursor() as cur:
        out = {}
        for table in tables:
            cur.execute(f"SELECT * FROM {table}")
            out[table] = cur.fetch_arrow_table()
        return out


def pull_psycopg(url: str, tables: tuple[str, ...]) -> dict[str, Any]:
    """Each table through `COPY … TO STDOUT (FORMAT csv)`, parsed by DuckDB's CSV reader with the server's types."""
    import io

    import psycopg

    out = {}
    with psycopg.connect(url) as con:
        for table in tables:
            buffer = io.BytesIO()
            with con.cursor().copy(f"COPY {table} TO STDOUT (FORMAT csv, HEADER)") as copy:
                for block in copy:
                    buffer.write(block)
            out[table] = buffer.getvalue()
    return out


def load_pulled(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    for name, table in tables.items():
        con.register("_pulled", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _pulled")
        con.unregister("_pulled")
    return con


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "org500.duckdb"))
    parser.add_argument("--url", help="a PostgreSQL database already holding the same data (else a throwaway one)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    server = None
    try:
        if not args.url:
            from tests.pg import PgServer

            server = PgServer()
            server.start()
            args.url = server.new_database()
            started = time.perf_counter()
            copied = copy_store(args.db, args.url)
            print(f"copied {sum(copied.counts.values()):,} rows into a throwaway server in "
                  f"{time.perf_counter() - started:.1f} s (counts and scores checked)")
        load_catalog()
        with connect(args.db) as file_con, connect(args.url) as pg_con:
            on_file, on_pg = _reads(file_con), _reads(pg_con)
            rows = {name: [_median(on_file[name], args.repeat), _median(on_pg[name], args.repeat)] for name in on_file}
            all_tables = tuple(data_tables(pg_con))
            token = _median(lambda: pg_con.execute("SELECT max(version) FROM schema_version").fetchall(), 20)
        refresh: dict[str, float] = {}
        pulled = None
        for label, tables in (("scoring tables", SCORING_TABLES), ("every table", all_tables)):
            try:
                refresh[f"pull {label}: ADBC to Arrow"] = _median(lambda t=tables: pull_adbc(args.url, t), args.repeat)
                pulled = pull_adbc(args.url, SCORING_TABLES)
            except ImportError:
                refresh[f"pull {label}: ADBC to Arrow"] = float("nan")
            refresh[f"pull {label}: psycopg COPY csv (transfer only)"] = _median(lambda t=tables: pull_psycopg(args.url, t),
                                                                  args.repeat)
        if pulled is not None:
            refresh["load pulled Arrow into DuckDB"] = _median(lambda: load_pulled(pulled).close(), args.repeat)
            from dashboard import pulled as pulled_module

            refresh["the dashboard's whole refresh as built (dashboard/pulled.py: schema, pull, load, catalog)"] = \
                _median(lambda: pulled_module.pull(args.url).close(), args.repeat)
            memory = load_pulled(pulled)
            on_memory = _reads(memory)
            for name in rows:
                rows[name].append(_median(on_memory[name], args.repeat))
        print(f"\nmedian of {args.repeat} runs, seconds; {Path(args.db).name}")
        print("| read | duckdb file | postgres SQL | pulled duckdb |\n| --- | ---: | ---: | ---: |")
        for name, times in rows.items():
            print(f"| {name} | " + " | ".join(f"{t:.3f}" for t in times) + " |")
        total = [sum(col) for col in zip(*rows.values(), strict=True)]
        print("| **all six** | " + " | ".join(f"**{t:.3f}**" for t in total) + " |")
        print("\n| refresh of the pulled copy | seconds |\n| --- | ---: |")
        for name, seconds in refresh.items():
            print(f"| {name} | {seconds:.3f} |")
        print(f"| a change-token read on the server (one row) | {token:.4f} |")
    finally:
        if server is not None:
            from dashboard import pg

            pg.POOL.close_all()
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
