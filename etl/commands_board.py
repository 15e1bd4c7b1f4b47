"""Commands for the board meeting: the deck (`deck`) and the organisation's name on every cover (`organisation`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dashboard import scoring, selection
from etl.commands_roadmap import _select, _selection

EXIT_OK, EXIT_ERROR = 0, 1


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def register(commands: Any) -> None:
    deck = commands.add_parser("deck", help="write the board deck (.pptx): headline, charts, heatmap, themes, roadmap")
    deck.add_argument("--out", required=True, help="the .pptx file to write")
    _selection(deck)
    deck.set_defaults(run=_cmd_deck)
    org = commands.add_parser("organisation", help="show or set the organisation's name used on reports, decks and exports")
    org.add_argument("--name", help="the new name (an empty string clears it)")
    org.set_defaults(run=_cmd_organisation)


def _cmd_deck(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from etl.deck import build_deck

    if Path(args.out).suffix.lower() != ".pptx":
        _err(f"error: --out {args.out} does not end in .pptx")
        return EXIT_ERROR
    with connect(args.db, on_wait=_err) as con:
        ids = _select(con, args)
        data = build_deck(con, ids, round_label=args.round_label or scoring.LATEST,
                          organisation_name=args.org_name or None)
    Path(args.out).write_bytes(data)
    print(f"Wrote the board deck of {len(selection.assessment_ids(ids))} assessment(s) to {args.out}")
    return EXIT_OK


def _cmd_organisation(args: argparse.Namespace) -> int:
    from dashboard import organisation
    from dashboard.db import connect

    with connect(args.db, on_wait=_err) as con:
        if args.name is None:
            print(organisation.name(con) or "(no organisation name set)")
            return EXIT_OK
        try:
            stored = organisation.set_name(con, args.name)
        except ValueError as exc:
            _err(f"error: {exc}")
            return EXIT_ERROR
    print(f"Organisation name: {stored}" if stored else "Organisation name cleared")
    return EXIT_OK
