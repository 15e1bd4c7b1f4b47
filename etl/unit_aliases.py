"""Near-duplicate unit names in an imported file: the warning, and the person's choice to use an existing unit.

A unit named in a file that is not an existing unit but looks like one (`dashboard.units` says when) is a
warning: the file would create a second unit. The person may instead send that name's rounds to the
existing unit: on the Import page a choice per file, on the command line `--unit-alias "Group I.T.=Group IT"`
(repeatable) or the column mapping's `{"units": {"Group I.T.": "Group IT"}}`. The choice is part of the
mapping, so it is part of the options hashed for "never twice".
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from dashboard.units import near_duplicates_in_store, same_unit
from etl.mapping import Mapping, MappingError
from etl.problems import Problem, Report
from etl.validate import Batch

__all__ = ["LOOKS_LIKE", "alias_hints", "apply_unit_aliases", "parse_unit_aliases", "unit_warnings",
           "with_unit_aliases"]

LOOKS_LIKE = "looks like the existing unit"


def parse_unit_aliases(values: Iterable[str] | None) -> dict[str, str]:
    """`["Group I.T.=Group IT"]` -> `{"Group I.T.": "Group IT"}`; MappingError for a malformed one."""
    aliases: dict[str, str] = {}
    for value in values or ():
        name, sep, existing = value.partition("=")
        if not sep or not name.strip() or not existing.strip():
            raise MappingError(f"--unit-alias {value!r}: write it as \"NAME IN THE FILE=EXISTING UNIT\"")
        aliases[" ".join(name.split())] = " ".join(existing.split())
    return aliases


def with_unit_aliases(mapping: Mapping | str | None, aliases: dict[str, str]) -> Mapping:
    """The mapping with these unit choices added (a choice given later wins)."""
    base = mapping if isinstance(mapping, Mapping) else Mapping.from_json(mapping)
    if not aliases:
        return base
    return Mapping(base.sheet, base.header_row, dict(base.columns), {**base.units, **aliases})


def apply_unit_aliases(batch: Batch, aliases: dict[str, str], report: Report) -> None:
    """Rename the file's units as chosen (names compared without case or doubled spaces); an alias naming
    no unit of the file is a warning, one that puts two rounds of the file into one is an error."""
    if not aliases:
        return
    names = batch.assessments["unit"].astype(str)
    renamed = names.copy()
    for name, existing in aliases.items():
        hit = names.map(lambda unit, name=name: same_unit(unit, name))
        if not hit.any():
            report.warning(f"the unit choice {name!r} -> {existing!r} names no unit of this file", column="unit",
                           value=name, expected=", ".join(batch.units[:8]))
        renamed[hit] = existing
    key = renamed.str.lower() + "\x00" + batch.assessments["label"].astype(str)
    for _, clash in batch.assessments[key.duplicated(keep=False)].groupby(key[key.duplicated(keep=False)]):
        first = clash.iloc[0]
        report.error(f"using {renamed[clash.index[0]]!r} for {', '.join(repr(n) for n in names[clash.index])} puts two "
                     f"rounds of this file into one ({first['label']!r})", sheet=first["sheet"], row=int(first["row"]),
                     column="unit", expected="one unit choice per round label")
    batch.assessments["unit"] = renamed
    if "unit" in batch.responses.columns:
        by_key = pd.Series(renamed.to_numpy(), index=batch.assessments["akey"].to_numpy())
        batch.responses["unit"] = batch.responses["akey"].map(by_key).to_numpy()


def unit_warnings(con: duckdb.DuckDBPyConnection, batch: Batch, report: Report) -> list[tuple[str, str, str]]:
    """A warning for every unit of the file that looks like an existing unit; returns (name, existing, reason)."""
    found = near_duplicates_in_store(con, batch.units)
    first = batch.assessments.assign(folded=batch.assessments["unit"].astype(str).str.lower()).groupby("folded").first()
    for name, existing, reason in found:
        where = first.loc[name.lower()] if name.lower() in first.index else None
        report.warning(f"unit {name!r} is not in the database but {LOOKS_LIKE} {existing!r} ({reason}); it will be "
                       "created as a new unit unless you choose to use the existing one",
                       sheet=None if where is None else where["sheet"],
                       row=None if where is None else int(where["row"]), column="unit", value=name, expected=existing)
    return found


def alias_hints(problems: Iterable[Problem]) -> list[str]:
    """The command-line options that take up the near-duplicate warnings' choice."""
    return [f'--unit-alias "{p.value}={p.expected}"' for p in problems
            if p.severity == "warning" and LOOKS_LIKE in p.message]
