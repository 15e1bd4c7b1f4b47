"""Who may see and change what: the signed-in principal, the roles stored in the database, and the checks.

Interface (for the pages, the command line and the tests)
---------------------------------------------------------

* ``Principal(email, name, role, unit_ids, local)`` — frozen, hashable; made once at the edge:
  ``dashboard.ui.principal()`` from ``st.user`` when ``[auth]`` is configured (or a local administrator in
  local mode), ``local_admin(name)`` for the command line. ``unit_ids`` is None for every unit (administrator,
  governance lead, viewer), else the frozenset of unit ids an assessor may see (assigned units **and the units
  under them**, any depth). ``role`` None: a signed-in person without a role, who sees nothing.
* Capabilities (properties): ``can_read`` (has a role), ``can_read_text`` (evidence, notes, justifications,
  change history: everyone but the viewer), ``can_answer`` (answers of its units: administrator, lead,
  assessor), ``can_organise`` (import, undo, merge, rounds, finalise, every unit's exports: administrator and
  lead), ``can_manage`` (the Access page and settings: administrator).
* ``AccessDenied(PermissionError)`` — what every refusal raises; its message says what to do.
* ``require(principal, capability)``; ``check_assessment(con, principal, assessment_id)``;
  ``check_assessments(con, principal, ids_or_picks)``; ``units_sql(principal, column)`` (a SQL condition on a
  unit id column, literals only); ``visible_units(con, *, principal)``; ``may_open_page(principal, path)``.
* Roles: ``resolve(con, email, name, groups)`` -> Principal; ``grant(con, email, role, unit, *, by)``,
  ``revoke(con, email, role, unit, *, by)`` (``by`` a Principal that can_manage — except that a governance lead may
  grant the unit assessor role on a campaign's units, which launching a campaign does (``grant_assessors``: many at
  once, inside the launch's transaction), and nothing else; each change a change_log row
  with field ``role``, item_id the email, assessment_id NULL, source ``access``); ``assignments(con, *, principal)``.
  Revoking the last administrator is refused (administrators named in ``AIMS_ADMINS`` count).

* Writes: ``authorise_write(con, principal, action_name, assessment_ids)`` — answers, roadmap actions and submitting
  a round for review (``review.submit``) of its units for administrators, leads and assessors (an assessor's answers
  to a round submitted for review are refused until a lead returns it); every other write (imports, undo, merges, rounds, finalising,
  dates, crosswalks, proposals, the demo) for administrators and leads. ``dashboard.ui.write`` asks it before
  every write; undo, merge, start/finalise/re-date a round and roadmap tracking also take ``principal`` themselves.
* ``without_free_text(principal, frame)``: a viewer's tables lose FREE_TEXT_COLUMNS (``ui.query`` applies it).
* ``PAGE_ROLES`` / ``may_open_page``: app.py lists only the role's pages; ``ui.page_setup`` refuses the others
  (error text "Your role does not open this page") and a ``?assessment=ID`` of another unit ("...not assigned...").

The core functions that select or read take ``principal`` as a required keyword (no default): a caller that
forgets it gets a TypeError, never everything. Core functions taking it: ``scoring/selection.select_assessments``,
``store.responses``, ``store.item_history``, ``summarize.prepare/offline_for/cached_for/summarize``,
``interview.begin/decide``, ``peers.organisation_band``, ``undo.undo_import``, ``units.merge_units``,
``rounds.start_assessment/finalise/set_date``, ``roadmap.save_edits``, ``tracking.set_actions``.

In the app (dashboard/ui/): ``ui.principal()`` is this run's principal: from ``st.user`` (email, name, the
``AIMS_GROUP_CLAIM`` claim) when ``[auth]`` is in secrets.toml, else a local administrator. Tests put a Principal
object into ``st.session_state[ui._TEST_KEY]`` (only an object of this class is honoured: no widget, query
parameter or typed text can make one). Signed in, every change records ``Principal.recorded_as``:
"Name <email>".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from dashboard import settings
from dashboard.db import frame, rows

__all__ = [
    "ADMIN",
    "ASSESSOR",
    "LEAD",
    "ROLES",
    "ROLE_TITLES",
    "VIEWER",
    "AccessDenied",
    "Principal",
    "assignments",
    "check_assessment",
    "check_assessments",
    "check_unit",
    "env_admins",
    "grant",
    "grant_assessors",
    "group_roles",
    "local_admin",
    "may_open_page",
    "require",
    "resolve",
    "revoke",
    "units_sql",
    "visible_assessments",
    "visible_units",
]

ADMIN, LEAD, ASSESSOR, VIEWER = "administrator", "lead", "assessor", "viewer"
ROLES = (ADMIN, LEAD, ASSESSOR, VIEWER)  # strongest first
ROLE_TITLES = {ADMIN: "Administrator", LEAD: "Governance lead", ASSESSOR: "Unit assessor", VIEWER: "Viewer"}


class AccessDenied(PermissionError):
    """A refusal: the principal may not see or do this. The message is shown to the person as it is."""


@dataclass(frozen=True)
class Principal:
    email: str
    name: str
    role: str | None
    unit_ids: frozenset[int] | None = None  # None: every unit
    local: bool = False  # local mode or the command line: no sign-in

    @property
    def title(self) -> str:
        return ROLE_TITLES.get(self.role or "", "No role")

    @property
    def can_read(self) -> bool:
        return self.role is not None and (self.unit_ids is None or bool(self.unit_ids) or self.role != ASSESSOR)

    @property
    def can_read_text(self) -> bool:
        return self.role in (ADMIN, LEAD, ASSESSOR)

    @property
    def can_answer(self) -> bool:
        return self.role in (ADMIN, LEAD, ASSESSOR)

    @property
    def can_organise(self) -> bool:
        return self.role in (ADMIN, LEAD)

    @property
    def can_manage(self) -> bool:
        return self.role == ADMIN

    @property
    def every_unit(self) -> bool:
        return self.role is not None and self.unit_ids is None

    @property
    def recorded_as(self) -> str:
        """What the change log records for this person: 'Name <email>' when signed in."""
        if self.local or not self.email:
            return self.name
        return f"{self.name} <{self.email}>" if self.name and self.name != self.email else self.email


def local_admin(name: str | None = None) -> Principal:
    """The command line and local mode: an administrator without sign-in, recorded under `name`."""
    return Principal(email="", name=name or "local administrator", role=ADMIN, local=True)


_REFUSALS = {
    "can_read": "You have no role in this dashboard yet. Ask an administrator to grant you one.",
    "can_read_text": "Your role (viewer) shows figures and summaries, not evidence, notes or answers' history.",
    "can_answer": "Your role may not change answers.",
    "can_organise": "Only an administrator or a governance lead may do this (imports, undo, merges, rounds, "
                    "finalising, organisation-wide exports).",
    "can_manage": "Only an administrator may manage access and settings.",
}


def require(principal: Principal, capability: str) -> None:
    """Refuse (AccessDenied) unless the principal has the capability (one of the `can_*` properties)."""
    if not isinstance(principal, Principal):
        raise AccessDenied("No principal: the caller must say who is asking.")
    if not getattr(principal, capability):
        raise AccessDenied(_REFUSALS[capability])


def units_sql(principal: Principal, column: str = "u.id") -> str:
    """A SQL condition restricting `column` (a unit id) to what the principal may see (integer literals only)."""
    if not isinstance(principal, Principal):
        raise AccessDenied("No principal: the caller must say who is asking.")
    if principal.role is None:
        return "FALSE"
    if principal.unit_ids is None:
        return "TRUE"
    ids = ", ".join(str(int(i)) for i in sorted(principal.unit_ids))
    return f"{column} IN ({ids})" if ids else "FALSE"


def visible_units(con: duckdb.DuckDBPyConnection, *, principal: Principal, include_archived: bool = False) -> pd.DataFrame:
    """`store.list_units`, only the units the principal may see."""
    from dashboard import store

    found = store.list_units(con, include_archived)
    if principal.every_unit:
        return found
    allowed = principal.unit_ids or frozenset()
    return found[found["id"].isin(allowed)].reset_index(drop=True)


def visible_assessments(con: duckdb.DuckDBPyConnection, *, principal: Principal) -> pd.DataFrame:
    """`store.list_assessments`, only the assessments of the units the principal may see."""
    from dashboard import store

    found = store.list_assessments(con)
    if principal.every_unit:
        return found
    allowed = principal.unit_ids or frozenset()
    return found[found["unit_id"].isin(allowed)].reset_index(drop=True)


def check_unit(con: duckdb.DuckDBPyConnection, principal: Principal, unit: str) -> None:
    """Refuse a unit (by name) the principal may not see; a unit that does not exist yet needs can_organise
    (creating units is an administrator's or a lead's job)."""
    require(principal, "can_read")
    found = rows(con, "SELECT id FROM unit WHERE lower(name) = lower(?)", [" ".join(unit.split())])
    if not found:
        require(principal, "can_organise")
    elif principal.unit_ids is not None and int(found[0][0]) not in principal.unit_ids:
        raise AccessDenied(f"You are not assigned to the unit {unit!r}.")


def _assessment_ids(picks: Iterable[object]) -> list[int]:
    out = []
    for pick in picks:
        out.append(int(pick[0]) if isinstance(pick, Sequence) and not isinstance(pick, str) else int(pick))  # type: ignore[arg-type, index]
    return out


def check_assessments(con: duckdb.DuckDBPyConnection, principal: Principal, picks: Iterable[object]) -> None:
    """Refuse unless every assessment of `picks` (ids or selection triples) belongs to a unit the principal sees."""
    require(principal, "can_read")
    ids = sorted(set(_assessment_ids(picks)))
    if not ids or principal.unit_ids is None:
        return
    listed = ", ".join(str(i) for i in ids)
    found = rows(con, f"SELECT a.id FROM assessment a JOIN unit u ON u.id = a.unit_id "
                      f"WHERE a.id IN ({listed}) AND {units_sql(principal)}")
    if len(found) != len(ids):
        raise AccessDenied("This assessment belongs to a unit you are not assigned to. "
                           "Ask an administrator if you need access to it.")


def check_assessment(con: duckdb.DuckDBPyConnection, principal: Principal, assessment_id: int) -> None:
    check_assessments(con, principal, [assessment_id])


# what people wrote, and who: the columns a viewer does not see, in whatever table they appear
FREE_TEXT_COLUMNS = frozenset({"justification", "evidence", "owner", "notes", "changed_by", "created_by",
                               "evidence_now"})


def without_free_text(principal: Principal, result: object) -> object:
    """`result` as the principal may see it: a table's free-text columns emptied for a viewer."""
    if principal.can_read_text or not isinstance(result, pd.DataFrame):
        return result
    found = [c for c in result.columns if c in FREE_TEXT_COLUMNS]
    if found:
        result = result.copy()
        result[found] = None
    return result


