"""How long an assessor waits for an answer to be saved and shown, measured in a real browser.

    python benchmarks/answer_latency.py                 # section 7 of a new round on a copy of the demo data
    python benchmarks/answer_latency.py --runs 3 --section 9

The dashboard is started as the README says (`python -m streamlit run app.py`, headless, on a free port)
on a copy of the demo database, in which a new clauses round is started for a demo unit. Headless Chromium
(Debian's /usr/bin/chromium, driven by Playwright) opens the questionnaire on that round's section and,
as an assessor would, answers every item: it clicks a maturity level, then types the evidence, the owner,
the due date (YYYY-MM-DD) and the notes, leaving each text field with Tab.

Each action is timed inside the page: from the browser's own input event (the mouse press on the level,
the Tab key) to the last change the page's DOM makes for it (the script's rerun drawn, the page idle
again: no DOM change for 0.5 s, the script state `notRunning`). "rerun done" is the moment the frontend
marks the script as no longer running, when it saw it run. After the section the database is read: every
answer must be stored, or the run fails. Figures: p50 and p95 per kind of action and over all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

from dashboard.access import local_admin  # noqa: E402

__all__ = ["main", "percentile"]

ADMIN = local_admin("Latency Bench")  # sets the benchmark's round up, as the command line would

CHROMIUM = "/usr/bin/chromium"
USER = "Latency Bench"
QUIET_MS = 500  # the page counts as settled after this long without a DOM change
TARGET_S = 0.3

# Installed in the page before its scripts: when the person acted, when the DOM last changed, and when the
# frontend saw the script start and stop running.
PROBE = """
window.__probe = {inputs: [], lastChange: performance.now(), states: []};
document.addEventListener('mousedown', () => window.__probe.inputs.push(performance.now()), true);
document.addEventListener('keydown', (e) => { if (e.key === 'Tab' || e.key === 'Enter')
    window.__probe.inputs.push(performance.now()); }, true);
