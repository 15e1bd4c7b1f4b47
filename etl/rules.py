"""The rules between cells, on whole columns at once.

- A row with answers needs an item id, a unit and a round; a row that only names an item is skipped.
- Status words stand in for levels (see `etl.values`): a level beats a word, and the maturity column
  beats the status column. N/A in either means not applicable; `applicable = yes` beside it is an error.
- Clauses 4-10 cannot be not applicable; an Annex A control marked not applicable needs a justification.
- The same unit, round and item twice: identical repeats are ignored with a warning, others are errors.
- One assessment, one date: a row giving another date than the assessment's first is an error.
- A heading of the catalog (6.1, 7.5, 9.2, 9.3) answers for each of its sub-items (a warning says so); a
  sub-item answered in its own row wins.
- A gap severity stands in for the status only in a row with neither a maturity nor a status.
- An excluded control on a sheet without a justification column takes its notes as justification.
- Every problem names the cell holding the value at fault (N/A in the maturity column is reported there).

Units are matched without regard to case (`OPS` is `Ops`); rows are keyed by integers computed once,
so that finding repeats and grouping by assessment never re-hashes text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.catalog import Catalog
from etl.layouts import ANSWER_FIELDS, FIELDS, Layout
from etl.problems import Report
from etl.values import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, PARTIAL, catalog_parents, parse_text

__all__ = ["TEXT_FIELDS", "Columns", "Problems", "apply_rules", "shown"]

TEXT_FIELDS = ("justification", "evidence", "owner", "notes", "inclusion_justification")  # held as Arrow arrays, not Python strings

_COMPARED = ("maturity", "target", "applicable", "justification", "evidence", "owner", "due_date", "notes", "status",
             "inclusion_justification")


def shown(value: Any) -> str:
    """A cell value as a person would read it in a report."""
    text = parse_text(value)
    return "" if text is None else text


class Problems:
    """Problems with a sort key, so that the report reads top to bottom, left to right."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple[int, int, int], str, str, dict[str, Any]]] = []

    def add(self, severity: str, order: tuple[int, int, int], message: str, **where: Any) -> None:
        self.items.append((order, severity, message, where))

    def into(self, report: Report) -> None:
        for _, severity, message, where in sorted(self.items, key=lambda item: item[0]):
            (report.error if severity == "error" else report.warning)(message, **where)


@dataclass
class Columns:
    """Parsed columns of one or more sheets, row-aligned: value, filled, status word, per field.

    Values are numpy object arrays, except the free-text fields: Arrow string arrays, which go to the
    database as they are."""

    rows: np.ndarray
    sheet: np.ndarray
    failed: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    present: dict[str, np.ndarray] = field(default_factory=dict)
    words: dict[str, np.ndarray] = field(default_factory=dict)
    excluded: int = 0  # rows marked not assessable, skipped before parsing

    def set(self, name: str, values: np.ndarray, present: np.ndarray, words: np.ndarray) -> None:
        self.values[name], self.present[name], self.words[name] = values, present, words

    def take(self, index: np.ndarray) -> Columns:
        if len(index) == len(self.rows):
            return self
        out = Columns(self.rows[index], self.sheet[index], self.failed[index], excluded=self.excluded)
        for name in FIELDS:
            values = self.values[name]
            out.set(name, values.take(pa.array(index)) if isinstance(values, pa.Array) else values[index],
                    self.present[name][index], self.words[name][index])
        return out

    @staticmethod
    def concat(parts: list[Columns]) -> Columns:
        if len(parts) == 1:
            return parts[0]
        out = Columns(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("rows", "sheet", "failed")),
                      excluded=sum(p.excluded for p in parts))
        for name in FIELDS:
            values = [p.values[name] for p in parts]
            out.set(name, pa.concat_arrays(values) if name in TEXT_FIELDS else np.concatenate(values),
                    *(np.concatenate([getattr(p, a)[name] for p in parts]) for a in ("present", "words")))
        return out


