"""The Overview's and the Presentation's rerun right after one answer is saved, on a PostgreSQL store.

    python benchmarks/server_answer_bench.py [--url auto] [--answers 20] [--root DIR]

The 500-unit organisation (benchmarks/out/org500.duckdb, made if missing) is copied into a PostgreSQL database
(`--url`: an empty database; `auto`: a throwaway server, tests/pg.py). The pages are opened in AppTest and rerun
twice (warm); then, `--answers` times, one answer is saved in another unit's latest round (the questionnaire's
store call, on its own connection, as another person's session would) and each page is rerun and timed. `--root`
runs the pages and the saves from another checkout (to compare with the code before a change). Prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ("pages/overview.py", "pages/present.py")


def child(root: Path, url: str, answers: int) -> dict[str, list[float]]:
    """In the checkout `root`: open the pages, then save one answer and rerun each page, `answers` times."""
    os.environ["AIMS_DB"] = url
    sys.path.insert(0, str(root))
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    from dashboard import access, scoring, store
    from dashboard.db import lease

    set_log_level("error")
    admin = access.local_admin("Lead")
    with lease(url) as con:
        picks = scoring.select_assessments(con, principal=admin)
    rounds = sorted({p if isinstance(p, int) else p[0] for p in picks})
    apps = {}
    for page in PAGES:
        app = AppTest.from_file(str(root / "app.py"), default_timeout=900)
        app.session_state["assessor_name"] = "Lead"
        app.run()
        app.switch_page(page).run()
        app.run()
        assert not app.exception, app.exception
        apps[page] = app
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    chosen = random.Random(7)
    for n in range(answers):
        assessment = chosen.choice(rounds)
        with lease(url) as con:
            store.set_status(con, assessment, "draft", by="bench")
            store.update_response(con, assessment, "4.1", {"maturity": n % 6}, by="bench", principal=admin)
        for page, app in apps.items():
            started = time.perf_counter()
            app.run()
            times[page].append(time.perf_counter() - started)
            assert not app.exception, app.exception
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="auto", help="an empty PostgreSQL database ('auto': a throwaway server)")
    parser.add_argument("--answers", type=int, default=20, help="answers saved, each followed by a rerun of each page")
    parser.add_argument("--root", action="append", help="the checkout whose pages are timed (repeatable; default this one)")
    parser.add_argument("--org", default=str(ROOT / "benchmarks" / "out" / "org500.duckdb"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        root, url, answers = args.child
        print(json.dumps(child(Path(root), url, int(answers))))
        return 0

    from benchmarks.pages_bench import server_database

    org = Path(args.org)
    if not org.exists():
        from benchmarks.generate_org import generate

        generate(org, 500, 8)
    rows = ["| checkout | page | reruns after an answer | p50 s | p95 s | max s |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory(prefix="aims-server-answer-") as folder:
        copy = Path(folder) / "org.duckdb"
        shutil.copyfile(org, copy)
        roots = [Path(r).resolve() for r in (args.root or [str(ROOT)])]
        if len(roots) > 1 and args.url != "auto":
            parser.error("several --root need --url auto (a new database per checkout)")
        url, server = server_database(args.url, str(copy))
        try:  # each checkout gets its own copy, made before any answer is saved
            urls = [url] + [server_database(server.new_database(), str(copy))[0] for _ in roots[1:]]
            for root, url in zip(roots, urls, strict=True):
                done = subprocess.run([sys.executable, __file__, "--child", str(root), url, str(args.answers)],
                                      cwd=root, capture_output=True, text=True, check=True)
                times = json.loads(done.stdout.strip().splitlines()[-1])
                for page, seconds in times.items():
                    ordered = sorted(seconds)
                    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
                    rows.append(f"| {root.name} | {page} | {len(seconds)} | {statistics.median(seconds):.3f} | "
                                f"{p95:.3f} | {max(seconds):.3f} |")
                print("\n".join(rows[-2:]), file=sys.stderr, flush=True)
        finally:
            if server is not None:
                server.stop()
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