# --- which pages a role may open (app.py's navigation shows only these; ui.page_setup refuses the others) ---

_EVERY_ROLE = frozenset(ROLES)
_ANSWERING = frozenset({ADMIN, LEAD, ASSESSOR})
_ORGANISING = frozenset({ADMIN, LEAD})
PAGE_ROLES: dict[str, frozenset[str]] = {
    "pages/overview.py": _EVERY_ROLE,
    "pages/benchmark.py": _EVERY_ROLE,
    "pages/drilldown.py": _EVERY_ROLE,
    "pages/trend.py": _EVERY_ROLE,
    "pages/present.py": _EVERY_ROLE,
    "pages/frameworks.py": _EVERY_ROLE,
    "pages/summaries.py": _EVERY_ROLE,
    "pages/assess.py": _ANSWERING,
    "pages/campaigns.py": _ANSWERING,  # an assessor sees its own units' rows (dashboard/campaigns.py keeps to them)
    "pages/interview.py": _ANSWERING,
    "pages/proposals.py": _ANSWERING,  # an assessor decides on its units' proposals; the 27001 import is organisers
    "pages/roadmap.py": _ANSWERING,
    "pages/units.py": _ORGANISING,
    "pages/import_data.py": _ORGANISING,
    "pages/settings.py": frozenset({ADMIN}),
    "pages/access.py": frozenset({ADMIN}),
}


