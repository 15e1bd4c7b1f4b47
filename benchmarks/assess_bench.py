"""How long a rerun of the questionnaire takes: as it is, and right after answering one item.

    python benchmarks/assess_bench.py                # demo data and the 500-unit organisation
    python benchmarks/pages_bench.py                 # prints these figures too, after the page table

The questionnaire page is opened (through app.py, via AppTest) on the most recent draft assessment with
a named assessor. "rerun" is a rerun that changes nothing (every read served from st.cache_data);
"after an answer" sets one item's maturity, which saves it to the database, moves the file's change
token and so makes every cached read of the page run again — what an assessor waits for after each
click. Both are medians over several runs, each database in its own fresh process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

from benchmarks.pages_bench import (  # noqa: E402
    APP,
    BENCH_USER,
    OUT,
    _quiet_streamlit,
    _timed,
    app_pages,
    bench_assessment,
    machine,
    prepare_databases,
)

__all__ = ["measure", "questionnaire_page", "report"]


def questionnaire_page() -> str:
    """The questionnaire's file as registered in app.py (title 'Questionnaire', else pages/assess.py)."""
    pages = app_pages()
    for file, title in pages:
        if "questionnaire" in title.lower():
            return file
    for file, _ in pages:
        if file.endswith("assess.py"):
            return file
    raise SystemExit("app.py registers no questionnaire page")


def measure(db: str, runs: int = 5) -> dict[str, Any]:
    """Median rerun times of the questionnaire on database `db` (which it writes answers to)."""
    import os

    os.environ["AIMS_DB"] = db
    _quiet_streamlit()
    from streamlit.testing.v1 import AppTest

    from dashboard import store
    from dashboard.access import local_admin
    from dashboard.db import connect

    assessment_id = bench_assessment(db)
    app = AppTest.from_file(str(APP), default_timeout=900)
    app.session_state["assessor_name"] = BENCH_USER
    app.query_params["assessment"] = str(assessment_id)
    app.run()
    app.switch_page(questionnaire_page()).run()
    if app.exception:
        raise SystemExit(f"the questionnaire failed: {app.exception[0].value}")
    rerun = statistics.median(_timed(app.run) for _ in range(runs))

    editable = [r for r in app.radio if str(r.key).endswith(":maturity") and not r.disabled]
    if not editable:
        raise SystemExit(f"assessment {assessment_id} shows no editable maturity (is it a draft?)")
    key = str(editable[0].key)
    item_id = key.split(":")[1]
    times, value = [], None
    for n in range(runs):
        value = n % 6 if app.radio(key=key).value != n % 6 else (n + 1) % 6
        times.append(_timed(lambda v=value: app.radio(key=key).set_value(v).run()))
    if app.exception:
        raise SystemExit(f"the questionnaire failed after an answer: {app.exception[0].value}")
    with connect(db) as con:
        stored = store.responses(con, principal=local_admin("bench"), assessment_ids=[assessment_id])
        stored = stored.set_index("item_id").loc[item_id, "maturity"]
    if stored != value:
        raise SystemExit(f"the answer was not saved: {item_id} holds {stored}, expected {value}")
    return {"assessment": assessment_id, "item": item_id, "rerun": rerun, "answer": statistics.median(times)}


def report(databases: dict[str, str], runs: int = 5) -> str:
    """A small table of the questionnaire's rerun times per database, each measured in a fresh process."""
    page = questionnaire_page()
    lines = [f"Questionnaire ({page}), most recent draft assessment open, median of {runs}:",
             "| database | rerun s | rerun after answering one item s |", "| --- | --- | --- |"]
    for name, path in databases.items():
        done = subprocess.run([sys.executable, __file__, "--child", path, "--runs", str(runs)],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        found = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not found:
            lines.append(f"| {name} | failed: {(done.stderr.strip().splitlines() or ['no output'])[-1]} | |")
            continue
        result = json.loads(found[-1])
        lines.append(f"| {name} | {result['rerun']:.3f} | {result['answer']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", default=str(OUT / "org500.duckdb"), help="the synthetic organisation (made if missing)")
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.runs)), flush=True)
        return 0
    print("machine: " + " · ".join(f"{k} {v}" for k, v in machine().items()), flush=True)
    with tempfile.TemporaryDirectory(prefix="aims-bench-") as work:
        databases = prepare_databases(Path(work), Path(args.org), args.units, args.rounds, not args.skip_demo)
        text = report(databases, args.runs)
    print(text)
    return 1 if "failed:" in text else 0


if __name__ == "__main__":
    raise SystemExit(main())
