"""`python -m etl summarize`: a summary of the units' free text, with the engine that made it and its citations.

The command never reads standard input: a provider outside this machine is used without a prompt (set
AIMS_LLM_ALLOW_REMOTE=false to forbid it), and with no model configured the offline summary is printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from dashboard import llm, scoring, summarize
    from dashboard.access import local_admin

    if args.executive and (args.unit or args.section or args.item):
        print("error: --executive covers the whole organisation; leave out --unit, --section and --item", file=sys.stderr)
        return 1
    if args.section and args.item:
        print("error: choose --section or --item, not both", file=sys.stderr)
        return 1
    if args.item or args.section:
        scope = summarize.Scope("item" if args.item else "section", args.item or args.section, unit=args.unit or "",
                                round_label=args.round or scoring.LATEST)
    elif args.unit:
        scope = summarize.Scope("unit", args.unit, round_label=args.round or scoring.LATEST)
    else:
        scope = summarize.Scope("executive", round_label=args.round or scoring.LATEST)
    config = llm.LLMConfig() if args.offline else llm.load_config(remote_confirmed=True)

    def progress(message: str) -> None:
        print(message, file=sys.stderr)

    if config.enabled:
        progress(f"Summarising with {config.describe()}…")
    try:
        summary = summarize.summarize(args.db, scope, config, principal=local_admin(), force=args.regenerate, on_retry=progress)
    except summarize.SummaryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summarize.to_text(summary))
    for point in summary.points:
        for citation in point.citations:
            print(f"cite: {citation.unit} | {citation.item_id} | assessment {citation.assessment_id}")
    return 0


def register(commands: Any) -> None:
    """Add the `summarize` command to the `python -m etl` parser."""
    parser = commands.add_parser(
        "summarize", help="summarise the units' evidence and notes (offline unless AIMS_LLM_MODEL is set)",
        description="With no option: the executive summary of the organisation. --unit alone: one unit's strengths, "
                    "weaknesses and thin evidence. --section or --item: what the units say about it (optionally "
                    "only --unit's). Model results are cached in the database; --regenerate asks the model again.",
    )
    parser.add_argument("--unit", help="a business unit")
    parser.add_argument("--section", help="a section across units: 4…10 or A.2…A.10")
    parser.add_argument("--item", help="an item across units, such as 6.1.2 or A.5.2")
    parser.add_argument("--executive", action="store_true", help="the executive summary (the default)")
    parser.add_argument("--round", help="a round label such as 2026-Q3 (default: each unit's latest assessment)")
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached summary and ask the model again")
    parser.add_argument("--offline", action="store_true", help="use the offline extractive summariser even if a model is set")
    parser.set_defaults(run=_run)
