"""`python -m etl campaign start|list|status|submit|return|finalise|overdue`: campaigns from the command line.

Like every command, it has no sign-in and acts as a local administrator (recorded under AIMS_USER or the login
name): it may launch, submit, return and finalise any round. Refusals (a clash of round labels, an incomplete
round, a transition the round's state does not allow) print the reason on stderr and exit 1; nothing is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["register"]

EXIT_OK, EXIT_ERROR = 0, 1


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _admin() -> Any:
    from dashboard.access import local_admin
    from etl.cli import _user

    return local_admin(_user())


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def _pairs(given: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    out = []
    for text in given or []:
        key, sep, value = text.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{option} {text!r}: write it as NAME=VALUE")
        out.append((key.strip(), value.strip()))
    return out


def print_table(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    """A plain fixed-width table: the given columns under their headers, blanks empty."""
    cells = [[("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)) for v in frame[c]]
             for c in columns]
    widths = [max([len(h), *(len(v) for v in col)]) for h, col in zip(columns.values(), cells, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(columns.values(), widths, strict=True)).rstrip())
    for row in zip(*cells, strict=True):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


# --- the commands -----------------------------------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    from dashboard import campaigns, rounds
    from dashboard.db import connect
    from etl.cli import _user

    assessors: dict[str, list[str]] = {}
    try:
        for unit, email in _pairs(args.assessor, "--assessor"):
            assessors.setdefault(unit, []).append(email)
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
    if not args.unit and not args.parent:
        _err("error: name the units (--unit, repeated) or a parent unit (--parent)")
        return EXIT_ERROR
    day = args.date or dt.date.today()
    with connect(args.db, on_wait=_err) as con:
        found = campaigns.launch(con, name=args.name, units=args.unit, parent=args.parent, scope=args.scope,
                                 label=args.label or rounds.default_label(day), assessed_on=day, due_on=args.due,
                                 default_target=args.target, assessors=assessors, copy_previous=args.copy_previous,
                                 principal=_admin(), by=_user())
    print(f"Launched campaign {found.id} {found.name!r}: {len(found.units)} round(s) {found.label} ({found.scope}) "
          f"dated {found.assessed_on}" + (f", due {found.due_on}" if found.due_on else "") + ".")
    print("Units: " + ", ".join(f"{u} (assessment {i})" for u, i in zip(found.units, found.assessment_ids, strict=True)))
    if found.granted:
        print("Assessor role granted: " + "; ".join(found.granted))
    if args.copy_previous:
        print(f"Answers copied from previous rounds: {found.copied}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from dashboard import campaigns
    from dashboard.db import connect

    with connect(args.db, on_wait=_err) as con:
        found = campaigns.campaigns(con, principal=_admin())
    if found.empty:
        print("No campaign yet: python -m etl campaign start --name … --unit … (or --parent …)")
        return EXIT_OK
    found["due_on"] = [None if pd.isna(d) else f"{pd.Timestamp(d):%Y-%m-%d}" for d in found["due_on"]]
    found["created_at"] = [f"{pd.Timestamp(d):%Y-%m-%d %H:%M}" for d in found["created_at"]]
    print_table(found, {"id": "Id", "name": "Campaign", "label": "Round", "scope": "Scope", "due_on": "Due",
                        "units": "Units", "finalised": "Finalised", "created_by": "Launched by",
                        "created_at": "Launched at"})
    return EXIT_OK


def _campaign_id(con: Any, given: int | None) -> tuple[int, dict[str, Any]]:
    from dashboard import campaigns

    found = campaigns.campaigns(con, principal=_admin())
    if found.empty:
        raise campaigns.CampaignError("No campaign yet: launch one with python -m etl campaign start.")
    if given is None:
        row = found.iloc[0]
    else:
        match = found[found["id"] == given]
        if match.empty:
            raise campaigns.CampaignError(f"No campaign with id {given} (python -m etl campaign list shows them).")
        row = match.iloc[0]
    return int(row["id"]), row.to_dict()


def _check_out(path: str | None, suffix: str, option: str) -> None:
    if path and Path(path).suffix.lower() != suffix:
        raise ValueError(f"{option} {path} does not end in {suffix}")


def _status(args: argparse.Namespace) -> int:
    from dashboard import campaigns
    from dashboard.db import connect
    from dashboard.timing import format_duration
    from etl import campaign_exports

    try:
        _check_out(args.csv, ".csv", "--csv")
        _check_out(args.xlsx, ".xlsx", "--xlsx")
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
    with connect(args.db, on_wait=_err) as con:
        campaign_id, campaign = _campaign_id(con, args.campaign)
        board = campaigns.board(con, campaign_id, principal=_admin())
    counts = board["state"].value_counts()
    print(f"Campaign {campaign_id} {campaign['name']!r}: round {campaign['label']} ({campaign['scope']}), "
          + (f"due {pd.Timestamp(campaign['due_on']):%Y-%m-%d}" if not pd.isna(campaign["due_on"]) else "no due date"))
    print(", ".join(f"{int(counts.get(s, 0))} {s}" for s in campaigns.STATES) + f"; {int(board['overdue'].sum())} overdue")
    shown = board.assign(
        answered=[f"{v:.0%}" for v in board["answered_pct"]],
        last=[None if pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d %H:%M}" for v in board["last_activity"]],
        late=[f"{d} d" if o else "" for d, o in zip(board["days_overdue"], board["overdue"], strict=True)],
        active=[format_duration(v) for v in board["active_s"]],
        comments=[str(c) if c else "" for c in board["returned_comments"]])
    print_table(shown, {"assessment_id": "Id", "unit": "Unit", "state": "State", "answered": "Answered",
                        "last": "Last activity", "late": "Overdue", "active": "Active time",
                        "comments": "Comments", "assessors": "Assessors"})
    if args.csv:
        Path(args.csv).write_bytes(campaign_exports.board_csv(board))
        print(f"Wrote the board ({len(board)} rows) to {args.csv}")
    if args.xlsx:
        Path(args.xlsx).write_bytes(campaign_exports.board_xlsx(board, campaign))
        print(f"Wrote the board ({len(board)} rows) to {args.xlsx}")
    return EXIT_OK


def _review(args: argparse.Namespace) -> int:
    from dashboard import review
    from dashboard.access import AccessDenied
    from dashboard.db import connect
    from etl.cli import _user

    step = args.campaign_action
    if step != "return" and (args.comment or args.round_comment):
        _err("error: comments go with return (python -m etl campaign return --assessment ID --comment ITEM=TEXT)")
        return EXIT_ERROR
    try:
        given: dict[str | None, str] = dict(_pairs(args.comment, "--comment"))
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
    if args.round_comment:
        given[None] = args.round_comment
    try:
        with connect(args.db, on_wait=_err) as con:
            if step == "submit":
                review.submit(con, args.assessment, principal=_admin(), by=_user())
            elif step == "return":
                stored = review.return_round(con, args.assessment, comments=given, principal=_admin(), by=_user())
            else:
                review.finalise(con, args.assessment, principal=_admin(), by=_user())
            state = review.review_state(con, args.assessment)
    except AccessDenied as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
    done = {"submit": "Submitted for review", "return": f"Returned with {stored if step == 'return' else 0} comment(s)",
            "finalise": "Finalised"}[step]
    print(f"{done}: assessment {args.assessment} is now {state}.")
    return EXIT_OK


def _overdue(args: argparse.Namespace) -> int:
    from dashboard import campaigns
    from dashboard.db import connect
    from etl import campaign_exports

    try:
        _check_out(args.csv, ".csv", "--csv")
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
    with connect(args.db, on_wait=_err) as con:
        campaign_id, campaign = _campaign_id(con, args.campaign)
        late = campaigns.overdue(con, campaign_id, principal=_admin())
    if late.empty:
        print(f"Campaign {campaign_id} {campaign['name']!r}: no round is overdue.")
    else:
        print(f"Campaign {campaign_id} {campaign['name']!r}: {len(late)} round(s) overdue (nothing is sent; the CSV "
              "holds a mailto: link per unit).")
        print_table(late.assign(due=[f"{pd.Timestamp(d):%Y-%m-%d}" for d in late["due_on"]]),
                    {"unit": "Unit", "state": "State", "due": "Due", "days_overdue": "Days overdue",
                     "assessors": "Assessors"})
    if args.csv:
        Path(args.csv).write_bytes(campaign_exports.overdue_csv(late))
        print(f"Wrote {len(late)} overdue round(s) to {args.csv}")
    return EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "campaign", help="launch a campaign (one round per unit), follow its board, review its rounds",
        description="Campaigns: one round for many units, their assessors, the board and the review (submit, return "
                    "with comments, finalise). Acts as a local administrator, recorded under AIMS_USER or the login "
                    "name.")
    actions = parser.add_subparsers(dest="campaign_action", required=True, metavar="ACTION")

    start = actions.add_parser("start", help="launch: one draft round per unit, all or nothing")
    start.add_argument("--name", required=True, help="the campaign's name, e.g. 'AIMS assessment 2026'")
    start.add_argument("--unit", action="append", metavar="NAME", help="a unit of the campaign (repeat for more)")
    start.add_argument("--parent", metavar="NAME", help="a parent unit: it and every active unit below it")
    start.add_argument("--scope", choices=("clauses", "annex_a", "both"), default="both", help="default: both")
    start.add_argument("--label", help="the round label (default: the quarter of --date, e.g. 2026-Q1)")
    start.add_argument("--date", type=_day, help="the rounds' assessment date, YYYY-MM-DD (default: today)")
    start.add_argument("--due", type=_day, help="the due date, YYYY-MM-DD")
    start.add_argument("--target", type=int, default=3, help="the default target level 0-5 (default: 3)")
    start.add_argument("--assessor", action="append", metavar="UNIT=EMAIL",
                       help="an assessor of a unit (repeat for more); granted the assessor role on it if they lack it")
    start.add_argument("--copy-previous", action="store_true",
                       help="start each round from its unit's previous answers (clauses and Annex A each from the "
                            "newest earlier round covering them)")
    start.set_defaults(run=_start)

    listing = actions.add_parser("list", help="every campaign, newest first")
    listing.set_defaults(run=_list)

    status = actions.add_parser("status", help="print the board (one row per unit); optionally export it")
    status.add_argument("--campaign", type=int, metavar="ID", help="default: the newest campaign")
    status.add_argument("--csv", metavar="FILE", help="also write the board as CSV")
    status.add_argument("--xlsx", metavar="FILE", help="also write the board as an Excel workbook")
    status.set_defaults(run=_status)

    for verb, text in (("submit", "submit a complete round for review"),
                       ("return", "return a submitted round to its assessors, with comments"),
                       ("finalise", "finalise a submitted round (read-only from then on)")):
        step = actions.add_parser(verb, help=text)
        step.add_argument("--assessment", type=int, required=True, metavar="ID", help="the round's assessment id "
                          "(the Id column of campaign status)")
        step.add_argument("--comment", action="append", metavar="ITEM=TEXT",
                          help="return only: a comment on an item, e.g. 4.1='Name the interested parties' (repeat)")
        step.add_argument("--round-comment", metavar="TEXT", help="return only: a comment on the whole round")
        step.set_defaults(run=_review)

    late = actions.add_parser("overdue", help="the rounds past their due date, with their assessors; nothing is sent")
    late.add_argument("--campaign", type=int, metavar="ID", help="default: the newest campaign")
    late.add_argument("--csv", metavar="FILE", help="write them as CSV with a mailto: link per unit")
    late.set_defaults(run=_overdue)