def may_open_page(principal: Principal, path: str) -> bool:
    """Whether the page (its path from the repository root, e.g. 'pages/assess.py') is for this principal's role.
    A page not listed is open to administrators only."""
    return principal.role is not None and principal.role in PAGE_ROLES.get(path, frozenset({ADMIN}))


# --- roles in the database ----------------------------------------------------------------------------------


def env_admins() -> frozenset[str]:
    """Emails named in AIMS_ADMINS (comma or space separated): administrators whatever the database says."""
    return frozenset(e.strip().lower() for e in settings.get("AIMS_ADMINS").replace(",", " ").split() if e.strip())


def group_roles() -> dict[str, str]:
    """AIMS_ROLE_GROUPS 'group=role, group=role': a provider's group claim mapped to an organisation-wide role."""
    mapping: dict[str, str] = {}
    for part in settings.get("AIMS_ROLE_GROUPS").split(","):
        group, _, role = part.partition("=")
        if group.strip() and role.strip() in (ADMIN, LEAD, VIEWER):
            mapping[group.strip()] = role.strip()
    return mapping


def _subtree(con: duckdb.DuckDBPyConnection, unit_ids: Iterable[int]) -> frozenset[int]:
    ids = sorted({int(i) for i in unit_ids})
    if not ids:
        return frozenset()
    found = rows(con, f"""WITH RECURSIVE tree(id) AS (
                              SELECT id FROM unit WHERE id IN ({', '.join(str(i) for i in ids)})
                              UNION SELECT u.id FROM unit u JOIN tree t ON u.parent_id = t.id)
                          SELECT id FROM tree""")
    return frozenset(int(r[0]) for r in found)


