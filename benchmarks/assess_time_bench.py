"""How long a complete clauses assessment takes in the compact questionnaire: active time, measured by
`dashboard.timing` on the answers a scripted session saves, with a stated model of the person's time.

    python benchmarks/assess_time_bench.py                        # 5 sessions for each think time 10, 20, 30 s
    python benchmarks/assess_time_bench.py --think 20 --sessions 3
    python benchmarks/assess_time_bench.py --carry 60             # a second round: 60 % of the items kept as they were

**The demo data cannot give this figure**: it is imported (source `demo`), so it holds no answer events; the
script says so first, counting them.

**What is simulated.** For each session a new clauses round is started for a demo unit on a copy of the demo
database, and Streamlit's AppTest drives the real questionnaire page (app.py, pages/assess.py) in compact mode,
section by section (4 to 10, 32 items), as an assessor would: for each item choose the level, then type the
evidence, each saved by the page as in the browser. With `--carry K`, the unit's previous round (its newest demo
round, as the page finds it: `dashboard.carry`) is there to keep: for K % of the items it answered (drawn per
session, seeded) the person keeps its answer with the line's one "Keep as in <round>" click instead, and answers
the others as before. The levels and evidence texts are that unit's answers in its
latest demo round (evidence as long as the demo's: median 114 characters for clauses; an item with none is
left without). The store's clock (`dashboard.store._now`) is replaced by a simulated clock that advances by

* the person's time, from the keystroke-level model (Card, Moran and Newell) plus a think time:
  - reading the item and deciding its level: a think time drawn per item (log-normal, median `--think` s,
    sigma 0.4, seeded), then choosing it: one point and click on its button (1.3 s);
  - an item kept from the previous round: the same think time (reading the previous level and evidence and judging
    that they still hold), then one point and click on "Keep as in <round>" (1.3 s), nothing typed;
  - the evidence: point and click into the field (1.3 s), one keystroke per character (`--keystroke`, default
    0.28 s, the model's "average non-secretary typist", about 40 words a minute; 0.20 s is its average skilled
    typist, 55 wpm), then Tab (one keystroke); `--evidence-chars N` types only the first N characters of each
    evidence text (a short reference instead of a sentence);
  - the next section: a mental step and a click (2.65 s);
  - one break of `--break-minutes` (default 20) after section 6: longer than the pause, so not active time;
* plus the app's own time: each AppTest run of the page, as measured (in a browser an answer takes
  0.2-0.5 s, see benchmarks/answer_latency.py).

The figure is therefore **simulated**: real saves through the real page, timed by the real `dashboard.timing`,
but the person's time is the model above, not an observation of people. Change the model with the options.
The run fails unless every item holds the level and evidence it was given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

from benchmarks.pages_bench import APP, _quiet_streamlit, machine  # noqa: E402

__all__ = ["Model", "demo_events", "main", "simulate"]

USER = "Timing Bench"
POINT_CLICK = 1.3   # KLM: point (1.1 s) and click (0.2 s)
MENTAL = 1.35       # KLM: a mental step
SIGMA = 0.4         # spread of the think time (log-normal)
START = dt.datetime(2026, 12, 1, 9, 0, 0)


@dataclass(frozen=True)
class Model:
    """The person's time: think time per item (median, s), seconds per keystroke, a break (min) after section 6."""

    think: float = 20.0
    keystroke: float = 0.28
    break_minutes: float = 20.0
    break_after: str = "6"
    evidence_chars: int = 0  # 0: the demo's evidence as it is; N: only its first N characters (a short reference)
    carry: float = 0.0  # percent of the items the previous round answered that the person keeps with one click


class SimulatedClock:
    """The store's clock during a session: the start, plus the person's modelled time, plus the app's measured time."""

    def __init__(self, start: dt.datetime) -> None:
        self.start, self.person, self.app = start, 0.0, 0.0

    def __call__(self) -> dt.datetime:
        return (self.start + dt.timedelta(seconds=self.person + self.app)).replace(microsecond=0)