class _Reporter:
    def __init__(self, data: Columns, layouts: list[Layout], problems: Problems) -> None:
        self.data, self.layouts, self.problems = data, layouts, problems

    def where(self, i: int, name: str) -> tuple[tuple[int, int, int], dict[str, Any]]:
        sheet, row = int(self.data.sheet[i]), int(self.data.rows[i])
        layout = self.layouts[sheet]
        column = layout.fields.get(name)
        return (sheet, row, column.index if column else -1), {"sheet": layout.sheet.name, "row": row,
                                                               "column": layout.column_label(name)}

    def cell(self, i: int, name: str) -> str:
        """The text of the cell feeding `name` in row `i`, as the file holds it."""
        layout = self.layouts[int(self.data.sheet[i])]
        column, sheet = layout.fields.get(name), layout.sheet
        offset = int(self.data.rows[i]) - sheet.first_row
        if column is None or not 0 <= column.index - sheet.first_col < sheet.width or not 0 <= offset < sheet.height:
            return ""
        return shown(sheet.columns[column.index - sheet.first_col][offset].as_py())

    def rows(self, mask: np.ndarray, name: Any, message: Any, severity: str = "error", **extra: Any) -> None:
        """One problem per row of `mask`, at the column feeding `name` (or `name(i)`: the column holding the
        bad value may differ from row to row); `value=None` in `extra` means the cell's own text."""
        for i in np.flatnonzero(mask):
            column = name(int(i)) if callable(name) else name
            order, where = self.where(int(i), column)
            found = dict(extra)
            if "value" in found and found["value"] is None:
                found["value"] = self.cell(int(i), column)
            self.problems.add(severity, order, message(int(i)) if callable(message) else message, **where, **found)


