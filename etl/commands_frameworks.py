"""Command `frameworks` of `python -m etl` (a plugin listed in `etl.cli.PLUGINS`):

    python -m etl frameworks list
    python -m etl frameworks readiness --framework eu-ai-act --format csv --out readiness.csv [--unit NAME] [--round LABEL] [--set ID]
    python -m etl frameworks import-mapping mine.csv --framework nist-ai-rmf --made-by "Me" --licence CC-BY-4.0 [--set-id ID]
    python -m etl frameworks import-mapping ciso-library.yaml [--replace]
    python -m etl frameworks remove-mapping ID
    python -m etl frameworks propose isms-assessment.xlsx [--unit NAME] [--assessment LABEL]
    python -m etl frameworks proposals [--unit NAME]
    python -m etl frameworks accept --unit NAME --assessment LABEL --item 9.2.1 [--level N]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dashboard.access import local_admin
from etl.cli import EXIT_ERROR, EXIT_OK, EXIT_REJECTED, _err, _user

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add `frameworks` and its sub-commands to `python -m etl`'s subparsers."""
    from etl.commands_roadmap import _selection

    group = commands.add_parser("frameworks", help="readiness for the EU AI Act, NIST AI RMF and ISO/IEC 27001 derived "
                                                   "from the 42001 answers, and the mapping sets behind it")
    sub = group.add_subparsers(dest="frameworks_command", required=True, metavar="ACTION")

    listing = sub.add_parser("list", help="the frameworks and every mapping set (ours and imported) with its provenance")
    listing.set_defaults(run=_cmd_list)

    ready = sub.add_parser("readiness", help="derived readiness per unit and requirement, as CSV or Excel")
    ready.add_argument("--framework", required=True, help="eu-ai-act, nist-ai-rmf or iso-27001")
    ready.add_argument("--set", dest="set_id", help="the mapping set to use (default: ours for that framework)")
    ready.add_argument("--format", choices=("csv", "xlsx"), required=True)
    ready.add_argument("--out", required=True, help="the file to write")
    _selection(ready)
    ready.set_defaults(run=_cmd_readiness)

    imp = sub.add_parser("import-mapping", help="import a mapping set: a CSV in our layout or a CISO Assistant mapping library (YAML)")
    imp.add_argument("file", help="the .csv or .yaml file")
    imp.add_argument("--framework", default="", help="the framework the set maps to (required for a CSV)")
    imp.add_argument("--set-id", default="", help="the set's id (default: from the file)")
    imp.add_argument("--name", default="", help="the set's name")
    imp.add_argument("--made-by", default="", help="who made the mapping (required for a CSV)")
    imp.add_argument("--made-on", default="", help="when it was made")
    imp.add_argument("--made-from", default="", help="what it was made from")
    imp.add_argument("--licence", default="", help="the licence under which you may use it (required for a CSV)")
    imp.add_argument("--reviewed-by", default="", help="who reviewed it")
    imp.add_argument("--replace", action="store_true", help="replace an imported set with the same id (never one of ours)")
    imp.set_defaults(run=_cmd_import)

    pre = sub.add_parser("propose", help="import an ISO/IEC 27001 assessment: its levels become proposals for the equal "
                                         "42001 items, to accept or change")
    pre.add_argument("file", help="the .xlsx/.csv file, in our import layouts with ISO/IEC 27001 ids")
    pre.add_argument("--unit", help="business unit for rows that name none")
    pre.add_argument("--assessment", help="round label for rows that name none")
    pre.set_defaults(run=_cmd_propose)

    pending = sub.add_parser("proposals", help="list the open proposals (and their source)")
    pending.add_argument("--unit", help="only this business unit")
    pending.set_defaults(run=_cmd_proposals)

    decide = sub.add_parser("accept", help="accept a proposal (or save another level with --level) as the answer")
    decide.add_argument("--unit", required=True)
    decide.add_argument("--assessment", required=True, help="the round label")
    decide.add_argument("--item", required=True, help="the 42001 item, e.g. 9.2.1")
    decide.add_argument("--level", type=int, choices=range(6), help="save this level instead of the proposed one")
    decide.set_defaults(run=_cmd_accept)

    rm = sub.add_parser("remove-mapping", help="remove an imported mapping set (ours cannot be removed)")
    rm.add_argument("set_id", help="the set's id")
    rm.set_defaults(run=_cmd_remove)


