"""How long a full script run of every page takes, on the demo data and on a 500-unit organisation.

    python benchmarks/pages_bench.py                 # every page registered in app.py, both databases
    python benchmarks/pages_bench.py --page pages/overview.py --skip-demo
    python benchmarks/pages_bench.py --skip-demo --url auto     # also the 500 units on a PostgreSQL server

Each page runs in its own process (so that its peak memory is its own) through Streamlit's AppTest:
the app's frame (app.py and its navigation) and then the page, as a browser session would.

* cold s: the median of N runs, each right after `st.cache_data.clear()` (modules already imported) —
  what every session sees after any change to the database, since cached reads are keyed by the file's
  change token;
* warm s: the median of N reruns with the cache filled (a widget interaction that changes nothing);
* floor s: the same for a bare page that reads 10,000 responses from the 500-unit database and shows
  them with `st.dataframe` — what any Streamlit page with one table costs on this machine;
* peak RSS MB: the process's maximum resident set (ru_maxrss); traced MB: tracemalloc's peak during
  one more cold run (Python and numpy allocations; DuckDB's own memory is not traced).

The questionnaire's rerun figures (plain, and after answering one item) come from assess_bench.py.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

APP = ROOT / "app.py"
OUT = ROOT / "benchmarks" / "out"
FLOOR = "(floor: st.dataframe, 10,000 rows)"
BENCH_USER = "Benchmark"
FLOOR_SCRIPT = """
import duckdb
import streamlit as st