def resolve(con: duckdb.DuckDBPyConnection, email: str | None, name: str | None,
            groups: Iterable[str] = ()) -> Principal:
    """The principal of a signed-in person: the strongest of AIMS_ADMINS, the mapped groups and the stored roles;
    an assessor sees its assigned units and the units under them."""
    email = (email or "").strip().lower()
    display = " ".join(str(name or email or "unknown").split())[:80]
    if not email:
        return Principal(email="", name=display, role=None, unit_ids=frozenset())
    found: set[str] = set()
    if email in env_admins():
        found.add(ADMIN)
    mapping = group_roles()
    found |= {mapping[g] for g in groups if g in mapping}
    stored = rows(con, "SELECT role, unit_id FROM role_assignment WHERE email = ?", [email])
    found |= {str(r[0]) for r in stored}
    role = next((r for r in ROLES if r in found), None)
    if role == ASSESSOR:
        return Principal(email, display, ASSESSOR, _subtree(con, [r[1] for r in stored if r[0] == ASSESSOR and r[1] is not None]))
    return Principal(email, display, role, None if role else frozenset())


def assignments(con: duckdb.DuckDBPyConnection, *, principal: Principal) -> pd.DataFrame:
    """Every stored role (email, role, unit, granted by, when), for the Access page and `etl access list`."""
    require(principal, "can_manage")
    return frame(con, """SELECT r.email, r.role, u.name AS unit, r.granted_by, r.granted_at
                         FROM role_assignment r LEFT JOIN unit u ON u.id = r.unit_id
                         ORDER BY r.email, r.role, u.name NULLS FIRST""")


def _unit_id(con: duckdb.DuckDBPyConnection, unit: str | None, role: str) -> int | None:
    if role != ASSESSOR:
        if unit:
            raise ValueError(f"Only a unit assessor is assigned to units; {ROLE_TITLES[role]} covers every unit.")
        return None
    if not unit:
        raise ValueError("A unit assessor needs a unit.")
    found = rows(con, "SELECT id FROM unit WHERE lower(name) = lower(?)", [unit.strip()])
    if not found:
        raise ValueError(f"No unit named {unit!r}.")
    return int(found[0][0])