def _cmd_list(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from dashboard.frameworks import load_frameworks
    from dashboard.mapping_store import list_sets

    for framework in load_frameworks().values():
        print(f"{framework.id}: {framework.name} — {len(framework.requirements)} requirements ({framework.version}; "
              f"{framework.publisher}; {framework.source})")
    with connect(args.db, on_wait=_err) as con:
        sets = list_sets(con)
    for row in sets.to_dict("records"):  # each set with its whole provenance: who, when, from what, licence, review
        print(f"set {row['id']} -> {row['framework']} [{row['origin']}]: {row['mappings']} mappings, {row['no counterpart']} "
              f"without counterpart; {row['name']}")
        print(f"    made by {row['made by']}" + (f" on {row['made on']}" if row["made on"] else "")
              + (f"; made from: {' '.join(str(row['made from']).split())}" if row["made from"] else "")
              + f"; licence: {row['licence']}; reviewed by: {row['reviewed by'] or 'nobody named'}"
              + (f"; imported from {row['file']} by {row['imported by']} at {row['imported at']}" if row["file"] else ""))
    return EXIT_OK


def _cmd_readiness(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from dashboard.frameworks import load_frameworks
    from etl.commands_roadmap import _select
    from etl.framework_exports import readiness_file

    if args.framework not in load_frameworks():
        _err(f"error: unknown framework {args.framework!r} (known: {', '.join(load_frameworks())})")
        return EXIT_ERROR
    with connect(args.db, on_wait=_err) as con:
        ids = _select(con, args)
        try:
            data = readiness_file(con, ids, args.framework, args.format, args.set_id)
        except KeyError as exc:
            _err(f"error: {exc.args[0]}")
            return EXIT_ERROR
    Path(args.out).write_bytes(data)
    print(f"Wrote the {args.framework} readiness of {len(ids)} assessment(s) to {args.out}")
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from dashboard.mapping_store import MappingSetError, save_imported
    from etl.crosswalk_import import CrosswalkError, Provenance, parse_mapping_file

    path = Path(args.file)
    if not path.is_file():
        _err(f"error: {args.file}: no such file")
        return EXIT_ERROR
    provenance = Provenance(set_id=args.set_id, name=args.name, target_framework=args.framework, made_by=args.made_by,
                            made_on=args.made_on, made_from=args.made_from, licence=args.licence, reviewed_by=args.reviewed_by)
    try:
        mapping, digest = parse_mapping_file(path.name, path.read_bytes(), provenance)
    except CrosswalkError as exc:
        for problem in exc.problems:
            _err(problem)
        _err(f"{path.name}: refused, nothing imported")
        return EXIT_REJECTED
    with connect(args.db, on_wait=_err) as con:
        try:
            outcome = save_imported(con, mapping, content_hash=digest, by=_user(), principal=local_admin(_user()),
                                    replace=args.replace)
        except MappingSetError as exc:
            _err(f"error: {path.name}: {exc}")
            return EXIT_REJECTED
    if outcome == "unchanged":
        print(f"{path.name}: already imported as mapping set {mapping.id}; nothing changed")
    else:
        print(f"{path.name}: {outcome} mapping set {mapping.id} -> {mapping.target_framework}: {len(mapping.mapped)} mappings, "
              f"{len(mapping.rows) - len(mapping.mapped)} without counterpart ({mapping.describe()})")
    return EXIT_OK


def _cmd_remove(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from dashboard.mapping_store import MappingSetError, delete_imported

    with connect(args.db, on_wait=_err) as con:
        try:
            removed = delete_imported(con, args.set_id)
        except MappingSetError as exc:
            _err(f"error: {exc}")
            return EXIT_ERROR
    if not removed:
        _err(f"error: no imported mapping set {args.set_id!r}")
        return EXIT_ERROR
    print(f"Removed mapping set {args.set_id}")
    return EXIT_OK


def _cmd_propose(args: argparse.Namespace) -> int:
    from dashboard.db import connect
    from dashboard.store import StoreError
    from etl.prefill_27001 import propose_from_file

    path = Path(args.file)
    if not path.is_file():
        _err(f"error: {args.file}: no such file")
        return EXIT_ERROR
    with connect(args.db, on_wait=_err) as con:
        try:
            reading, counts = propose_from_file(con, path.name, path.read_bytes(), by=_user(), unit=args.unit, label=args.assessment)
        except StoreError as exc:
            _err(f"error: {path.name}: {exc}")
            return EXIT_REJECTED
    if counts is None:
        for problem in reading.problems:
            _err(problem)
        _err(f"{path.name}: refused, nothing proposed")
        return EXIT_REJECTED
    print(f"{path.name}: {len(reading.rows)} ISO/IEC 27001 answers read; {counts.describe()}")
    return EXIT_OK


def _cmd_proposals(args: argparse.Namespace) -> int:
    from dashboard import proposals
    from dashboard.db import connect

    with connect(args.db, on_wait=_err) as con:
        found = proposals.proposals(con, principal=local_admin(_user()))
    if args.unit:
        found = found[found["unit"].str.lower() == args.unit.strip().lower()]
    for row in found.itertuples(index=False):
        print(f"{row.unit} · {row.assessment} · {row.item_id} {row.title}: level {row.level} ({row.source}, {row.filename})")
    print(f"{len(found)} open proposal(s)")
    return EXIT_OK


def _cmd_accept(args: argparse.Namespace) -> int:
    from dashboard import proposals, store
    from dashboard.db import connect

    with connect(args.db, on_wait=_err) as con:
        assessment = store.get_assessment(con, unit=args.unit, label=args.assessment)
        if assessment is None:
            _err(f"error: no assessment of {args.unit!r} labelled {args.assessment!r}")
            return EXIT_ERROR
        try:
            outcome = proposals.decide(con, assessment.id, args.item, by=_user(), principal=local_admin(_user()), level=args.level)
        except proposals.ProposalError as exc:
            _err(f"error: {exc}")
            return EXIT_ERROR
    print(f"{args.unit} · {args.assessment} · {args.item}: proposal {outcome}")
    return EXIT_OK