con = duckdb.connect({path!r}, read_only=True)
df = con.execute("SELECT * FROM response ORDER BY assessment_id, item_id LIMIT 10000").df()
con.close()
st.title("Floor")
st.dataframe(df)
"""

__all__ = ["app_pages", "bench_assessment", "machine", "main", "measure_floor", "measure_page", "prepare_databases"]


def app_pages(app: Path = APP) -> list[tuple[str, str]]:
    """(file, title) of every page app.py registers, in order, read from its source: its `PAGES` table (group ->
    (file, title)), or, in an older app.py, its `st.Page(...)` calls."""
    tree = ast.parse(app.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets):
            return [(path, title) for entries in ast.literal_eval(node.value).values() for path, title in entries]
    pages = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                title = next((k.value.value for k in node.keywords
                              if k.arg == "title" and isinstance(k.value, ast.Constant)), Path(first.value).stem)
                pages.append((first.value, str(title)))
    return pages


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages * size / 2**30:.1f} GiB"
    except (ValueError, OSError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": dt.date.today().isoformat(),
        "cpu": cpu,
        "nproc": str(usable),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in ("streamlit", "duckdb", "pandas", "plotly")},
    }


def bench_assessment(db: str) -> int:
    """The assessment a page is opened on (`?assessment=`): the most recent draft, else the most recent one."""
    from dashboard.db import connect

    with connect(db) as con:
        found = con.execute("""SELECT id FROM assessment
                               ORDER BY status = 'draft' DESC, assessed_on DESC NULLS LAST, id DESC LIMIT 1""").fetchall()
    if not found:
        raise SystemExit(f"{db} holds no assessment to benchmark.")
    return int(found[0][0])


# --- measured in a child process -----------------------------------------------------------------


def _quiet_streamlit() -> None:
    from streamlit.logger import set_log_level

    set_log_level("error")  # AppTest's "missing ScriptRunContext" warnings would drown the table


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _cold(app: Any, runs: int) -> float:
    """Median of `runs` runs, each right after emptying st.cache_data (one sample is too noisy on a busy machine)."""
    import streamlit as st

    times = []
    for _ in range(runs):
        st.cache_data.clear()
        times.append(_timed(app.run))
    return statistics.median(times)


def _exceptions(app: Any) -> list[str]:
    return [str(e.value)[:300] for e in app.exception]


def _memory(app: Any) -> tuple[float, float]:
    """(peak RSS in MB so far, tracemalloc peak in MB of one more cold run)."""
    import streamlit as st

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    st.cache_data.clear()
    tracemalloc.start()
    app.run()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return rss, traced


def measure_page(page: str, db: str, runs: int = 3) -> dict[str, Any]:
    """Cold and warm run times, peak memory and exceptions of one page of app.py on database `db`."""
    os.environ["AIMS_DB"] = db
    _quiet_streamlit()
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(APP), default_timeout=900)
    app.session_state["assessor_name"] = BENCH_USER  # a named user: the pages as someone working sees them
    app.query_params["assessment"] = str(bench_assessment(db))
    app.run()  # the default page; switch_page needs the navigation registered by a first run
    first = _timed(lambda: app.switch_page(page).run())  # also imports what the page needs
    cold = _cold(app, runs)
    warm = [_timed(app.run) for _ in range(runs)]
    exceptions = _exceptions(app)
    rss, traced = _memory(app)
    return {"first": first, "cold": cold, "warm": statistics.median(warm), "rss_mb": rss, "traced_mb": traced,
            "exceptions": exceptions}


def measure_floor(db: str, runs: int = 3) -> dict[str, Any]:
    """The same measurements for a bare page showing one 10,000-row DataFrame read from `db`."""
    _quiet_streamlit()
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_string(FLOOR_SCRIPT.format(path=db), default_timeout=900)
    first = _timed(app.run)
    cold = _cold(app, runs)
    warm = [_timed(app.run) for _ in range(runs)]
    if len(app.dataframe) != 1 or len(app.dataframe[0].value) != 10_000:
        raise SystemExit("the floor page did not show its 10,000 rows")
    exceptions = _exceptions(app)
    rss, traced = _memory(app)
    return {"first": first, "cold": cold, "warm": statistics.median(warm), "rss_mb": rss, "traced_mb": traced,
            "exceptions": exceptions}


def _child(*args: str) -> dict[str, Any]:
    """Run `pages_bench.py --child ...` in a fresh process and read the JSON it prints last."""
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


# --- databases ---------------------------------------------------------------------------------------


def prepare_databases(workdir: Path, org: Path, units: int, rounds: int, with_demo: bool = True) -> dict[str, str]:
    """Copies of the databases to benchmark, by name: the demo data and the synthetic organisation."""
    from benchmarks.generate_org import generate
    from dashboard.db import connect

    if not org.exists():
        print(f"generating {org} ({units} units x {rounds} rounds)…", flush=True)
        print(generate(org, units, rounds).describe(), flush=True)
    databases: dict[str, str] = {}
    if with_demo:
        from dashboard.access import local_admin
        from etl.demo import load_demo

        demo = workdir / "demo.duckdb"
        with connect(demo) as con:
            failed = [r.describe() for r in load_demo(con, principal=local_admin("bench"), by="benchmark") if not r.ok]
        if failed:
            raise SystemExit("the demo data could not be loaded: " + "; ".join(failed))
        databases["demo"] = str(demo)
    with connect(org) as con:
        shape = con.execute("""SELECT count(DISTINCT unit_id), count(DISTINCT label) FROM assessment""").fetchall()[0]
    copy = workdir / org.name  # the pages may write (migrations, checkpoints); never on the kept file
    shutil.copyfile(org, copy)
    databases[f"{shape[0]} units x {shape[1]} rounds"] = str(copy)
    return databases



def server_database(url: str, org_copy: str) -> tuple[str, Any]:
    """The organisation copied (`migrate-store`'s code) into the empty PostgreSQL database `url`, or with `url`
    "auto" into a new database of a throwaway server (tests/pg.py); (its URL, the server to stop or None)."""
    from dashboard import pg
    from dashboard.store_copy import copy_store

    server = None
    if url == "auto":
        from tests.pg import PgServer

        server = PgServer().start()
        url = server.new_database()
    started = time.perf_counter()
    copied = copy_store(org_copy, url)
    pg.POOL.close_all()
    print(f"copied {sum(copied.counts.values()):,} rows into {pg.redact_url(url)} in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return url, server


# --- the table ---------------------------------------------------------------------------------------


def _format_table(rows: list[dict[str, Any]]) -> str:
    header = ["page", "database", "cold s", "warm s", "floor s", "warm/floor", "peak RSS MB", "traced MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        if "error" in row:
            cells = [row["page"], row["database"], "failed: " + row["error"], "", "", "", "", ""]
        else:
            cells = [row["page"], row["database"], f"{row['cold']:.2f}", f"{row['warm']:.3f}", f"{row['floor']:.3f}",
                     f"{row['warm'] / row['floor']:.1f}", f"{row['rss_mb']:.0f}", f"{row['traced_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", default=str(OUT / "org500.duckdb"), help="the synthetic organisation (made if missing)")
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="warm reruns per page (the median is shown)")
    parser.add_argument("--page", action="append", help="only this page file (repeatable); default: all in app.py")
    parser.add_argument("--skip-demo", action="store_true", help="only the synthetic organisation")
    parser.add_argument("--skip-questionnaire", action="store_true", help="leave out assess_bench's rerun figures")
    parser.add_argument("--url", help="also run the pages on the organisation copied into this empty PostgreSQL "
                                      "database ('auto': a throwaway server, tests/pg.py)")
    parser.add_argument("--skip-file", action="store_true", help="with --url: the organisation only on the server")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # WHAT DB: "floor" or a page file
    args = parser.parse_args(argv)

    if args.child:  # measure one thing in this fresh process, print it as JSON
        kind, target = args.child
        result = measure_floor(target, args.runs) if kind == "floor" else measure_page(kind, target, args.runs)
        print(json.dumps(result), flush=True)
        return 0

    info = machine()
    print("machine: " + " · ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    pages = [p for p, _ in app_pages()]
    chosen = args.page or pages
    unknown = sorted(set(chosen) - set(pages))
    if unknown:
        parser.error(f"not registered in app.py: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="aims-bench-") as work:
        databases = prepare_databases(Path(work), Path(args.org), args.units, args.rounds, not args.skip_demo)
        org_copy, org_name = list(databases.values())[-1], list(databases)[-1]
        server = None
        if args.url:
            url, server = server_database(args.url, org_copy)
            if server is not None:
                atexit.register(server.stop)  # also when a page fails (stopping twice does nothing)
            if args.skip_file:
                del databases[org_name]
            databases[f"{org_name}, PostgreSQL"] = url
        floors = [_child("floor", org_copy, "--runs", str(args.runs))]
        if "error" in floors[0]:
            raise SystemExit(f"the floor page failed: {floors[0]['error']}")
        rows: list[dict[str, Any]] = []
        for name, path in databases.items():
            for page in chosen:
                rows.append({"page": page, "database": name, **_child(page, path, "--runs", str(args.runs))})
                print(f"  measured {page} on {name}", file=sys.stderr, flush=True)
        floors.append(_child("floor", org_copy, "--runs", str(args.runs)))
        # measured before and after the pages; the lower is what this machine can do when it is least busy
        floor = min((f for f in floors if "error" not in f), key=lambda f: f["warm"])
        rows.insert(0, {"page": FLOOR, "database": org_name, **floor})
        for row in rows:
            row["floor"] = floor["warm"]
        print()
        print(_format_table(rows))
        for row in rows:
            for problem in row.get("exceptions", []):
                print(f"EXCEPTION on {row['page']} ({row['database']}): {problem}")
        measured = ", ".join(f"{f['warm']:.3f}" for f in floors if "error" not in f)
        print(f"\ncold = median of {args.runs} runs right after st.cache_data.clear(); warm = median of {args.runs} "
              "reruns; floor = warm run of a bare page with one 10,000-row st.dataframe, measured before and after "
              f"the pages ({measured} s), the lower kept")
        questionnaire = ""
        if not args.skip_questionnaire:
            from benchmarks import assess_bench

            questionnaire = assess_bench.report(databases, runs=max(args.runs, 5))
            print()
            print(questionnaire)
    failed = [r for r in rows if "error" in r or r.get("exceptions")]
    return 1 if failed or "failed:" in questionnaire else 0


if __name__ == "__main__":
    raise SystemExit(main())
