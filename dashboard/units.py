"""Business units that look alike, and merging one unit into another.

**Alike** (a warning on import, never acted on alone). Two names that are not the same unit (the same
unit = equal apart from case and doubled spaces) are *close* when, after folding case, accents and
punctuation and reading `&`/`+` as `and`:

- they are equal, or equal once spaces are removed (`Group IT`, `Group I.T.`, `GroupIT`);
- they hold the same words in another order (`Cards & Payments`, `Payments and Cards`);
- every word of one is a word of the other (`Payments`, `Payments & Cards`; `Retail`, `Retail Banking`);
- they differ in one word by one typing slip (a letter added, dropped, changed or two swapped), in a word
  of 4 letters or more, or two slips in a word of 8 or more (`Payment`, `Payments`; `Compliance`,
  `Complaince`).

Numbers tell units apart: names whose numbers differ are never close (`Region 1`, `Region 2`), and
short words are not typing slips of each other (`IT`, `HR`; `Sales EU`, `Sales US`).

**Merging** moves every round of one unit to another, logs the move on each round (field `unit`,
source `merge`), re-parents the first unit's child units and then removes it: a removed name cannot
collect rounds again by accident, while an archived one still would (imports match names). Two rounds
with the same label cannot live in one unit: such a merge is refused and names both rounds.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from dashboard.access import Principal, authorise_write
from dashboard.db import one, rows, transaction

__all__ = ["MergeResult", "UnitClash", "close_reason", "fold_name", "merge_units", "near_duplicate_pairs",
           "near_duplicates", "near_duplicates_in_store", "same_unit", "similar_unit_pairs"]

_STOP = frozenset({"and", "the", "of"})
_DIGITS = re.compile(r"\d+")


class UnitClash(ValueError):
    """A merge that cannot be done (unknown unit, same unit, two rounds with one label)."""


def same_unit(a: str, b: str) -> bool:
    """The rule the store and the importer use: equal apart from case and doubled spaces."""
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


def fold_name(name: str) -> str:
    """`Group I.T.` -> `group it`; `Payments & Cards` -> `payments and cards`."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[&+]", " and ", text)
    text = re.sub(r"[.'’]", "", text)  # initials and possessives: I.T. = IT
    text = re.sub(r"[^\w]+|_", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class _Name:
    name: str
    folded: str
    compact: str
    words: tuple[str, ...]
    content: frozenset[str]  # words without `and`, `the`, `of`
    numbers: tuple[str, ...]

    @classmethod
    def of(cls, name: str) -> _Name:
        folded = fold_name(name)
        words = tuple(folded.split())
        return cls(name, folded, folded.replace(" ", ""), words, frozenset(words) - _STOP,
                   tuple(sorted(n.lstrip("0") or "0" for n in _DIGITS.findall(folded))))


def _slips(a: str, b: str, limit: int) -> int:
    """Typing slips between two words (optimal string alignment distance), or limit + 1 when more."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _reason(a: _Name, b: _Name) -> str | None:
    if not a.compact or not b.compact or a.numbers != b.numbers:
        return None
    if a.compact == b.compact:
        return "same name apart from case, spacing or punctuation"
    if a.content and a.content == b.content:
        return "same words in another order"
    small, large = sorted((a.content, b.content), key=len)
    if small and small < large:
        return "one name is part of the other"
    if len(a.words) == len(b.words):
        differ = [(x, y) for x, y in zip(a.words, b.words, strict=True) if x != y]
        if len(differ) == 1:
            x, y = differ[0]
            shortest = min(len(x), len(y))
            limit = 2 if shortest >= 8 else 1 if shortest >= 4 else 0
            if limit and not (x.isdigit() or y.isdigit()) and _slips(x, y, limit) <= limit:
                return "a typing slip apart"
    return None


def close_reason(a: str, b: str) -> str | None:
    """Why two different units' names look alike, or None (see the module's rules)."""
    if same_unit(a, b):
        return None
    return _reason(_Name.of(a), _Name.of(b))


_ORDER = ("same name apart from case, spacing or punctuation", "same words in another order", "a typing slip apart",
          "one name is part of the other")


class _Index:
    """Stored names indexed so that a name meets only its candidates: the same compact form; among names with
    the same numbers, those whose words hold all of its words or lie all within them (counted over the
    posting lists of its words), and those of the same word count equal but for one word. A thousand new
    units against a thousand stored ones stays well under a second."""

    def __init__(self, names: Iterable[str]) -> None:
        self.stored = [_Name.of(n) for n in dict.fromkeys(names)]
        self.by_word: dict[tuple[tuple[str, ...], str], list[int]] = defaultdict(list)
        self.by_shape: dict[tuple[tuple[str, ...], int, int, tuple[str, ...]], list[int]] = defaultdict(list)
        self.by_compact: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(self.stored):
            self.by_compact[entry.compact].append(index)
            for word in entry.content:
                self.by_word[(entry.numbers, word)].append(index)
            for key in self._shapes(entry):
                self.by_shape[key].append(index)

    @staticmethod
    def _shapes(entry: _Name) -> list[tuple[tuple[str, ...], int, int, tuple[str, ...]]]:
        return [(entry.numbers, len(entry.words), p, entry.words[:p] + entry.words[p + 1:])
                for p in range(len(entry.words))]

    def matches(self, name: str) -> list[tuple[str, str]]:
        """(reason, stored name) of every stored name close to `name` but not the same unit, closest first."""
        entry = _Name.of(name)
        candidates = set(self.by_compact.get(entry.compact, ()))
        shared: Counter[int] = Counter()
        for word in entry.content:
            shared.update(self.by_word.get((entry.numbers, word), ()))
        candidates.update(i for i, n in shared.items() if n == len(entry.content) or n == len(self.stored[i].content))
        for key in self._shapes(entry):
            candidates.update(self.by_shape.get(key, ()))
        found = [(reason, self.stored[i].name) for i in candidates
                 if not same_unit(name, self.stored[i].name) and (reason := _reason(entry, self.stored[i]))]
        return sorted(found, key=lambda m: (_ORDER.index(m[0]), m[1].casefold()))


def near_duplicates(names: Iterable[str], existing: Iterable[str], limit: int = 3) -> list[tuple[str, str, str]]:
    """(name, existing unit, reason) for every name that is not an existing unit but looks like one;
    at most `limit` existing units per name, closest first."""
    existing = list(existing)
    exact = {" ".join(n.split()).lower() for n in existing}
    index = _Index(existing)
    return [(name, other, reason) for name in dict.fromkeys(names) if " ".join(name.split()).lower() not in exact
            for reason, other in index.matches(name)[:limit]]


def near_duplicate_pairs(names: Iterable[str]) -> list[tuple[str, str, str]]:
    """Every pair of these units whose names look alike: (name, name, reason), each pair once."""
    names = list(dict.fromkeys(names))
    index = _Index(names)
    seen: set[frozenset[str]] = set()
    pairs = []
    for name in names:
        for reason, other in index.matches(name):
            if (pair := frozenset((name, other))) not in seen:
                seen.add(pair)
                pairs.append((name, other, reason))
    return pairs


def near_duplicates_in_store(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> list[tuple[str, str, str]]:
    """`near_duplicates` of these names against every unit in the database (archived ones too)."""
    return near_duplicates(names, [r[0] for r in rows(con, "SELECT name FROM unit ORDER BY lower(name)")])


def similar_unit_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """`near_duplicate_pairs` of every unit in the database (archived ones too): candidates for a merge."""
    return near_duplicate_pairs(r[0] for r in rows(con, "SELECT name FROM unit ORDER BY lower(name)"))


# --- merging -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult:
    source: str
    target: str
    rounds: list[str]

    def describe(self) -> str:
        moved = f"{len(self.rounds)} round(s) ({', '.join(self.rounds)})" if self.rounds else "no rounds"
        return f"Merged {self.source} into {self.target}: {moved} moved; {self.source} removed."


def _unit(con: duckdb.DuckDBPyConnection, name: str) -> tuple[int, str]:
    found = one(con, "SELECT id, name FROM unit WHERE lower(name) = lower(?)", [" ".join(name.split())])
    if not found:
        raise UnitClash(f"No business unit named {name!r}.")
    return int(found[0]), str(found[1])


def merge_units(con: duckdb.DuckDBPyConnection, source: str, target: str, *, principal: Principal, by: str) -> MergeResult:
    """Move every round of `source` to `target`, log each move, remove `source`; one transaction. Administrators
    and leads only."""
    authorise_write(con, principal, "merge_units")
    with transaction(con):
        source_id, source_name = _unit(con, source)
        target_id, target_name = _unit(con, target)
        if source_id == target_id:
            raise UnitClash(f"{source_name} and {target_name} are the same unit.")
        clashes = rows(con, """SELECT s.label, s.id, t.id FROM assessment s JOIN assessment t ON t.label = s.label
                               WHERE s.unit_id = ? AND t.unit_id = ? ORDER BY s.label""", [source_id, target_id])
        if clashes:
            listed = "; ".join(f"{label!r} (assessment {s} of {source_name}, assessment {t} of {target_name})"
                               for label, s, t in clashes)
            raise UnitClash(f"Cannot merge {source_name} into {target_name}: both have a round labelled {listed}. "
                            "A unit holds one round per label: undo or relabel one of them first.")
        moved = rows(con, "SELECT id, label FROM assessment WHERE unit_id = ? ORDER BY assessed_on NULLS LAST, label",
                     [source_id])
        now = dt.datetime.now().replace(microsecond=0)
        if moved:
            con.execute("UPDATE assessment SET unit_id = ? WHERE unit_id = ?", [target_id, source_id])
            con.executemany(
                """INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at,
                                           source) VALUES (?, NULL, 'unit', ?, ?, ?, ?, 'merge')""",
                [[int(i), source_name, target_name, by, now] for i, _ in moved])
        con.execute("UPDATE unit SET parent_id = ? WHERE parent_id = ?", [target_id, source_id])
        con.execute("UPDATE unit SET parent_id = NULL WHERE id = ? AND parent_id = ?", [target_id, target_id])
        # an assessor of the merged unit now assesses the unit it became (once)
        con.execute("""DELETE FROM role_assignment WHERE unit_id = ? AND (email, role) IN
                       (SELECT email, role FROM role_assignment WHERE unit_id = ?)""", [source_id, target_id])
        con.execute("UPDATE role_assignment SET unit_id = ? WHERE unit_id = ?", [target_id, source_id])
        con.execute("DELETE FROM unit WHERE id = ?", [source_id])
    return MergeResult(source_name, target_name, [str(label) for _, label in moved])