new MutationObserver((records) => {
    const now = performance.now();
    window.__probe.lastChange = now;
    for (const r of records) {
        if (r.type === 'attributes' && r.attributeName === 'data-test-script-state') {
            window.__probe.states.push([now, r.target.getAttribute('data-test-script-state')]);
        }
    }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""

SETTLED = f"""() => {{
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && performance.now() - window.__probe.lastChange > {QUIET_MS};
}}"""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(folder: Path) -> tuple[Path, int]:
    """A copy of the demo database with a new clauses round for its first unit; (file, assessment id)."""
    from dashboard import rounds, store
    from dashboard.catalog import load_catalog
    from dashboard.db import connect
    from etl.demo import load_demo

    path = folder / "demo.duckdb"
    with connect(path) as con:
        results = load_demo(con, principal=ADMIN, by="bench")
        if not all(r.ok for r in results):
            raise SystemExit("the demo data did not load: " + "; ".join(r.describe() for r in results if not r.ok))
        unit = store.list_units(con)["name"].iloc[0]
        created, _ = rounds.start_assessment(con, principal=ADMIN, unit=unit, label="latency-bench", scope="clauses",
                                             catalog_version=load_catalog().version, assessed_on=dt.date.today(),
                                             by=USER)
    return path, created.id


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "AIMS_"))}
    env["AIMS_DB"] = str(db)
    with log.open("wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                   "--server.port", str(port)], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the dashboard exited:\n{log.read_text(errors='replace')}")
        try:
            with opener.open(f"{base}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return server, base
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the dashboard did not start within 60 s:\n{log.read_text(errors='replace')}")


def _keyed(page: Any, key: str) -> Any:
    import re

    return page.locator(".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key))


def _settle(page: Any, timeout_s: float = 30.0) -> None:
    page.wait_for_function(SETTLED, timeout=timeout_s * 1000, polling=50)


def _timed(page: Any, act: Any) -> tuple[float, float | None]:
    """Do `act()`; return (seconds from the input event to the last DOM change, seconds to the rerun's end)."""
    mark = page.evaluate("performance.now()")
    act()
    _settle(page)
    probe = page.evaluate("window.__probe")
    inputs = [t for t in probe["inputs"] if t >= mark]
    if not inputs:
        raise SystemExit("the browser saw no input event for an action")
    start = inputs[-1]
    ran = [t for t, state in probe["states"] if t > start and state == "running"]
    done = [t for t, state in probe["states"] if ran and t > ran[0] and state == "notRunning"]
    return (probe["lastChange"] - start) / 1000, ((done[0] - start) / 1000 if done else None)


def answer_section(base: str, assessment_id: int, section: str, chromium: str,
                   skip: tuple[str, ...] = ()) -> list[tuple[str, float, float | None]]:
    """Answer every item of `section` in a fresh browser; return (action, seconds shown, seconds rerun done)."""
    from playwright.sync_api import sync_playwright

    from dashboard.catalog import load_catalog

    items = [item for item in load_catalog().items if item.section == section]
    timings: list[tuple[str, float, float | None]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(30_000)
            page.add_init_script(PROBE)
            page.goto(f"{base}/assess?assessment={assessment_id}&item={items[0].id}")
            page.get_by_role("heading", name="Questionnaire", level=1).wait_for()
            _settle(page)
            name = page.locator('[data-testid="stSidebar"]').get_by_role("textbox", name="Your name")
            name.fill(USER)
            name.press("Tab")
            _settle(page)
            for number, item in enumerate(items):
                prefix = f"a{assessment_id}:{item.id}"
                level = _keyed(page, f"{prefix}:maturity").locator('label[data-testid="stRadioOption"]').nth(1 + number % 6)
                level.scroll_into_view_if_needed()
                timings.append(("level", *_timed(page, level.click)))
                for field, value in _texts(item.id, number, skip).items():
                    box = _keyed(page, f"{prefix}:{field}").locator("textarea, input").first
                    box.scroll_into_view_if_needed()
                    box.fill(value)
                    timings.append((field.replace("_", " "), *_timed(page, lambda box=box: box.press("Tab"))))
        finally:
            browser.close()
    return timings


def _texts(item_id: str, number: int, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {k: v for k, v in _all_texts(item_id, number).items() if k not in skip}


def _all_texts(item_id: str, number: int) -> dict[str, str]:
    return {"evidence": f"Benchmark evidence for {item_id}: register v{number} on the GRC tool",
            "owner": f"Owner {number}",
            "due_date": (dt.date(2027, 1, 1) + dt.timedelta(days=number)).isoformat(),
            "notes": f"Benchmark note {number}"}


def check_stored(db: Path, assessment_id: int, section: str, skip: tuple[str, ...] = ()) -> None:
    """Every answer given is in the database, or the run is worthless."""
    from dashboard import store
    from dashboard.catalog import load_catalog
    from dashboard.db import connect

    items = [item for item in load_catalog().items if item.section == section]
    with connect(db, wait=15) as con:
        stored = store.responses(con, principal=ADMIN, assessment_ids=[assessment_id]).set_index("item_id")
    wrong = []
    for number, item in enumerate(items):
        row = stored.loc[item.id]
        expected = {"maturity": number % 6, **_texts(item.id, number, skip)}
        got = {"maturity": row["maturity"], "evidence": row["evidence"], "owner": row["owner"],
               "due_date": None if row["due_date"] is None or str(row["due_date"]) in ("NaT", "None")
               else str(row["due_date"])[:10], "notes": row["notes"]}
        wrong += [f"{item.id} {k}: stored {got[k]!r}, given {v!r}" for k, v in expected.items() if str(got[k]) != str(v)]
    if wrong:
        raise SystemExit("answers were not stored:\n" + "\n".join(wrong))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", default="7", help="the clause section to answer (default 7, seven items)")
    parser.add_argument("--runs", type=int, default=1, help="sections answered, each in a new round and server")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--skip", action="append", default=[], choices=("evidence", "owner", "due_date", "notes"),
                        help="leave this text field out (repeatable)")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        raise SystemExit(f"{args.chromium} not found: install Debian's chromium (apt-get install chromium)")
    timings: list[tuple[str, float, float | None]] = []
    for _ in range(args.runs):
        folder = Path(tempfile.mkdtemp(prefix="answer-latency-"))
        try:
            db, assessment_id = prepare(folder)
            server, base = start_server(db, folder / "streamlit.log")
            try:
                timings += answer_section(base, assessment_id, args.section, args.chromium, tuple(args.skip))
            finally:
                server.terminate()
                server.wait(timeout=15)
            check_stored(db, assessment_id, args.section, tuple(args.skip))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(report(timings))
    overall = statistics.median(t for _, t, _ in timings)
    print(f"Target: p50 under {TARGET_S} s: {'met' if overall < TARGET_S else 'NOT met'} ({overall:.3f} s); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


def report(timings: list[tuple[str, float, float | None]]) -> str:
    kinds = list(dict.fromkeys(kind for kind, _, _ in timings))
    lines = ["| action | n | p50 s (shown) | p95 s (shown) | p50 s (rerun done) |", "| --- | ---: | ---: | ---: | ---: |"]
    for kind in [*kinds, "all"]:
        chosen = [(t, d) for k, t, d in timings if kind in (k, "all")]
        shown = [t for t, _ in chosen]
        done = [d for _, d in chosen if d is not None]
        lines.append(f"| {kind} | {len(shown)} | {percentile(shown, 50):.3f} | {percentile(shown, 95):.3f} | "
                     + (f"{percentile(done, 50):.3f} |" if done else "— |"))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
