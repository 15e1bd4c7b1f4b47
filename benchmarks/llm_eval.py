"""How faithful the AI helper is with a given model: every summary kind and the interview, scored against facts
the evaluation knows, printed as a table.

The organisation is the demo data (`python -m etl demo`: ten units, three rounds, deterministic), loaded into a
temporary file (or `--db FILE`, left unchanged). For each summary kind (executive, a unit, a section, an item):

* shape      — the model's reply validated in the asked shape (a fallback to the offline summary is a failure);
* citations  — citations that point at answers the model was given, of all it made (invented ones are dropped);
* numbers    — sentences whose numbers all appear in the facts and quotations sent, of the sentences with numbers;
* weakest    — of the three weakest sections in the facts (lowest maturity; for a unit, largest gap to
  target), how many the summary names (by number or title); "-" for an item or a section;
* seconds    — from the request to the validated reply (including a corrective retry or a form fallback).

The interview: `--interview N` demo answers (evidence of six words or more, latest rounds, a fixed sample taking
the levels in turn) are
sent as the person's answer with no follow-up allowed; the demo data wrote each one to match its level, so the
table gives how often the proposal equals that level (and is within one), and how often the quoted rubric line
was the item's own line for the level proposed (after the correction `interview.parse_reply` makes).

    AIMS_LLM_MODEL=openai/smollm2 AIMS_LLM_API_BASE=http://127.0.0.1:8080/v1 python benchmarks/llm_eval.py

With no model configured it measures the offline summariser (shape "offline", no interview).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from dashboard import interview, llm, scoring, summarize  # noqa: E402
from dashboard.access import local_admin  # noqa: E402
from dashboard.catalog import Catalog, load_catalog  # noqa: E402
from dashboard.db import connect  # noqa: E402
from dashboard.extract import sentences  # noqa: E402

ADMIN = local_admin("llm-eval")  # the evaluation reads the whole organisation, as the command line does
SCOPES = (summarize.Scope("executive"), summarize.Scope("unit", "Retail Banking"),
          summarize.Scope("section", "A.6"), summarize.Scope("item", "A.5.2"))
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*%?")


@dataclass(frozen=True)
class Row:
    what: str
    engine: str
    shape: str
    citations: str
    numbers: str
    weakest: str
    seconds: float


def numbers_in(text: str) -> set[str]:
    """The numbers in a text, as written (2.78, 81%, 2026), without trailing dots."""
    return {n.rstrip(".,") for n in _NUMBER.findall(text)}


def _weakest(request: summarize.Request, catalog: Catalog) -> list[tuple[str, str]]:
    """The three weakest sections in the facts, as (number, title)."""
    scored: list[tuple[float, str]] = []
    for fact in request.facts:
        found = re.match(r"(?:section |.* · )(A\.\d+|\d+) .*?maturity (\d+\.\d+).*?(?:target (\d+\.\d+))?", fact)
        if found and found.group(1) in catalog.section_by_id:
            maturity = float(found.group(2))
            gap = float(found.group(3)) - maturity if request.scope.kind == "unit" and found.group(3) else -maturity
            scored.append((-gap, found.group(1)))
    return [(sid, catalog.section_by_id[sid].title) for _, sid in sorted(scored)[:3]]


def score_summary(request: summarize.Request, summary: summarize.Summary, sent_text: str,
                  catalog: Catalog) -> tuple[str, str, str]:
    """(citations, numbers, weakest) for one summary."""
    cited = sum(len(p.citations) for p in summary.points)
    citations = f"{cited}/{cited + summary.dropped_citations}"
    known = numbers_in(sent_text)
    said = [s for text in (*summary.paragraphs, *(p.text for p in summary.points)) for s in sentences(text)]
    with_numbers = [s for s in said if numbers_in(s)]
    faithful = sum(numbers_in(s) <= known for s in with_numbers)
    weakest = "-"
    if request.scope.kind in ("executive", "unit"):
        text = " ".join(said).lower()
        named = [sid for sid, title in _weakest(request, catalog)
                 if title.lower() in text or re.search(rf"(?<![\w.]){re.escape(sid.lower())}(?![\d])", text)]
        weakest = f"{len(named)}/3"
    return citations, f"{faithful}/{len(with_numbers)}", weakest


def evaluate_summaries(db: Path, config: llm.LLMConfig, catalog: Catalog) -> list[Row]:
    rows = []
    for scope in SCOPES:
        with connect(db) as con:
            request = summarize.prepare(con, scope, catalog, principal=ADMIN)
        window = llm.context(config) if config.enabled else None
        chat, _ = summarize.messages(request, summarize.input_budget(request, config, window) if window else 24000)
        started = time.monotonic()
        summary = summarize.generate(request, config, catalog)
        seconds = time.monotonic() - started
        shape = "offline" if not config.enabled else ("yes" if not summary.offline else "no")
        citations, numbers, weakest = score_summary(request, summary, "\n".join(m["content"] for m in chat), catalog)
        what = f"summary: {scope.kind}" + (f" {scope.key}" if scope.key else "")
        rows.append(Row(what, summary.engine if not summary.offline else "offline", shape, citations, numbers,
                        weakest, seconds))
        if summary.offline and config.enabled:
            print(f"  {what}: {summary.notice}", file=sys.stderr)
    return rows


def interview_sample(db: Path, count: int, seed: int = 7) -> list[tuple[str, str, int]]:
    """(item, evidence, level) of `count` demo answers written to match their level: a fixed sample, taking the
    levels in turn."""
    with connect(db) as con:
        items = scoring.item_scores(con, scoring.select_assessments(con, principal=ADMIN))
    rows = [(r.item_id, r.evidence.strip(), int(r.maturity)) for r in items.itertuples()
            if isinstance(r.evidence, str) and len(r.evidence.split()) >= 6 and not pd.isna(r.maturity)]
    rng, by_level = random.Random(seed), {}
    for row in sorted(rows):
        by_level.setdefault(row[2], []).append(row)
    queues = [rng.sample(found, len(found)) for _, found in sorted(by_level.items())]
    picked: list[tuple[str, str, int]] = []
    while len(picked) < count and any(queues):  # the levels in turn: every level is heard
        picked += [queue.pop() for queue in queues if queue][:count - len(picked)]
    return picked


def evaluate_interview(db: Path, config: llm.LLMConfig, catalog: Catalog, count: int) -> tuple[Row, list[str]]:
    exact = near = quoted = answered = 0
    started, details = time.monotonic(), []
    for item_id, evidence, level in interview_sample(db, count):
        item = catalog.by_id[item_id]
        try:
            kind, proposal, _ = llm.complete_json(
                config, interview.messages(item, (evidence,), False), lambda d, i=item: interview.parse_reply(i, d),
                reply_model=interview.interview_schema_model(item), max_tokens=interview.REPLY_TOKENS)[0]
        except llm.LLMError as exc:
            details.append(f"{item_id} (demo level {level}): no proposal — {exc}")
            continue
        if proposal is None:
            details.append(f"{item_id} (demo level {level}): {kind}")
            continue
        answered += 1
        exact += proposal.level == level
        near += abs(proposal.level - level) <= 1
        quoted += proposal.said_level is None
        details.append(f"{item_id} (demo level {level}): proposed {proposal.level}"
                       + (f" (wrote {proposal.said_level}, quoted line {proposal.level})" if proposal.said_level is not None
                          else ""))
    n = len(details)
    row = Row(f"interview: {n} answers", config.model, f"{answered}/{n}", f"line of the level: {quoted}/{answered}",
              f"exact: {exact}/{n}", f"within one: {near}/{n}", time.monotonic() - started)
    return row, details


def table(rows: list[Row]) -> str:
    head = "| what | engine | shape | citations real | sentences with numbers all in the facts | weakest named | s |"
    lines = [head, "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.what} | {r.engine} | {r.shape} | {r.citations} | {r.numbers} | {r.weakest} | {r.seconds:.1f} |"
              for r in rows]
    return "\n".join(lines)


def run(db: Path | None, config: llm.LLMConfig, interview_count: int) -> tuple[list[Row], list[str]]:
    """Every summary kind and (with a model) the interview; the demo data in a temporary file unless `db`."""
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        if db is None:
            from etl.demo import load_demo

            db = Path(tmp) / "demo.duckdb"
            with connect(db) as con:
                load_demo(con, principal=ADMIN, by="llm-eval", catalog=catalog)
        rows = evaluate_summaries(db, config, catalog)
        details: list[str] = []
        if config.enabled and interview_count:
            row, details = evaluate_interview(db, config, catalog, interview_count)
            rows.append(row)
    return rows, details


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a database to read (default: the demo data in a temporary file)")
    parser.add_argument("--interview", type=int, default=12, help="demo answers to send to the interview (default 12)")
    args = parser.parse_args(argv)
    config = llm.load_config(remote_confirmed=True)
    print(f"Model: {config.describe()}" + (f"; {llm.context(config).describe()}" if config.enabled else ""),
          file=sys.stderr)
    rows, details = run(args.db, config, args.interview)
    print(table(rows))
    for line in details:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
