"""What a cached read depends on: fingerprints of the database's content, per assessment, so that a saved
answer makes cold only the figures it changes.

The dashboard's cached reads (dashboard/ui/) were keyed by the file's change token: any answer saved anywhere
made every cached figure cold, so during a campaign every viewer waited for a full recomputation on each click.
Now each read is keyed by the fingerprints of what it reads:

* every table with an `assessment_id` column is fingerprinted per assessment (the number of its rows and the
  XOR of their hashes): responses, the change log, roadmap tracking, proposals, and any such table a later
  migration adds, found in the schema each time;
* everything else makes one *common* fingerprint: the units, the assessment rows themselves (label, date,
  status, scope), the catalog copy, roles, imported files, settings, rows of an assessment table whose
  `assessment_id` is empty, and the schema (table and column names).

A reader is keyed (`DEPENDS`) by *common* alone (it reads only those tables), by the assessments it is given
("given"), by every assessment of the units it is given ("units": it also reads a previous round, or tracking
carried over from one), or, for any reader not listed, by the whole database: correct by default.

The fingerprints come from the content, not from writers bumping a version, so no writer can forget to
invalidate: the store, an import, an undo, a merge, the roadmap, the command line in another process, a
migration. Computing them reads every table once (40-90 ms for 280,000 responses on the busy 2-CPU machine); it is done again only
when the file's change token moved.

A read that misses the cache runs in one transaction with the fingerprints of the state it sees
(`snapshot_read`); it is cached only when that state gives the key it was asked under, else it is shown and not
kept (`Fresh`): while a campaign's answers arrive, a figure is never stored under the key of another state, and an
answer saved meanwhile never hides behind an older key.

`part` and `by_unit` let a reader over many assessments compose its result from cached per-assessment or
per-unit parts (roadmap.organisation_plan, analytics.summary_change): after one unit's answer only that unit's
part is recomputed. Outside a cached read (the command line, tests calling the core) they compute directly.
How the parts are joined and spliced is in `dashboard/composed.py`.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from dashboard import composed
from dashboard.composed import Columns, Composition

__all__ = [
    "DEPENDS",
    "Fingerprints",
    "Fresh",
    "begin_snapshot",
    "by_unit",
    "current",
    "depends_on",
    "file_token",
    "fingerprints",
    "key_for",
    "known",
    "part",
    "picked_ids",
    "reading",
    "snapshot_read",
]

# reader (module.qualname) -> what it reads besides the common tables; a reader not listed depends on everything
DEPENDS: dict[str, str] = {
    **dict.fromkeys((
        "dashboard.access.visible_units", "dashboard.access.visible_assessments", "dashboard.scoring.rounds",
        "dashboard.scoring.groups", "dashboard.selection.select_assessments", "dashboard.organisation.name",
        "dashboard.store.list_units", "dashboard.store.list_assessments", "dashboard.store.get_assessment",
    ), "common"),
    **dict.fromkeys((
        "dashboard.scoring.section_scores", "dashboard.scoring.assessment_scores", "dashboard.scoring.item_scores",
        "dashboard.scoring.organisation_sections", "dashboard.scoring.organisation_summary",
        "dashboard.scoring.statement_of_applicability", "dashboard.analytics.largest_gaps",
        "dashboard.analytics.ranking", "dashboard.analytics.units_below_target", "dashboard.provenance.notes",
        "dashboard.provenance.drafts", "dashboard.provenance.rounds_used", "dashboard.store.responses",
        "dashboard.store.item_history",
    ), "given"),
    **dict.fromkeys((
        "dashboard.analytics.summary_change", "dashboard.analytics.headline", "dashboard.roadmap.plan",
        "dashboard.roadmap.organisation_plan",
        "dashboard.carry.previous_answers",  # the previous round of the given round's unit
    ), "units"),
}
# select_assessments is defined in dashboard.selection and re-exported by dashboard.scoring
DEPENDS["dashboard.scoring.select_assessments"] = "common"

_PART_LIMIT = 20_000  # per-assessment and per-unit parts kept in this process (a few MB for 500 units)


def file_token(path: str) -> tuple[int, ...]:
    """Changes whenever the database file or its write-ahead log changes (size and modification time)."""
    token: list[int] = []
    for name in (path, path + ".wal"):
        try:
            info = os.stat(name)
            token += [info.st_size, info.st_mtime_ns]
        except FileNotFoundError:
            token += [0, 0]
    return tuple(token)


def _digest(*values: Any) -> str:
    return hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class Fingerprints:
    """The content of one database: a common fingerprint and one per assessment (with each one's unit)."""

    common: str
    assessments: Mapping[int, int]
    unit_of: Mapping[int, int]
    whole: str
    _by_unit: Mapping[int, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _keys: dict[tuple[int, ...], str] = field(default_factory=dict, repr=False, compare=False)  # units(), computed once

    def given(self, ids: Sequence[int]) -> str:
        """Key of a read of these assessments (and the common tables)."""
        return _digest(self.common, [(a, self.assessments.get(a, -1)) for a in sorted(set(ids))])

    def units(self, ids: Sequence[int]) -> str:
        """Key of a read of these assessments' units: every round of each of them (remembered: every composed read
        of a rerun asks it for the same 500 units)."""
        asked = tuple(ids)
        known = self._keys.get(asked)
        if known is None:
            known = self._keys[asked] = self._units(ids)
        return known

    def _units(self, ids: Sequence[int]) -> str:
        units = sorted({self.unit_of[a] for a in ids if a in self.unit_of})
        every = sorted({a for u in units for a in self._by_unit.get(u, ())} | set(ids))
        return _digest("units", self.given(every))


def fingerprints(con: duckdb.DuckDBPyConnection) -> Fingerprints:
    """Fingerprint the whole database in one read (see the module's docstring). Every table is read in full:
    restricting the read to some assessments made it slower, not faster."""
    columns = con.execute(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'main' AND table_catalog = current_database()
             AND table_name IN (SELECT table_name FROM information_schema.tables
                                WHERE table_schema = 'main' AND table_catalog = current_database()
                                  AND table_type = 'BASE TABLE')
           ORDER BY table_name, ordinal_position"""
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in columns:
        tables.setdefault(str(table), []).append(str(column))
    per_assessment = sorted(t for t, cols in tables.items() if "assessment_id" in cols)
    others = sorted(t for t in tables if t not in per_assessment)

    def row_hash(table: str) -> str:  # hash(a, b, …) of the columns: ten times faster than hashing the row struct
        return "hash(" + ", ".join(f'"{c}"' for c in tables[table]) + ")"

    parts = [f"""SELECT '{t}' AS t, assessment_id AS a, count(*) AS n, bit_xor({row_hash(t)}) AS h
                 FROM "{t}" GROUP BY assessment_id""" for t in per_assessment]
    parts += [f"""SELECT '{t}' AS t, NULL AS a, count(*) AS n, bit_xor({row_hash(t)}) AS h FROM "{t}" """ for t in others]
    common: list[Any] = [sorted(tables.items())]
    each: dict[int, int] = {}
    if parts:  # per assessment, its tables' counts and hashes in one hash (digested in SQL: 4,000 rounds in Python
        # took longer than reading the rows)
        found = con.execute(
            f"""WITH p AS MATERIALIZED ({" UNION ALL ".join(parts)})
                SELECT NULL AS a, t, n, h FROM p WHERE a IS NULL
                UNION ALL
                SELECT a, NULL, NULL, hash(string_agg(t || ':' || n || ':' || coalesce(h, 0), ',' ORDER BY t))
                FROM p WHERE a IS NOT NULL GROUP BY a""").fetchall()
        common += sorted((t, n, h) for a, t, n, h in found if a is None)
        each = {int(a): int(h) for a, _, _, h in found if a is not None}
    unit_of = {int(a): int(u) for a, u in con.execute("SELECT id, unit_id FROM assessment").fetchall()} \
        if "assessment" in tables else {}
    for assessment in unit_of:
        each.setdefault(assessment, 0)
    units: dict[int, list[int]] = {}
    for assessment, unit in unit_of.items():
        units.setdefault(unit, []).append(assessment)
    common_key = _digest(common)
    return Fingerprints(common_key, each, unit_of, _digest(common_key, sorted(each.items())),
                        {u: tuple(sorted(a)) for u, a in units.items()})


# --- the fingerprints of the file as it is now, remembered per change token -------------------------------

_lock = threading.Lock()
_known: dict[str, tuple[tuple[int, ...], Fingerprints]] = {}


def current(path: str, opener: Callable[[str], Any]) -> tuple[tuple[int, ...], Fingerprints]:
    """(change token, fingerprints) of the file now; computed again only when the token moved.

    `opener(path)` is a context manager giving a connection (db.lease). The token is taken first and the
    fingerprints in one transaction after it, so they describe the state at that token or a newer one, never an
    older one."""
    token = file_token(path)
    with _lock:
        known = _known.get(path)
    if known is not None and known[0] == token:
        return known
    with opener(path) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            found = fingerprints(con)
        finally:
            con.execute("ROLLBACK")
    with _lock:
        _known[path] = (token, found)
    return token, found


def known(path: str, token: tuple[int, ...]) -> Fingerprints | None:
    """The fingerprints remembered for the file in the state `token` names, if any."""
    with _lock:
        found = _known.get(path)
    return found[1] if found is not None and found[0] == token else None


def forget(path: str | None = None) -> None:
    """Drop what is remembered (tests; a file replaced under the same name)."""
    with _lock:
        if path is None:
            _known.clear()
        else:
            _known.pop(path, None)
    with _parts_lock:
        _parts.clear()
    composed.forget()


# --- which assessments a reader's arguments name ---------------------------------------------------------


def picked_ids(args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[int] | None:
    """The assessment ids a read names: its first argument (an id, or a list of ids or picks) or
    `assessment_ids=`; None when it names none (it reads every assessment)."""
    value = kwargs.get("assessment_ids", args[0] if args else None)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return [value]
    if isinstance(value, list | tuple) and all(
            (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, tuple) and len(v) == 3
                                                                  and isinstance(v[0], int)) for v in value):
        return sorted({v if isinstance(v, int) else v[0] for v in value})
    return None


def depends_on(reader: str) -> str:
    return DEPENDS.get(reader, "whole")


def key_for(found: Fingerprints, reader: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The part of a cached read's key that says which state of the database it read."""
    kind = depends_on(reader)
    if kind == "common":
        return _digest("common", found.common)
    ids = picked_ids(args, kwargs) if kind in ("given", "units") else None
    if ids is None:
        return _digest("whole", found.whole)
    return found.given(ids) if kind == "given" else found.units(ids)


# --- a cached read in progress: its fingerprints, and the parts it computed -----------------------------


@dataclass
class _Reading:
    found: Fingerprints
    pending: dict[tuple[Any, ...], Any] = field(default_factory=dict)


_reading: contextvars.ContextVar[_Reading | None] = contextvars.ContextVar("aims_reading", default=None)
_parts_lock = threading.Lock()
_parts: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


@contextmanager
def reading(found: Fingerprints) -> Iterator[None]:
    """Compose parts (`part`, `by_unit`) keyed by `found`, which must be the fingerprints of the state the
    enclosed read sees (`snapshot_read`); the parts computed are kept when the read ends without an error."""
    state = _Reading(found)
    reset = _reading.set(state)
    try:
        yield
    finally:
        _reading.reset(reset)
    with _parts_lock:
        for key, value in state.pending.items():
            _parts[key] = value
            _parts.move_to_end(key)
        while len(_parts) > _PART_LIMIT:
            _parts.popitem(last=False)


def snapshot_read(con: duckdb.DuckDBPyConnection, path: str, function: Callable[..., Any], *args: Any,
                  **kwargs: Any) -> tuple[Fingerprints, Any]:
    """`function(con, *args, **kwargs)` in one transaction, with the fingerprints of the state it read: other
    sessions' answers committed meanwhile are in neither, so the result can be cached under the key they give."""
    found = begin_snapshot(con, path)
    try:
        with reading(found):
            result = function(con, *args, **kwargs)
    finally:
        con.execute("ROLLBACK")  # a read: nothing to keep
    return found, result


def begin_snapshot(con: duckdb.DuckDBPyConnection, path: str) -> Fingerprints:
    """Begin a read transaction on `con` and return the fingerprints of the state it sees (the caller rolls it
    back). When the file is as it was when its fingerprints were last taken (its change token, read inside the
    transaction), those are the state's; else the state is fingerprinted again, and remembered when nothing was
    written around the snapshot's start (the other reads of that state then need not fingerprint it again)."""
    before = file_token(path)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("SELECT count(*) FROM schema_version").fetchall()  # the snapshot starts here, before the token
        token = file_token(path)
        found = known(path, token)
        if found is None:
            found = fingerprints(con)
            if token == before:  # these describe the state `token` names
                with _lock:
                    _known[path] = (token, found)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return found


class Fresh(Exception):
    """A read found the database newer than the key it was asked under: its result is shown, not cached."""

    def __init__(self, value: Any) -> None:
        super().__init__("newer than its key")
        self.value = value


def _frozen(value: Any) -> Any:
    if hasattr(value, "digest") and hasattr(value, "items"):  # a catalog: its content's digest
        return ("catalog", value.digest)
    if isinstance(value, list | tuple | set):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def _name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _lookup(key: tuple[Any, ...], state: _Reading) -> tuple[bool, Any]:
    if key in state.pending:
        return True, state.pending[key]
    with _parts_lock:
        if key in _parts:
            _parts.move_to_end(key)
            return True, _parts[key]
    return False, None


def part(con: duckdb.DuckDBPyConnection, function: Callable[..., Any], picks: Sequence[Any], *args: Any,
         depends: str = "given", **kwargs: Any) -> Any:
    """`function(con, picks, *args, **kwargs)`, reused from an earlier cached read while what it reads is
    unchanged (`depends`: "given", the picks' assessments; "units", every round of their units; "common", only the
    common tables, e.g. the rounds' dates and statuses, whatever answers arrive). The result is shared: do not
    change it."""
    state = _reading.get()
    ids = picked_ids([list(picks)], {})
    if state is None or ids is None:
        return function(con, picks, *args, **kwargs)
    version = {"given": state.found.given, "units": state.found.units,
               "common": lambda _: _digest("common", state.found.common)}[depends](ids)
    key = (_name(function), _frozen(list(picks)), _frozen(args), _frozen(kwargs), version)
    hit, value = _lookup(key, state)
    if not hit:
        value = function(con, picks, *args, **kwargs)
        state.pending[key] = value
    return value


def by_unit(con: duckdb.DuckDBPyConnection, function: Callable[..., tuple[pd.DataFrame, ...]], picks: Sequence[Any],
            *args: Any, **kwargs: Any) -> tuple[pd.DataFrame, ...]:
    """`function(con, picks, ...)` -> frames with an `assessment_id` column, composed of one part per unit (rows
    in the order of the picks' units), each part reused while none of that unit's rounds changed. The units
    whose part is missing are computed in one call and split. Outside a cached read: one call for all.

    The last composition of the same read is remembered: when a few units' parts changed since (an answer), the
    new one is the old one with those units' rows replaced (a few slices joined, not 500 parts). The frames
    returned are shared with that memory: add columns to them, never change their values in place."""
    state = _reading.get()
    chosen = list(picks)
    if state is None or not chosen or picked_ids([chosen], {}) is None:
        return function(con, chosen, *args, **kwargs)
    unit_of = state.found.unit_of
    groups: dict[int, list[Any]] = {}
    for pick in chosen:
        assessment = pick if isinstance(pick, int) else pick[0]
        groups.setdefault(unit_of.get(assessment, -assessment), []).append(pick)
    name, frozen_args, frozen_kwargs = _name(function), _frozen(args), _frozen(kwargs)
    keys: dict[int, tuple[Any, ...]] = {}
    for unit, unit_picks in groups.items():
        ids = sorted({p if isinstance(p, int) else p[0] for p in unit_picks})
        keys[unit] = (name, tuple(unit_picks), frozen_args, frozen_kwargs, state.found.units(ids))
    family = (name, frozen_args, frozen_kwargs, tuple(groups))
    before = composed.recall(family)
    if before is not None and before.keys == keys:
        return tuple(f.copy(deep=False) for f in before.frames)
    out: dict[int, tuple[Columns, ...]] = {}
    missing: dict[int, tuple[Any, ...]] = {}
    for unit, key in keys.items():
        hit, value = _lookup(key, state)
        if hit:
            out[unit] = value
        else:
            missing[unit] = key
    if missing:
        computed = function(con, [p for u in missing for p in groups[u]], *args, **kwargs)
        unit_per_assessment = {(p if isinstance(p, int) else p[0]): u for u in missing for p in groups[u]}
        split: dict[int, list[Columns]] = {u: [] for u in missing}
        for frame in computed:  # each unit's rows: one stable sort by unit, then slices of the sorted columns
            position = {u: n for n, u in enumerate(missing)}
            owner = np.array([position[unit_per_assessment[int(a)]] for a in frame["assessment_id"]], dtype=np.int64)
            order = np.argsort(owner, kind="stable")
            whole = Columns(frame.take(order))
            bounds = np.searchsorted(owner[order], np.arange(len(missing) + 1))
            for n, unit in enumerate(missing):
                split[unit].append(whole.slice(int(bounds[n]), int(bounds[n + 1])))
        for unit, key in missing.items():
            out[unit] = tuple(split[unit])
            state.pending[key] = out[unit]
    units = list(groups)
    changed = [u for u in units if before is None or before.keys.get(u) != keys[u]]
    lengths = [np.array([len(out[u][n]) for u in units], dtype=np.int64) for n in range(len(out[units[0]]))]
    if before is not None and len(changed) <= max(1, len(units) // 8):  # a few units changed: splice them in
        frames = tuple(Columns.stack(before.spliced(n, [out[u][n] if u in changed else None for u in units]))
                       for n in range(len(lengths)))
    else:
        frames = tuple(Columns.stack([out[u][n] for u in units]) for n in range(len(lengths)))
    composed.remember(family, Composition(keys, frames, [np.concatenate([[0], np.cumsum(n)]) for n in lengths]))
    return tuple(f.copy(deep=False) for f in frames)
