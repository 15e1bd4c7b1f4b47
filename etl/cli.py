"""The command line: `python -m etl template|import|export|demo …`.

Each command parses its arguments and calls the library; errors go to stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from dashboard import settings
from dashboard.access import local_admin

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_REJECTED = 0, 1, 2

# Modules that add commands: each has `register(commands)` taking argparse's subparsers object and
# setting `run=` on its parsers (a function of the parsed arguments returning the exit code).
PLUGINS: tuple[str, ...] = ("etl.commands_summarize", "etl.commands_roadmap", "etl.commands_units", "etl.commands_frameworks",
                            "etl.commands_board", "etl.commands_access", "etl.commands_campaign",
                            "etl.commands_store")


def _user() -> str:
    configured = settings.get("AIMS_USER")
    if configured:
        return configured
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "command line"


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _cmd_template(args: argparse.Namespace) -> int:
    from dashboard.catalog import load_catalog
    from etl.template import build_template

    Path(args.out).write_bytes(build_template(load_catalog()))
    print(f"Wrote the import template ({len(load_catalog().items)} items) to {args.out}")
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    """Each file is read and validated before the database is opened, so that a bad or hostile file never
    keeps the dashboard and other commands waiting on the lock; only a valid file is then loaded."""
    from dashboard.catalog import load_catalog
    from dashboard.db import connect
    from etl.importer import FileResult, import_bytes, validate_bytes
    from etl.mapping import MappingError, load_mapping
    from etl.unit_aliases import alias_hints, parse_unit_aliases, with_unit_aliases

    try:
        mapping = with_unit_aliases(load_mapping(args.mapping), parse_unit_aliases(args.unit_alias))
    except MappingError as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
    catalog = load_catalog()
    status = EXIT_OK
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            _err(f"error: {name}: no such file")
            status = EXIT_REJECTED
            continue
        data = path.read_bytes()
        options = {"unit": args.unit, "label": args.assessment, "mapping": mapping}
        batch, report = validate_bytes(str(path), data, catalog, **options)
        if batch is None or not report.ok:
            result = FileResult(str(path), "rejected", report.problems, rows_read=batch.rows_read if batch else 0)
        else:
            with connect(args.db, on_wait=_err) as con:
                result = import_bytes(con, str(path), data, principal=local_admin(_user()), by=_user(), catalog=catalog,
                                      dry_run=args.dry_run, validated=(batch, report), **options)
        for problem in result.problems:
            _err(str(problem))
        if hints := alias_hints(result.problems):
            _err("To use the existing unit instead: undo this import (python -m etl undo-import "
                 f"{result.import_id}) and import again with {' '.join(hints)}" if result.status == "imported" else
                 f"To use the existing unit instead, add {' '.join(hints)}")
        if result.ok:
            print(result.describe())
        else:
            _err(result.describe())
            status = EXIT_REJECTED
    return status


def _cmd_export(args: argparse.Namespace) -> int:
    from dashboard import scoring, store
    from dashboard.access import local_admin
    from dashboard.catalog import load_catalog
    from dashboard.pulled import reading
    from etl import exports, response_exports

    catalog = load_catalog()
    with reading(args.db, on_wait=_err) as con:  # on a server: DuckDB over its tables, the figures as on a file
        if args.unit and not any(u.lower() == args.unit.lower() for u in store.list_units(con, True)["name"]):
            _err(f"error: no business unit named {args.unit!r}")
            return EXIT_ERROR
        ids = None
        if args.unit:
            ids = store.list_assessments(con).query("unit.str.lower() == @args.unit.lower()")["id"].tolist()
        if args.what == "responses":  # cut into parts when one file would be above the import limit
            try:
                files, rows = response_exports.write_responses(con, args.out, args.format, principal=local_admin(),
                                                               assessment_ids=ids)
            except ValueError as exc:
                _err(f"error: {exc}")
                return EXIT_ERROR
            if len(files) > 1:
                print(f"Wrote {rows} rows of responses to {len(files)} files, each within the import limit "
                      "(AIMS_MAX_UPLOAD_MB); import them together: python -m etl import " + " ".join(map(str, files)))
            else:
                print(f"Wrote {rows} rows of responses to {args.out}")
            return EXIT_OK
        if args.what == "scores":
            table = exports.scores_table(scoring.section_scores(con, ids), catalog)
        else:
            table = exports.assessments_table(scoring.assessment_scores(con, ids), catalog)
    exports.write(table, args.out, args.format, sheet=args.what.capitalize())
    print(f"Wrote {len(table)} rows of {args.what} to {args.out}")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from etl.demo import load_demo

    with connect(args.db, on_wait=_err) as con:
        results = load_demo(con, principal=local_admin(_user()), by=_user())
    failed = [r for r in results if not r.ok]
    for result in results:
        for problem in result.problems:
            _err(str(problem))
        (_err if not result.ok else print)(result.describe())
    return EXIT_REJECTED if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m etl",
        description="Load, score and export ISO/IEC 42001 gap assessments.",
        epilog="The database is data/aims.duckdb unless --db or the AIMS_DB environment variable says otherwise. "
               "The command line has no sign-in: it acts as a local administrator (every unit, every change), "
               "recorded in the change log under AIMS_USER or the login name.",
    )
    parser.add_argument("--db", help="DuckDB database file or postgresql:// URL (default: $AIMS_DB or data/aims.duckdb)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    template = commands.add_parser("template", help="write the canonical import workbook (one row per catalog item)")
    template.add_argument("--out", required=True, help="where to write the .xlsx file")
    template.set_defaults(run=_cmd_template)

    imp = commands.add_parser("import", help="import .xlsx/.xlsm/.csv files (our template or other layouts), all or nothing per file")
    imp.add_argument("files", nargs="+", metavar="FILE", help="the files to import")
    imp.add_argument("--unit", help="business unit for rows that name none")
    imp.add_argument("--assessment", help="round label (e.g. 2026-Q3) for rows that name none")
    imp.add_argument("--dry-run", action="store_true", help="validate and report what would change, write nothing")
    imp.add_argument("--mapping", metavar="JSON", help='correct the recognised columns: JSON text or a .json file, '
                     'e.g. \'{"maturity": "Score", "unit": "C", "notes": null}\' (see the README)')
    imp.add_argument("--unit-alias", action="append", metavar="NAME=EXISTING",
                     help='use an existing unit for a unit name in the file, e.g. "Group I.T.=Group IT" (repeatable; '
                          'the same as {"units": {...}} in --mapping)')
    imp.set_defaults(run=_cmd_import)

    exp = commands.add_parser("export", help="export responses, section scores or assessment scores")
    exp.add_argument("what", choices=("responses", "scores", "assessments"),
                     help="responses: canonical rows (re-importable); scores: one row per section of each "
                          "assessment; assessments: headline figures per assessment")
    exp.add_argument("--format", choices=("csv", "xlsx"), required=True)
    exp.add_argument("--out", required=True, help="the file to write")
    exp.add_argument("--unit", help="only this business unit")
    exp.set_defaults(run=_cmd_export)

    demo = commands.add_parser("demo", help="load the demo data set through the import path")
    demo.set_defaults(run=_cmd_demo)
    for module in PLUGINS:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "format", None) and getattr(args, "out", None):
        suffix = Path(args.out).suffix.lower().lstrip(".")
        if suffix and suffix != args.format:
            _err(f"error: --out {args.out} does not end in .{args.format}")
            return EXIT_ERROR
    from dashboard.catalog import CatalogError
    from dashboard.db import DatabaseBusy
    from dashboard.store import StoreError

    try:
        return int(args.run(args))
    except (CatalogError, DatabaseBusy, StoreError, OSError) as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