def _check(email: str, role: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or any(c.isspace() for c in email):
        raise ValueError(f"{email!r} is not an email address.")
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: one of {', '.join(ROLES)}.")
    return email


def _log(con: duckdb.DuckDBPyConnection, email: str, old: str | None, new: str | None, by: Principal) -> None:
    con.execute("""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, source)
                   VALUES (NULL, ?, 'role', ?, ?, ?, 'access')""", [email, old, new, by.recorded_as])


def _label(role: str, unit: str | None) -> str:
    return f"{role} of {unit}" if unit else role


def grant(con: duckdb.DuckDBPyConnection, email: str, role: str, unit: str | None = None, *, by: Principal) -> bool:
    """Give `email` a role (an assessor: for one unit; call again for more). False when it already had it.
    Administrators only (a lead grants the assessor role of a campaign's units through `grant_assessors`)."""
    require(by, "can_manage")
    email = _check(email, role)
    unit_id = _unit_id(con, unit, role)
    if rows(con, "SELECT 1 FROM role_assignment WHERE email = ? AND role = ? AND unit_id IS NOT DISTINCT FROM ?",
            [email, role, unit_id]):
        return False
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT INTO role_assignment (email, role, unit_id, granted_by) VALUES (?, ?, ?, ?)",
                    [email, role, unit_id, by.recorded_as])
        _log(con, email, None, _label(role, unit), by)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return True


def grant_assessors(con: duckdb.DuckDBPyConnection, pairs: Iterable[tuple[str, str]], *, by: Principal) -> list[str]:
    """`grant` of the assessor role for many (email, unit name) pairs at once, inside the caller's transaction (a
    campaign's launch), with grant's checks and change-log rows, in a few statements. Administrators; and a
    governance lead for the units of a campaign (the launch records its rounds first) — the assessor role only,
    never another. Returns "email → unit" for each role granted (a pair that already had it is left as it is)."""
    if not (isinstance(by, Principal) and by.role == LEAD):
        require(by, "can_manage")
    wanted = sorted({(_check(email, ASSESSOR), " ".join(str(unit).split())) for email, unit in pairs})
    if not wanted:
        return []
    names = sorted({unit.lower() for _, unit in wanted})
    known = {str(n).lower(): (int(i), str(n)) for i, n in rows(
        con, f"SELECT id, name FROM unit WHERE lower(name) IN ({', '.join('?' for _ in names)})", names)}
    missing = [unit for _, unit in wanted if unit.lower() not in known]
    if missing:
        raise ValueError(f"No unit named {missing[0]!r}.")
    if by.role == LEAD:  # a lead names assessors for a campaign's units, nowhere else
        ids = ", ".join(str(i) for i, _ in known.values())
        in_campaign = {int(r[0]) for r in rows(con, f"""SELECT DISTINCT a.unit_id FROM campaign_round cr
                                                       JOIN assessment a ON a.id = cr.assessment_id
                                                       WHERE a.unit_id IN ({ids})""")}
        outside = sorted(n for i, n in known.values() if i not in in_campaign)
        if outside:
            raise AccessDenied(f"A governance lead names assessors for a campaign's units only ({', '.join(outside)} "
                               "is in no campaign); ask an administrator to grant the role on the Access page.")
    held = {(str(e), int(u)) for e, u in rows(con, "SELECT email, unit_id FROM role_assignment WHERE role = ?",
                                              [ASSESSOR])}
    new = [(email, *known[unit.lower()]) for email, unit in wanted if (email, known[unit.lower()][0]) not in held]
    if not new:
        return []
    added = pd.DataFrame(new, columns=["email", "unit_id", "unit"])
    added["label"] = [_label(ASSESSOR, unit) for unit in added["unit"]]
    con.register("_granted", added)
    try:
        con.execute("""INSERT INTO role_assignment (email, role, unit_id, granted_by)
                       SELECT email, ?, unit_id, ? FROM _granted""", [ASSESSOR, by.recorded_as])
        con.execute("""INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, source)
                       SELECT NULL, email, 'role', NULL, label, ?, 'access' FROM _granted""", [by.recorded_as])
    finally:
        con.unregister("_granted")
    return [f"{email} → {unit}" for email, _, unit in new]