def _levels_and_words(data: Columns) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(maturity level or None, compliant/partial or None, not applicable, the field whose cell says N/A) per
    row. A gap severity stands in for the status only where the row gives neither a maturity nor a status."""
    given, word = data.values["maturity"], data.values["status"]
    given_word, word_word = data.words["maturity"], data.words["status"]
    count = len(given)
    if not (given_word.any() or word_word.any() or data.present["status"].any() or data.present["gap"].any()):
        return given, np.full(count, None, dtype=object), np.zeros(count, dtype=bool), np.full(count, None, dtype=object)
    from_gap = np.zeros(count, dtype=bool)
    if data.present["gap"].any():
        gap = data.values["gap"]
        from_gap = (given == None) & (word == None) & (gap != None) & ~data.failed  # noqa: E711 - elementwise
    if from_gap.any():
        word, word_word = np.where(from_gap, gap, word), word_word | from_gap
    given_level = (given != None) & ~given_word  # noqa: E711 - elementwise on an object array
    word_level = (word != None) & ~word_word  # noqa: E711
    combined = np.where(given_level, given, np.where(word_level, word, np.where(given_word, given, word)))
    is_word = ~given_level & ~word_level & (given_word | word_word)
    maturity = np.where(is_word, np.where(combined == NON_COMPLIANT, 0, None), combined)
    status = np.where(is_word & ((combined == COMPLIANT) | (combined == PARTIAL)), combined, None)
    given_na, word_na = given_word & (given == NOT_APPLICABLE), word_word & (word == NOT_APPLICABLE)
    source = np.where(given_na, "maturity", np.where(word_na, np.where(from_gap, "gap", "status"), None))
    return maturity, status, given_na | word_na, source


def _notes_justify(data: Columns, layouts: list[Layout], excluded: np.ndarray) -> None:
    """On a sheet without a justification column (CISO Assistant's keeps it in `observations`), the notes of an
    excluded control are its justification too."""
    no_column = np.array([("justification" not in la.fields) for la in layouts])[data.sheet] if len(data.sheet) else excluded
    take = excluded & no_column & ~data.present["justification"] & data.present["notes"]
    if take.any():
        data.values["justification"] = pc.if_else(pa.array(take), data.values["notes"], data.values["justification"])
        data.present["justification"] = data.present["justification"] | take


def _spread_parents(data: Columns, layouts: list[Layout], catalog: Catalog, problems: Problems) -> tuple[Columns, np.ndarray]:
    """A heading of the catalog (6.1, 7.5, 9.2, 9.3) answers for each of its sub-items: its row is repeated
    once per sub-item, with a warning. (Columns, whether each row came from a heading)."""
    parents = catalog_parents(catalog)
    ids = data.values["item_id"]
    heading = pd.Series(ids, dtype=object).isin(list(parents)).to_numpy() if len(ids) else np.zeros(0, dtype=bool)
    if not heading.any():
        return data, np.zeros(len(ids), dtype=bool)
    answered = data.failed.copy()
    for name in ANSWER_FIELDS:
        answered |= data.present[name]
    heading = heading & answered  # a heading row with no answer (a template's outline) is skipped like any other
    if not heading.any():
        return data, np.zeros(len(ids), dtype=bool)
    report = _Reporter(data, layouts, problems)
    report.rows(heading & ~data.failed, "item_id", lambda i: f"{ids[i]} is a heading of the catalog, not an item: its "
                f"answer is taken for each of {', '.join(parents[ids[i]])} (a row answering one of them explicitly wins)",
                severity="warning")
    copies = np.where(heading, [len(parents.get(i, ())) if h else 1 for i, h in zip(ids, heading, strict=True)], 1)
    index = np.repeat(np.arange(len(ids)), copies)
    spread = data.take(index)
    derived = heading[index]
    spread.values["item_id"] = spread.values["item_id"].copy()
    spread.values["item_id"][derived] = [child for i in np.flatnonzero(heading) for child in parents[ids[i]]]
    return spread, derived


def _keys(unit: np.ndarray, label: np.ndarray, item_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(assessment key, response key) per row: integers for (unit regardless of case, round) and + item."""
    unit_codes, unit_names = pd.factorize(unit)
    lowered, _ = pd.factorize(np.array([str(u).lower() for u in unit_names], dtype=object))
    label_codes, labels = pd.factorize(label)
    akey, _ = pd.factorize(lowered[unit_codes].astype(np.int64) * max(len(labels), 1) + label_codes)
    return akey, akey.astype(np.int64) * (int(item_codes.max(initial=0)) + 2) + item_codes


def _same(a: Any, b: Any) -> bool:
    a_blank, b_blank = a is None or bool(pd.isna(a)), b is None or bool(pd.isna(b))  # None, NaN or NA (Arrow text)
    return a_blank and b_blank if a_blank or b_blank else bool(a == b)


def apply_rules(
    data: Columns, layouts: list[Layout], catalog: Catalog, problems: Problems, *, untold: frozenset[str] = frozenset()
) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    """(responses, assessments, rows read, rows skipped) after every rule; problems go into `problems`.
    `untold`: unit / assessment, already reported missing for the whole sheet (not again for every row)."""
    rows_read, not_assessable = len(data.rows), data.excluded
    data, derived = _spread_parents(data, layouts, catalog, problems)
    report = _Reporter(data, layouts, problems)
    failed = data.failed.copy()
    maturity, status, not_applicable, na_source = _levels_and_words(data)
    applicable = data.values["applicable"].copy()
    conflict = not_applicable & (applicable == True) & ~failed  # noqa: E712 - elementwise on an object array
    report.rows(conflict, "applicable", "the row says both applicable and not applicable (N/A)", value="yes",
                expected="no, or a status other than N/A")
    failed |= conflict
    applicable[not_applicable] = False

    # a row answers something unless all it says is "not assessed"
    answers = (maturity != None) | (status != None) | not_applicable | failed  # noqa: E711
    for name in ANSWER_FIELDS:
        if name not in ("maturity", "status"):
            answers |= data.present[name]
    has_id = data.present["item_id"]
    report.rows(~has_id & ~failed & answers, "item_id", "this row has answers but no item id", expected="an item id")
    skipped = int((~answers).sum())
    usable = has_id & ~failed & answers
    for name, what in (("unit", "unit"), ("assessment", "round label")):
        blank = usable & ~data.present[name]
        if name not in untold:
            report.rows(blank, name, f"the {what} is blank",
                        expected=f"a {what}: in a column, on a '{what}:' line above the table, or given for the import")
        usable &= ~blank

    item_ids = data.values["item_id"]
    item_codes, items = pd.factorize(item_ids)
    kinds = np.append(np.array([catalog.by_id[i].kind if i in catalog.by_id else "clause" for i in items],  # headings
                               dtype=object), None)[item_codes]
    clause_na = usable & (kinds == "clause") & (applicable == False)  # noqa: E712
    report.rows(clause_na, lambda i: na_source[i] or "applicable", lambda i: f"clause {item_ids[i]} is a requirement "
                "of the management system and cannot be marked not applicable; only Annex A controls can be excluded",
                value=None, expected="a level or status other than N/A, applicable yes or blank: clauses always apply")
    controls_out = usable & (kinds == "annex_a") & (applicable == False)  # noqa: E712
    _notes_justify(data, layouts, controls_out)
    annex_na = controls_out & ~data.present["justification"]
    report.rows(annex_na, "justification", lambda i: f"control {item_ids[i]} is marked not applicable without a "
                "justification", expected="a justification in the same row (it goes into the Statement of Applicability)")
    keep = np.flatnonzero(usable & ~(clause_na | annex_na))

    akey, rkey = _keys(data.values["unit"][keep], data.values["assessment"][keep], item_codes[keep])
    frame = pd.DataFrame({
        "akey": akey, "item_id": pd.Series(item_ids[keep], dtype=object), "kind": pd.Series(kinds[keep], dtype=object),
        "maturity": pd.Series(maturity[keep], dtype=object), "target": pd.Series(data.values["target"][keep], dtype=object),
        "applicable": pd.Series(applicable[keep], dtype=object),
        **{n: pd.Series(data.values[n].take(pa.array(keep)), dtype=pd.ArrowDtype(pa.string())) for n in TEXT_FIELDS},
        "due_date": pd.Series(data.values["due_date"][keep], dtype=object),
        "status": pd.Series(status[keep], dtype=object), "unit": pd.Series(data.values["unit"][keep], dtype=object),
        "label": pd.Series(data.values["assessment"][keep], dtype=object),
        "assessed_on": pd.Series(data.values["assessed_on"][keep], dtype=object),
        "sheet_index": data.sheet[keep], "row": data.rows[keep], "index": keep,
    })
    drop = _explicit_wins(frame, rkey, derived[keep], report)
    if drop:
        frame, rkey = frame.drop(index=drop), np.delete(rkey, drop)
        frame = frame.reset_index(drop=True)
    drop = _repeats(frame, rkey, report) + _dates(frame, report)
    if drop:
        frame = frame.drop(index=drop)
    return frame.reset_index(drop=True), _assessments(frame, layouts), rows_read, skipped + not_assessable


def _explicit_wins(frame: pd.DataFrame, rkey: np.ndarray, derived: np.ndarray, report: _Reporter) -> list[int]:
    """A sub-item answered in its own row wins over the answer its heading gave it (said in a warning)."""
    if not derived.any():
        return []
    explicit = pd.Series(rkey[~derived])
    clash = np.flatnonzero(derived & np.isin(rkey, explicit.to_numpy()))
    for position in clash:
        row = frame.iloc[position]
        own = frame.iloc[int(np.flatnonzero(~derived & (rkey == rkey[position]))[0])]
        order, where = report.where(int(row["index"]), "item_id")
        report.problems.add("warning", order, f"{_subject(row)} is answered in its own row ({own['row']}), which wins "
                            f"over the heading's answer in row {row['row']}", **where)
    return [int(p) for p in clash]


def _subject(row: Any) -> str:
    return f"item {row['item_id']} for {row['unit']} {row['label']}"


def _repeats(frame: pd.DataFrame, rkey: np.ndarray, report: _Reporter) -> list[int]:
    """Identical repeats of a unit, round and item are dropped with a warning; different ones are errors."""
    repeated = np.flatnonzero(pd.Series(rkey).duplicated(keep=False).to_numpy())
    drop: list[int] = []
    groups: dict[int, list[int]] = {}
    for position in repeated:
        groups.setdefault(int(rkey[position]), []).append(int(position))
    many = len(report.layouts) > 1
    for positions in groups.values():
        first = frame.iloc[positions[0]]
        first_at = f"row {first['row']}" + (f" of {report.layouts[int(first['sheet_index'])].sheet.name!r}" if many else "")
        for position in positions[1:]:
            later = frame.iloc[position]
            drop.append(frame.index[position])
            order, where = report.where(int(later["index"]), "item_id")
            if all(_same(first[c], later[c]) for c in _COMPARED):
                report.problems.add("warning", order, f"{_subject(later)} repeats {first_at} identically; the repeat is "
                                    "ignored", **where)
            else:
                both = f"rows {first['row']} and {later['row']}" if not many else f"{first_at} and row {later['row']}"
                report.problems.add("error", order, f"{_subject(later)} appears twice with different values ({both})",
                                    **where)
    return drop


def _dates(frame: pd.DataFrame, report: _Reporter) -> list[int]:
    """One assessment, one date: rows giving another date than the assessment's first are errors."""
    dated = frame["assessed_on"].notna().to_numpy()
    if not dated.any():
        return []
    codes, days = pd.factorize(frame["assessed_on"].to_numpy()[dated])
    first = pd.Series(codes).groupby(frame["akey"].to_numpy()[dated]).transform("first").to_numpy()
    clash = np.flatnonzero(dated)[codes != first]
    for position, first_code in zip(clash, first[codes != first], strict=True):
        row = frame.iloc[position]
        order, where = report.where(int(row["index"]), "assessed_on")
        report.problems.add("error", order, f"{row['unit']} {row['label']} has two different assessment dates "
                            f"({days[first_code]} and {row['assessed_on']})", **where, value=str(row["assessed_on"]),
                            expected=str(days[first_code]))
    return [frame.index[p] for p in clash]


def _assessments(frame: pd.DataFrame, layouts: list[Layout]) -> pd.DataFrame:
    """One row per unit and round: its name as first written, date, scope, and where it first appears."""
    columns = ["akey", "unit", "label", "assessed_on", "scope", "sheet", "row"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    flags = frame[["akey", "unit", "label", "assessed_on", "sheet_index", "row"]].assign(
        clauses=(frame["kind"] == "clause").to_numpy(), annex=(frame["kind"] == "annex_a").to_numpy())
    out = flags.groupby("akey", sort=True).agg(
        unit=("unit", "first"), label=("label", "first"), assessed_on=("assessed_on", "first"),
        sheet_index=("sheet_index", "first"), row=("row", "min"), clauses=("clauses", "max"), annex=("annex", "max"),
    ).reset_index()
    out["scope"] = np.where(out["clauses"] & out["annex"], "both", np.where(out["clauses"], "clauses", "annex_a"))
    out["sheet"] = [layouts[int(i)].sheet.name for i in out["sheet_index"]]
    return out[columns]
