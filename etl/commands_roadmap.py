"""Commands `roadmap`, `soa` and `report` of `python -m etl` (a plugin listed in `etl.cli.PLUGINS`).

Each parses its arguments, picks the assessments with `scoring.select_assessments` and calls one library
function: `etl.roadmap_exports.roadmap_file` / `soa_file`, or `etl.report.build_report` (+ `html_to_pdf`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import duckdb

from dashboard import scoring, selection, store
from dashboard.access import local_admin
from etl.cli import EXIT_ERROR, EXIT_OK, _err

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the three commands to `python -m etl`'s subparsers."""
    road = commands.add_parser("roadmap", help="export the prioritised, phased roadmap as CSV or formatted Excel")
    road.add_argument("--format", choices=("csv", "xlsx"), required=True)
    road.add_argument("--out", required=True, help="the file to write")
    _selection(road)
    road.add_argument("--organisation", action="store_true",
                      help="organisation view: the same item across units merged into one action with the list of units")
    road.add_argument("--scope", choices=("both", "clause", "annex_a"), default="both",
                      help="actions of clauses 4-10, of Annex A, or both (default)")
    road.set_defaults(run=_cmd_roadmap)

    soa = commands.add_parser("soa", help="export a unit's Statement of Applicability (Annex A) as CSV or Excel")
    soa.add_argument("--unit", required=True, help="the business unit")
    soa.add_argument("--assessment", metavar="LABEL", help="round label (default: the unit's latest assessment covering Annex A)")
    soa.add_argument("--format", choices=("csv", "xlsx"), required=True)
    soa.add_argument("--out", required=True, help="the file to write")
    soa.add_argument("--org-name", default="", help="organisation name for the cover sheet")
    soa.set_defaults(run=_cmd_soa)

    report = commands.add_parser("report", help="write the executive report as one HTML file that opens offline (and a PDF)")
    report.add_argument("--out", required=True, help="the .html file to write")
    report.add_argument("--pdf", help="also print it to this .pdf file (needs Chromium)")
    _selection(report)
    report.set_defaults(run=_cmd_report)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", action="append", metavar="UNIT", help="only this business unit; repeat for several (default: all)")
    parser.add_argument("--round", dest="round_label", metavar="LABEL",
                        help="only this round, e.g. 2026-Q3 (default: each unit's latest assessment)")
    parser.add_argument("--org-name", default="", help="organisation name for the cover sheet / report title")


def _select(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> list[selection.Pick]:
    """The assessments chosen by --unit and --round; a name that matches nothing is an error, not an empty file."""
    known = {name.lower(): name for name in store.list_units(con)["name"]}
    units = []
    for unit in args.unit or []:
        if unit.strip().lower() not in known:
            raise store.StoreError(f"no business unit named {unit!r}")
        units.append(known[unit.strip().lower()])
    if args.round_label and args.round_label not in scoring.rounds(con):
        raise store.StoreError(f"no round labelled {args.round_label!r} (known: {', '.join(scoring.rounds(con)) or 'none'})")
    ids = scoring.select_assessments(con, principal=local_admin(), units=units or None, round_label=args.round_label or scoring.LATEST)
    if not ids:
        raise store.StoreError("no assessment matches the chosen units and round")
    return ids


def _cmd_roadmap(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from etl.roadmap_exports import roadmap_file

    with connect(args.db, on_wait=_err) as con:
        ids = _select(con, args)
        data = roadmap_file(con, ids, args.format, organisation_view=args.organisation, organisation=args.org_name,
                            round_label=args.round_label or scoring.LATEST, scope=args.scope)
    Path(args.out).write_bytes(data)
    view = "organisation roadmap" if args.organisation else "roadmap"
    print(f"Wrote the {view} of {len(selection.assessment_ids(ids))} assessment(s) to {args.out}")
    return EXIT_OK


def _cmd_soa(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from etl.roadmap_exports import find_soa_assessment, soa_file

    with connect(args.db, on_wait=_err) as con:
        assessment = find_soa_assessment(con, args.unit, args.assessment)
        data = soa_file(con, assessment.id, args.format, organisation=args.org_name)
    Path(args.out).write_bytes(data)
    print(f"Wrote the Statement of Applicability of {assessment.unit} {assessment.label} to {args.out}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from etl.report import PdfUnavailable, build_report, html_to_pdf

    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        _err(f"error: --out {args.out} does not end in .html")
        return EXIT_ERROR
    if args.pdf and Path(args.pdf).suffix.lower() != ".pdf":
        _err(f"error: --pdf {args.pdf} does not end in .pdf")
        return EXIT_ERROR
    with connect(args.db, on_wait=_err) as con:
        ids = _select(con, args)
        page = build_report(con, ids, organisation=args.org_name, round_label=args.round_label or scoring.LATEST)
    Path(args.out).write_text(page, encoding="utf-8")
    print(f"Wrote the report of {len(selection.assessment_ids(ids))} assessment(s) to {args.out} (opens offline: charts embedded)")
    if args.pdf:
        try:
            html_to_pdf(args.out, args.pdf)
        except PdfUnavailable as exc:
            _err(f"{exc} The HTML report was written.")
            return EXIT_ERROR
        print(f"Wrote the PDF to {args.pdf}")
    return EXIT_OK