def demo_events(db: str) -> tuple[int, int]:
    """(assessments, answer events) in a database: the demo data is imported, so it has none."""
    from dashboard import timing
    from dashboard.access import local_admin
    from dashboard.db import connect

    with connect(db) as con:
        ids = [int(i) for (i,) in con.execute("SELECT id FROM assessment").fetchall()]
        times = timing.assessment_times(con, ids, principal=local_admin("bench"))
    return len(ids), int(times["answers"].sum())


def _answers_of(con: Any, unit: str) -> dict[str, tuple[int, str]]:
    """The unit's clause answers in the demo: item -> (level, evidence) of its newest round that assessed it."""
    from dashboard import store
    from dashboard.access import local_admin

    found = store.responses(con, principal=local_admin("bench"), unit=unit)
    found = found[(found["kind"] == "clause") & found["maturity"].notna()].sort_values("assessed_on")
    out = {}
    for item_id, row in found.groupby("item_id").tail(1).set_index("item_id").iterrows():
        evidence = row["evidence"] if isinstance(row["evidence"], str) else ""
        out[str(item_id)] = (int(row["maturity"]), " ".join(evidence.split()))  # the compact field is one line
    return out


def simulate(db: str, unit: str, model: Model, seed: int) -> dict[str, Any]:
    """One session: a new clauses round of `unit` answered completely in compact mode; its times."""
    import os

    os.environ["AIMS_DB"] = db
    _quiet_streamlit()
    from streamlit.testing.v1 import AppTest

    from dashboard import carry, rounds, store, timing
    from dashboard.access import local_admin
    from dashboard.catalog import load_catalog
    from dashboard.db import connect

    catalog = load_catalog()
    admin = local_admin("bench")
    with connect(db) as con:
        answers = _answers_of(con, unit)
        created, _ = rounds.start_assessment(con, unit=unit, label=f"timing-{seed}", scope="clauses",
                                             catalog_version=catalog.version, assessed_on=START.date(),
                                             principal=admin, by=USER)
    clock, chance, saved_clock = SimulatedClock(START), random.Random(seed), store._now
    store._now = clock  # every save of the session is stamped with the simulated time

    def run(widget: Any) -> None:
        started = time.perf_counter()
        widget.run()
        clock.app += time.perf_counter() - started
        if app.exception:
            raise SystemExit(f"the questionnaire failed: {app.exception[0].value}")

    with connect(db) as con:  # what the page offers to keep, from the round before this one
        offered = carry.previous_answers(con, created.id, principal=admin).set_index("item_id")
    clause_ids = [item.id for section in catalog.sections if section.kind == "clause" for item in section.items]
    can_keep = [i for i in clause_ids if i in offered.index]
    kept = set(chance.sample(can_keep, round(len(can_keep) * model.carry / 100))) if model.carry else set()
    try:
        app = AppTest.from_file(str(APP), default_timeout=300)
        app.session_state["assessor_name"] = USER
        app.query_params["assessment"] = str(created.id)
        app.run()
        app.switch_page("pages/assess.py")
        run(app)
        run(app.toggle(key="compact_toggle").set_value(True))
        sections = [s for s in catalog.sections if s.kind == "clause"]
        for number, section in enumerate(sections):
            for item in section.items:
                think = chance.lognormvariate(math.log(model.think), SIGMA)
                if item.id in kept:  # one click keeps the previous round's level and evidence
                    previous = offered.loc[item.id]
                    answers[item.id] = (int(previous["maturity"]), previous["evidence"] if isinstance(previous["evidence"], str) else "")
                    clock.person += think + POINT_CLICK
                    run(app.button(key=f"a{created.id}:{item.id}:keep:compact").click())
                    continue
                level, evidence = answers.get(item.id, (0, ""))
                if model.evidence_chars:
                    evidence = evidence[:model.evidence_chars].strip()
                answers[item.id] = (level, evidence)  # what the run must find stored
                clock.person += think + POINT_CLICK
                run(app.segmented_control(key=f"a{created.id}:{item.id}:maturity:compact").set_value(level))
                if evidence:
                    clock.person += POINT_CLICK + len(evidence) * model.keystroke + model.keystroke
                    run(app.text_input(key=f"a{created.id}:{item.id}:evidence:compact").input(evidence))
            if section.id == model.break_after:
                clock.person += model.break_minutes * 60
            if number + 1 < len(sections):
                clock.person += MENTAL + POINT_CLICK
                run(app.button(key="next_section").click())
    finally:
        store._now = saved_clock
    with connect(db) as con:
        stored = store.responses(con, principal=admin, assessment_ids=[created.id]).set_index("item_id")
        for item_id, (level, evidence) in answers.items():
            got = (stored.loc[item_id, "maturity"], stored.loc[item_id, "evidence"] if evidence else "")
            if got != (level, evidence):
                raise SystemExit(f"{unit}: {item_id} holds {got}, not the answer given {(level, evidence)}")
        spent = timing.assessment_times(con, [created.id], principal=admin).iloc[0]
    return {"unit": unit, "items": len(answers), "kept": len(kept), "answers": int(spent["answers"]),
            "active_s": float(spent["active_s"]),
            "elapsed_s": float(spent["elapsed_s"]), "person_s": clock.person, "app_s": clock.app}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--think", default="10,20,30", help="median think times per item to run, seconds (comma list)")
    parser.add_argument("--sessions", type=int, default=5, help="sessions per think time, each a different demo unit")
    parser.add_argument("--keystroke", type=float, default=0.28, help="seconds per character typed (0.28: ~40 wpm)")
    parser.add_argument("--break-minutes", type=float, default=20.0, help="one break after section 6 (0: none)")
    parser.add_argument("--evidence-chars", type=int, default=0,
                        help="type only the first N characters of each demo evidence (0: all of it)")
    parser.add_argument("--carry", type=float, default=0.0,
                        help="percent of the items the previous round answered that are kept with one click (0: none)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    thinks = [float(t) for t in str(args.think).split(",") if t.strip()]

    from dashboard.access import local_admin
    from dashboard.db import connect
    from dashboard.timing import pause_seconds
    from etl.demo import load_demo

    print("machine: " + " · ".join(f"{k} {v}" for k, v in machine().items()), flush=True)
    with tempfile.TemporaryDirectory(prefix="aims-timing-") as work:
        template = str(Path(work) / "demo.duckdb")
        with connect(template) as con:
            load_demo(con, principal=local_admin("bench"), by="demo")
            units = [name for (name,) in con.execute("SELECT name FROM unit ORDER BY name").fetchall()]
        assessments, events = demo_events(template)
        print(f"demo data: {assessments} assessments, {events} answer events (imported: no time spent to measure)")
        print(f"pause: gaps over {pause_seconds() / 60:g} min are not active time; "
              f"typing {args.keystroke:g} s per character; break after section 6: {args.break_minutes:g} min; evidence: "
              + (f"its first {args.evidence_chars} characters" if args.evidence_chars else "as in the demo")
              + (f"; {args.carry:g} % of the previous round's answers kept with one click\n" if args.carry
                 else "; no answer kept from the previous round\n"))
        lines = ["| think time per item (median) | sessions | items | kept from the previous round | answer events "
                 "| active min (median) | active min (range) | elapsed min (median) | app s per session (median) |",
                 "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for think in thinks:
            results = []
            for n in range(args.sessions):
                db = str(Path(work) / f"session-{think:g}-{n}.duckdb")
                shutil.copy(template, db)
                unit = units[n % len(units)]
                results.append(simulate(db, unit, Model(think, args.keystroke, args.break_minutes,
                                                              evidence_chars=args.evidence_chars, carry=args.carry),
                                        seed=args.seed + n))
                Path(db).unlink()
            active = [r["active_s"] for r in results]
            lines.append(f"| {think:g} s | {len(results)} | {results[0]['items']} "
                         f"| {statistics.median(r['kept'] for r in results):g} "
                         f"| {statistics.median(r['answers'] for r in results):g} "
                         f"| {_minutes(statistics.median(active))} | {_minutes(min(active))}-{_minutes(max(active))} "
                         f"| {_minutes(statistics.median(r['elapsed_s'] for r in results))} "
                         f"| {statistics.median(r['app_s'] for r in results):.1f} |")
            print(lines[-1], flush=True)
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
