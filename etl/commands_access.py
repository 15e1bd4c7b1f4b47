"""`python -m etl access list|grant|revoke|log`: the roles of the signed-in dashboard, set from the command line.

The command line has no sign-in: it acts as a local administrator (recorded under AIMS_USER or the login name),
so whoever can run it on the server can change roles — as whoever can write the database file could anyway.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def _admin() -> Any:
    from dashboard.access import local_admin
    from etl.cli import _user

    return local_admin(_user())


def _list(args: argparse.Namespace) -> int:
    from dashboard import access
    from dashboard.db import connect

    with connect(args.db, on_wait=lambda m: print(m, file=sys.stderr)) as con:
        found = access.assignments(con, principal=_admin())
        log = access.role_log(con, principal=_admin()) if args.log else None
    for email in sorted(access.env_admins()):
        print(f"{email}\tadministrator\t\t(AIMS_ADMINS)")
    for row in found.itertuples():
        print(f"{row.email}\t{row.role}\t{row.unit if isinstance(row.unit, str) else ''}\t"
              f"granted by {row.granted_by} {row.granted_at:%Y-%m-%d %H:%M}")
    if found.empty and not access.env_admins():
        print("No role granted yet.")
    if log is not None:
        for row in log.itertuples():
            change = f"+ {row.added}" if isinstance(row.added, str) else f"- {row.removed}"
            print(f"{row.changed_at:%Y-%m-%d %H:%M}\t{row.changed_by}\t{row.email}\t{change}")
    return 0


def _change(args: argparse.Namespace) -> int:
    from dashboard import access
    from dashboard.db import connect

    action = access.grant if args.access == "grant" else access.revoke
    try:
        with connect(args.db, on_wait=lambda m: print(m, file=sys.stderr)) as con:
            changed = action(con, args.email, args.role, args.unit, by=_admin())
    except (ValueError, access.AccessDenied) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    what = f"{args.role}" + (f" of {args.unit}" if args.unit else "")
    if not changed:
        print(f"{args.email} {'already has' if args.access == 'grant' else 'does not have'} the role {what}")
    else:
        print(f"{'Granted' if args.access == 'grant' else 'Revoked'} {what} {'to' if args.access == 'grant' else 'from'} "
              f"{args.email}")
    return 0


def register(commands: Any) -> None:
    from dashboard.access import ROLES

    parser = commands.add_parser(
        "access", help="list, grant or revoke the dashboard's roles (acting as a local administrator)",
        description="Roles of the signed-in dashboard. The command line has no sign-in and acts as a local "
                    "administrator; changes are recorded in the change log under AIMS_USER or the login name.")
    actions = parser.add_subparsers(dest="access", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every role held (and the administrators from AIMS_ADMINS)")
    listing.add_argument("--log", action="store_true", help="also print every role change, newest first")
    listing.set_defaults(run=_list)
    for verb in ("grant", "revoke"):
        change = actions.add_parser(verb, help=f"{verb} a role; a unit assessor needs --unit (one unit per call)")
        change.add_argument("email")
        change.add_argument("role", choices=ROLES)
        change.add_argument("--unit", help="the unit of a unit assessor (the units under it are included)")
        change.set_defaults(run=_change)