def revoke(con: duckdb.DuckDBPyConnection, email: str, role: str, unit: str | None = None, *, by: Principal) -> bool:
    """Take a role (an assessor: one unit's assignment) from `email`. Refuses removing the last administrator.
    False when it did not have it."""
    require(by, "can_manage")
    email = _check(email, role)
    unit_id = _unit_id(con, unit, role)
    if not rows(con, "SELECT 1 FROM role_assignment WHERE email = ? AND role = ? AND unit_id IS NOT DISTINCT FROM ?",
                [email, role, unit_id]):
        return False
    if role == ADMIN:
        others = rows(con, "SELECT DISTINCT email FROM role_assignment WHERE role = ? AND email <> ?", [ADMIN, email])
        if not others and not (env_admins() - {email}):
            raise AccessDenied(f"{email} is the last administrator: grant another administrator first.")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM role_assignment WHERE email = ? AND role = ? AND unit_id IS NOT DISTINCT FROM ?",
                    [email, role, unit_id])
        _log(con, email, _label(role, unit), None, by)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return True


def role_log(con: duckdb.DuckDBPyConnection, *, principal: Principal) -> pd.DataFrame:
    """Every role change, newest first."""
    require(principal, "can_manage")
    return frame(con, """SELECT changed_at, changed_by, item_id AS email, old_value AS removed, new_value AS added
                         FROM change_log WHERE field = 'role' AND source = 'access' ORDER BY changed_at DESC, id DESC""")


# --- writes: what each action needs (dashboard.ui.write asks before it runs one) -----------------------------

# changes to answers of one assessment: an assessor of its unit may make them
_ANSWER_ACTIONS = frozenset({"update_response", "decide", "dismiss", "begin", "save_edits", "set_actions", "submit"})
# writes of answers themselves: refused to an assessor once the round is submitted for review (dashboard/review.py)
_ANSWER_WRITES = frozenset({"update_response", "decide", "begin"})
# anyone with a role: caching a summary they were allowed to read
_READER_ACTIONS = frozenset({"remember"})
# access: the functions check can_manage themselves
_MANAGE_ACTIONS = frozenset({"grant", "revoke"})


def authorise_write(con: duckdb.DuckDBPyConnection, principal: Principal, action: str,
                    assessment_ids: Iterable[int] = ()) -> None:
    """Refuse (AccessDenied) a write the principal may not make: answers (and roadmap edits) of the units it may
    see for administrators, leads and assessors; every other write (imports, undo, merges, units, rounds,
    finalising, dates, crosswalks, proposals from files, the demo) for administrators and leads only."""
    if action in _READER_ACTIONS:
        require(principal, "can_read")
    elif action in _MANAGE_ACTIONS:
        require(principal, "can_manage")
    elif action in _ANSWER_ACTIONS:
        require(principal, "can_answer")
        check_assessments(con, principal, list(assessment_ids))
        if action in _ANSWER_WRITES and principal.role == ASSESSOR:
            _refuse_submitted(con, list(assessment_ids))
    else:
        require(principal, "can_organise")


def _refuse_submitted(con: duckdb.DuckDBPyConnection, assessment_ids: list[int]) -> None:
    """An assessor does not change the answers of a round submitted for review (a returned round is open again;
    a finalised one is read-only for everyone, in the store)."""
    ids = sorted({int(i) for i in assessment_ids})
    if not ids:
        return
    found = rows(con, f"""SELECT u.name, a.label FROM round_review r JOIN assessment a ON a.id = r.assessment_id
                           JOIN unit u ON u.id = a.unit_id
                           WHERE r.state = 'submitted' AND a.status = 'draft'
                           AND r.assessment_id IN ({', '.join(str(i) for i in ids)})""")
    if found:
        unit, label = found[0]
        raise AccessDenied(f"{unit} {label} is submitted for review: its answers stay as submitted until a governance "
                           "lead returns it to you (with comments) or finalises it.")
