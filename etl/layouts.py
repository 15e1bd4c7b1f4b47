"""Recognise where the answers are in a workbook: data sheets, header rows, columns, the metadata block.

Columns are recognised by their header names and their content, never by position: each field has
aliases in English, French, Spanish and German, compared after folding case, accents and punctuation. A
header equal to an alias (brackets and their content aside, so `Maturity (0-5)` is `maturity`), or one
that only qualifies an alias (`Control ref`, `Req #`, `Current maturity rating`, `Evidence / comments`),
is *recognised*; a short header that merely contains an alias among other words is *guessed* and shown
as unsure, for the person to confirm. Headers are read as runs of at most six words, so matching is
linear in the number of columns. When two columns could be the item id, the one whose values are ids
wins (a column of titles beside it is informational).

A sheet holds data when one of its first 30 non-empty rows names an item-id column and at least one
answer column, both recognised; only when no sheet of the file qualifies may the answer column be a
guessed one. Hidden sheets, instruction and cover sheets hold no data.
Above the header row (and on cover sheets), `Key: value` cells or a key cell followed by its value
form the metadata block: organisation, business unit, round, assessment date, assessor; a longer key is
read on the words it contains (`Assessed Division/Department` is the unit).

Nothing is dropped without a word: a second column for a free-text field is kept in the notes, and
`Layout.unused` lists every other column holding values that feeds nothing, with its count of values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dashboard.catalog import Catalog
from etl.canonical import COLUMNS
from etl.problems import column_letter
from etl.readers import Cell, Sheet, clean_cell
from etl.values import BadValue, fold, parse_gap, parse_item_id, parse_text

__all__ = [
    "ANSWER_FIELDS",
    "FIELDS",
    "HEADER_SCAN_ROWS",
    "Column",
    "Layout",
    "MetaValue",
    "detect_layouts",
    "find_metadata",
    "layout_at",
    "likely_header",
    "match_header",
    "unread_sheets",
]

# every field a column can feed, in the order the preview lists them
FIELDS = (
    "unit", "assessment", "assessed_on", "item_id", "maturity", "status", "gap", "target", "applicable",
    "justification", "inclusion_justification", "evidence", "owner", "due_date", "notes", "assessable",
)
ANSWER_FIELDS = ("maturity", "status", "gap", "target", "applicable", "justification", "inclusion_justification",
                 "evidence", "owner", "due_date", "notes")
INFORMATIONAL = ("section", "title", "urn")
# free-text fields: a second column that fits one of them is kept, appended to the notes under its header
KEPT_IN_NOTES = ("evidence", "notes", "justification")
KEPT = "kept in notes"
HEADER_SCAN_ROWS = 30

_ALIASES: dict[str, tuple[str, ...]] = {
    "unit": (
        "unit", "business unit", "bu", "unit name", "business unit name", "division", "department", "dept",
        "entity", "organisational unit", "organizational unit", "org unit", "team", "function", "subsidiary",
        "unite", "entite", "departement", "filiale", "unidad", "unidad de negocio", "departamento",
        "division de negocio", "einheit", "geschaftseinheit", "abteilung", "geschaftsbereich", "organisationseinheit",
    ),
    "assessment": (
        "assessment", "round", "assessment round", "period", "assessment period", "campaign", "cycle", "wave",
        "quarter", "review period", "label", "campagne", "periode", "vague", "ronda", "periodo", "campana",
        "ciclo", "runde", "zeitraum", "kampagne", "bewertungsrunde", "erhebung",
    ),
    "assessed_on": (
        "assessed on", "assessment date", "date assessed", "date of assessment", "review date", "date",
        "as of", "as at", "date d evaluation", "date de l evaluation", "fecha", "fecha de evaluacion",
        "datum", "bewertungsdatum", "stichtag", "erhebungsdatum",
    ),
    "item_id": (
        "item id", "item", "id", "clause", "control", "control id", "control no", "control number", "clause id",
        "clause no", "clause number", "clause/control", "control/clause", "requirement", "requirement id",
        "requirement no", "ref", "reference", "ref no", "iso ref", "iso reference", "iso 42001 ref",
        "annex a control", "annex a ref", "no", "nr", "number", "ref id", "req", "req no", "req id", "req ref",
        "requirement ref", "control ref", "clause ref", "exigence", "reference iso", "controle", "mesure",
        "article", "requisito", "referencia", "control iso", "clausula", "anforderung", "referenz", "kontrolle",
        "massnahme", "klausel", "abschnitt",
    ),
    "maturity": (
        "maturity", "maturity level", "current maturity", "current maturity level", "current level", "level",
        "score", "rating", "maturity score", "maturity rating", "current state", "as is", "cmm level",
        "maturite", "niveau de maturite", "niveau", "niveau actuel", "madurez", "nivel de madurez", "nivel",
        "nivel actual", "reifegrad", "reifegradstufe", "stufe", "aktueller reifegrad", "ist",
    ),
    "status": (
        "status", "compliance", "compliance status", "conformity", "conformance", "implementation status",
        "assessment result", "result", "finding", "rag", "rag status", "compliance result", "statut", "conformite", "etat",
        "estado", "cumplimiento", "conformidad", "erfullungsgrad", "konformitat", "umsetzungsstatus",
    ),
    "target": (
        "target", "target level", "target maturity", "target maturity level", "desired level", "desired maturity",
        "to be", "goal", "target state", "required level", "cible", "niveau cible", "maturite cible", "objectif",
        "objetivo", "nivel objetivo", "madurez objetivo", "meta", "ziel", "zielniveau", "soll", "zielreifegrad",
        "soll reifegrad",
    ),
    "applicable": (
        "applicable", "applicability", "in scope", "applies", "relevant", "included", "applicable y/n",
        "applicable yes/no", "applicabilite", "aplicable", "aplicabilidad", "anwendbar", "anwendbarkeit",
        "relevanz",
    ),
    "justification": (
        "justification", "rationale", "reason", "justification for exclusion", "exclusion justification",
        "reason for exclusion", "exclusion reason", "justification of exclusion", "soa justification",
        "justification d exclusion", "justificacion", "justificacion de exclusion", "motivo", "begrundung",
        "begrundung fur ausschluss", "ausschlussgrund",
    ),
    # why an included control is applied: the risks or obligations it treats (ISO/IEC 42001 6.1.3)
    "inclusion_justification": (
        "inclusion justification", "justification for inclusion", "reason for inclusion", "inclusion reason",
        "justification of inclusion", "reason included", "why included", "risks treated", "risk treated",
        "justification d inclusion", "motif d inclusion", "justificacion de inclusion", "motivo de inclusion",
        "begrundung fur aufnahme", "aufnahmegrund",
    ),
    "evidence": (
        "evidence", "evidence description", "supporting evidence", "proof", "artefacts", "artifacts",
        "evidence provided", "preuve", "preuves", "elements de preuve", "justificatifs", "evidencia",
        "evidencias", "pruebas", "nachweis", "nachweise", "belege", "evidenz",
    ),
    "owner": (
        "owner", "control owner", "action owner", "responsible", "responsible person", "accountable",
        "proprietaire", "responsable", "pilote", "propietario", "dueno", "verantwortlich", "verantwortliche",
        "verantwortlicher", "eigentumer",
    ),
    "due_date": (
        "due date", "due", "deadline", "target date", "by when", "completion date", "due by", "echeance",
        "date cible", "date limite", "fecha limite", "fecha objetivo", "vencimiento", "fallig", "falligkeit",
        "frist", "termin", "zieldatum",
    ),
    "notes": (
        "notes", "note", "comments", "comment", "remarks", "observations", "commentaire", "commentaires",
        "remarques", "comentarios", "comentario", "notas", "observaciones", "anmerkungen", "anmerkung",
        "kommentar", "kommentare", "bemerkungen", "notizen",
    ),
    "gap": (
        "gap", "gap severity", "gap rating", "gap level", "gap size", "severity", "maturity gap", "gap to target",
        "ecart", "niveau d ecart", "gravite", "brecha", "nivel de brecha", "severidad", "lucke", "abweichung",
        "schweregrad",
    ),
    "assessable": ("assessable", "is assessable", "evaluable", "bewertbar"),
    "urn": ("urn", "requirement urn"),
    "section": ("section", "clause section", "objective", "chapitre", "seccion", "kapitel"),
    "title": (
        "title", "name", "description", "control title", "control name", "clause title", "requirement title",
        "requirement text", "control description", "titre", "intitule", "titulo", "descripcion", "titel",
        "bezeichnung", "beschreibung",
    ),
}


def _words(text: str) -> tuple[str, ...]:
    """A header's folded words, a slash being a word of its own (`Evidence/comments` -> evidence, /, comments)."""
    return tuple(fold(text).replace("/", " / ").split())


_ALIAS_TO_FIELD = {" ".join(_words(alias)): name for name, aliases in _ALIASES.items() for alias in aliases}
_LONGEST_ALIAS = max(len(alias.split()) for alias in _ALIAS_TO_FIELD)
# words that qualify a field's name without changing the field: `Current maturity rating`, `Control ref`, `Req #`
_QUALIFIERS = frozenset({
    "current", "actual", "overall", "ref", "reference", "no", "nr", "number", "num", "id", "rating", "level", "score",
    "value", "code", "actuel", "actuelle", "aktuell", "aktueller", "nummer", "numero",
})
_NOTES_WORDS = frozenset(alias for alias, name in _ALIAS_TO_FIELD.items() if name == "notes")
_MAX_HEADER_WORDS = 6

_META_ALIASES: dict[str, tuple[str, ...]] = {
    "organisation": ("organisation", "organization", "company", "group", "organisation name", "organization name",
                     "societe", "entreprise", "groupe", "organizacion", "empresa", "compania", "grupo",
                     "unternehmen", "firma", "konzern"),
    "unit": _ALIASES["unit"],
    "assessment": _ALIASES["assessment"],
    "assessed_on": _ALIASES["assessed_on"],
    "assessor": ("assessor", "assessed by", "completed by", "prepared by", "reviewer", "auditor", "evaluator",
                 "evaluateur", "auditeur", "rempli par", "evaluador", "realizado por", "prufer", "bewerter",
                 "erstellt von", "ausgefullt von"),
}
_META_TO_KEY = {fold(alias): key for key, aliases in _META_ALIASES.items() for alias in aliases}
# a longer key is read on the words it contains: `Assessed Division/Department` is the unit
_META_WORDS = {
    "unit": ("division", "department", "unit", "business unit", "entity", "dept", "departement", "departamento",
             "unite", "unidad", "entite", "abteilung", "einheit", "geschaftseinheit", "bereich"),
    "assessed_on": ("date", "assessed on", "as of", "as at", "datum", "fecha", "stichtag"),
    "assessment": ("round", "period", "campaign", "cycle", "periode", "campagne", "periodo", "ronda", "runde",
                   "zeitraum"),
    "organisation": ("organisation", "organization", "company", "societe", "entreprise", "empresa", "unternehmen"),
    "assessor": ("assessor", "assessed by", "completed by", "prepared by", "auditor", "evaluateur", "prufer"),
}
_META_WORD_TO_KEY = {fold(word): key for key, words in _META_WORDS.items() for word in words}


def _meta_key(text: str) -> str | None:
    """The metadata key a cell names: an alias, else the one key whose words it contains (at most 6 words)."""
    folded = fold(text)
    key = _META_TO_KEY.get(folded)
    if key is not None or not folded:
        return key
    words = folded.replace("/", " ").split()
    if len(words) > _MAX_HEADER_WORDS:
        return None
    found = {_META_WORD_TO_KEY[gram] for size in (1, 2) for i in range(len(words) - size + 1)
             if (gram := " ".join(words[i:i + size])) in _META_WORD_TO_KEY}
    return found.pop() if len(found) == 1 else None
_ANNEX = re.compile(r"\b(annex|annexe|anhang|anexo)\s*a\b")
_CLAUSES = re.compile(r"\b(clauses?|klauseln?|clausulas?|management system)\b")
# sheets that explain the columns ("Unit: your business unit") are never read as a cover block
_INSTRUCTIONS = re.compile(r"instruction|readme|read me|help|guide|how to|notice|lisez|consignes|instrucciones|"
                           r"ayuda|anleitung|hinweise|hilfe|legend|scale|lists?\b|questions")
_BRACKETS = re.compile(r"[(\[{].*?[)\]}]")


@functools.lru_cache(maxsize=8192)  # the same texts recur in every row scanned for the header
def match_header(text: Any) -> tuple[str | None, bool]:
    """The field a header names and whether that is recognised (True) or only guessed (False).

    Equal to an alias (brackets aside): recognised. Otherwise the header's aliases are looked up as runs
    of its words (at most six words, so the cost per header is fixed: matching is linear in the columns);
    the longest run wins, the first on a tie (`Evidence / comments` is evidence, `Target maturity rating`
    target). The header is recognised when every other word qualifies it (current, ref, no, rating,
    level, ...) or follows a slash and names notes (`/ comments`); else it is guessed if it names one
    field only.
    """
    if text is None or not isinstance(text, str):
        return None, False
    folded = " ".join(fold(text).replace("/", " / ").split())
    bare = " ".join(fold(_BRACKETS.sub(" ", text)).replace("/", " / ").split()) if "(" in text or "[" in text or "{" in text else folded
    for candidate in (folded, bare, folded.rstrip(" 0123456789")):
        if candidate in _ALIAS_TO_FIELD:
            return _ALIAS_TO_FIELD[candidate], True
    words = tuple(bare.split())
    if not words or len(words) > _MAX_HEADER_WORDS:
        return None, False
    runs = []  # (length, -start, start, field)
    for size in range(1, min(_LONGEST_ALIAS, len(words)) + 1):
        for start in range(len(words) - size + 1):
            alias = " ".join(words[start:start + size])
            name = _ALIAS_TO_FIELD.get(alias)
            if name is not None and len(alias) > 2:
                runs.append((size, -start, start, name))
    if not runs:
        return None, False
    size, _, start, name = max(runs)
    covered = set()
    for length, _, first, other in runs:
        if other == name:
            covered.update(range(first, first + length))
    for position, word in enumerate(words):
        if word == "/" and " ".join(words[position + 1:]) in _NOTES_WORDS:
            covered.update(range(position, len(words)))
            break
    if all(i in covered or w in _QUALIFIERS for i, w in enumerate(words)):
        return name, True
    if len({other for *_, other in runs}) == 1:
        return name, False
    return None, False


@dataclass
class Column:
    """A column of the header row: where it is, what it says, which field it feeds and how sure we are."""

    index: int  # zero-based Excel column
    header: str
    field: str | None = None
    how: str = "not imported"  # recognised | guessed | set by you | informational | kept in notes | not imported

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass
class MetaValue:
    value: Cell
    sheet: str | None
    row: int
    column: int


@dataclass
class Layout:
    """One data sheet: where its header is, which column feeds which field, and what stands above it."""

    sheet: Sheet
    header_row: int  # Excel row number
    header_offset: int  # rows below the sheet's first
    columns: list[Column]
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    annex: bool = False
    canonical: bool = False

    @property
    def fields(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns if c.field in FIELDS}

    @property
    def description(self) -> str:
        kind = "canonical template" if self.canonical else "other layout, recognised by its header names"
        return f"{kind}{' (Annex A sheet)' if self.annex else ''}"

    @property
    def kept(self) -> list[Column]:
        """Second columns of a free-text field, appended to the notes under their header."""
        return [c for c in self.columns if c.how == KEPT]

    def column_label(self, name: str) -> str:
        """How a problem names the column feeding `name`: its header and its letter (a CSV file's too)."""
        column = self.fields.get(name)
        if column is None:
            return name
        return f"{column.header} ({column.letter})" if column.header else column.letter

    @functools.cached_property
    def filled(self) -> dict[int, int]:
        """Per column of the sheet (zero-based Excel index), how many cells below the header hold a value
        (kept once counted: the cells themselves are released after validation)."""
        start, sheet = self.header_offset + 1, self.sheet
        return {sheet.first_col + p: len(c) - start - c.slice(start).null_count
                for p, c in enumerate(sheet.columns) if len(c) > start}

    def unused(self) -> list[tuple[Column, int]]:
        """Columns holding values that feed no field (nor the notes, nor the informational ones), with their
        count of non-empty cells: every one is reported, none is dropped without a word."""
        fed = {c.index for c in self.columns if c.field in FIELDS or c.how in (KEPT, "informational")}
        known = {c.index: c for c in self.columns}
        return [(known.get(index) or Column(index, ""), count) for index, count in sorted(self.filled.items())
                if count and index not in fed]


def _text_cells(cells: Iterable[Cell]) -> str:
    return fold(" ".join(str(c) for c in cells if isinstance(c, str)))


def _columns(sheet: Sheet, cells: list[Cell]) -> list[Column]:
    columns = []
    for offset, cell in enumerate(cells):
        header = parse_text(cell)
        if header is None:
            continue
        name, sure = match_header(header)
        how = "not imported"
        if name in INFORMATIONAL:
            how = "informational"
        elif name:
            how = "recognised" if sure else "guessed"
        columns.append(Column(sheet.first_col + offset, header, name, how))
    return columns


def _id_share(layout_sheet: Sheet, offset: int, column: Column, catalog: Catalog, annex: bool) -> float:
    """How many of the first values under a column parse as item ids (to choose among id columns)."""
    position = column.index - layout_sheet.first_col
    if not 0 <= position < layout_sheet.width:
        return 0.0
    values = [v for v in layout_sheet.column(position, offset + 1)[:59].to_pylist() if parse_text(v)]
    good = 0
    for value in values:
        try:
            parse_item_id(value, catalog, annex=annex)
            good += 1
        except BadValue:
            pass
    return good / len(values) if values else 0.0


def _values_share(sheet: Sheet, offset: int, column: Column, parser: Any) -> float:
    """How many of the first values under a column the parser accepts (to read a column by its content)."""
    position = column.index - sheet.first_col
    if not 0 <= position < sheet.width:
        return 0.0
    values = [v for v in sheet.column(position, offset + 1)[:59].to_pylist() if parse_text(v)]
    good = 0
    for value in values:
        try:
            parser(value)
            good += 1
        except BadValue:
            pass
    return good / len(values) if values else 1.0


def _settle(columns: list[Column], choose: dict[str, Column] | None = None) -> None:
    """Keep one column per field: recognised before guessed, then the first (or the chosen one). A second
    column for a free-text field (`Comments` beside `Notes`) is kept: appended to the notes under its header."""
    for name in FIELDS:
        claimants = [c for c in columns if c.field == name and c.how in ("recognised", "guessed", "set by you")]
        if len(claimants) < 2:
            continue
        keep = (choose or {}).get(name) or min(claimants, key=lambda c: (c.how != "set by you", c.how != "recognised", c.index))
        for column in claimants:
            if column is not keep:
                column.how = KEPT if name in KEPT_IN_NOTES else f"not imported (also looks like {name})"
                column.field = None


def _is_header(columns: list[Column], lenient: bool) -> bool:
    recognised = {c.field for c in columns if c.how == "recognised"}
    answers = {c.field for c in columns if c.how == "recognised" or (lenient and c.how == "guessed")}
    return "item_id" in recognised and bool(answers & set(ANSWER_FIELDS))


def find_metadata(sheet: Sheet, rows: list[tuple[int, list[Cell]]]) -> dict[str, MetaValue]:
    """`Key: value` cells, or a key cell followed by a value cell, in the given rows."""
    found: dict[str, MetaValue] = {}
    for excel_row, cells in rows:
        for offset, cell in enumerate(cells):
            if not isinstance(cell, str):
                continue
            key_text, _, rest = cell.partition(":")
            key = _meta_key(key_text)
            if key is None or key in found:
                continue
            if rest.strip():
                found[key] = MetaValue(rest.strip(), sheet.name, excel_row, sheet.first_col + offset)
                continue
            after = next(((i, v) for i, v in enumerate(cells[offset + 1:], start=offset + 1) if v is not None), None)
            if after is not None and not (isinstance(after[1], str) and _meta_key(after[1].partition(":")[0])):
                found[key] = MetaValue(after[1], sheet.name, excel_row, sheet.first_col + after[0])
    return found


def _layout_of(sheet: Sheet, catalog: Catalog, lenient: bool = False) -> Layout | None:
    head = sheet.head(HEADER_SCAN_ROWS)
    for position, (excel_row, cells) in enumerate(head):
        columns = _columns(sheet, cells)
        if not _is_header(columns, lenient):
            continue
        return _build(sheet, catalog, head[:position], excel_row, columns)
    return None


def _build(sheet: Sheet, catalog: Catalog, above: list[tuple[int, list[Cell]]], excel_row: int,
           columns: list[Column]) -> Layout:
    context = " ".join([fold(sheet.name or ""), *(_text_cells(cells) for _, cells in above)])
    id_headers = " ".join(fold(c.header) for c in columns if c.field == "item_id")
    annex = bool(_ANNEX.search(context + " " + id_headers)) and not _CLAUSES.search(context)
    offset = excel_row - sheet.first_row
    ids = [c for c in columns if c.field == "item_id" and c.how in ("recognised", "guessed")]
    choose = None
    if len(ids) > 1:  # `Req #` (ids) beside `Requirement` (titles): the column whose values are ids wins
        shares = {id(c): _id_share(sheet, offset, c, catalog, annex) for c in ids}
        choose = {"item_id": max(ids, key=lambda c: (shares[id(c)], c.how == "recognised", -c.index))}
        for column in ids:
            if column is not choose["item_id"] and column.how == "recognised" and shares[id(column)] < 0.5:
                column.field, column.how = "title", "informational"
    _settle(columns, choose)
    for column in (c for c in columns if c.field == "gap"):  # a `Gap` column of free text is text, kept in notes
        if _values_share(sheet, offset, column, parse_gap) < 0.5:
            column.field, column.how = None, KEPT
    canonical = all(c.header in COLUMNS for c in columns)
    return Layout(sheet, excel_row, offset, columns, find_metadata(sheet, above), annex, canonical)


def detect_layouts(sheets: list[Sheet], catalog: Catalog) -> tuple[list[Layout], dict[str, MetaValue]]:
    """The data sheets of a file, and the metadata found on its other (cover) sheets."""
    visible = [s for s in sheets if not s.hidden]
    layouts = [la for la in (_layout_of(s, catalog) for s in visible) if la is not None]
    if not layouts:  # only then may a guessed answer column make a sheet hold data
        plain = [s for s in visible if not _INSTRUCTIONS.search(fold(s.name or ""))]
        layouts = [la for la in (_layout_of(s, catalog, lenient=True) for s in plain) if la is not None]
    cover: dict[str, MetaValue] = {}
    used = {id(la.sheet) for la in layouts}
    for sheet in visible:
        if id(sheet) not in used and not _INSTRUCTIONS.search(fold(sheet.name or "")):
            for key, value in find_metadata(sheet, sheet.head(HEADER_SCAN_ROWS)).items():
                cover.setdefault(key, value)
    return layouts, cover


def unread_sheets(sheets: list[Sheet], layouts: list[Layout]) -> list[tuple[Sheet, int]]:
    """Visible sheets that hold a table but were not read (no header row recognised), with their count of rows
    of three or more values: a sheet of answers is never passed over without a word. Instruction sheets and
    cover sheets (a key and its value per row) are not counted."""
    used = {id(la.sheet) for la in layouts}
    out = []
    for sheet in sheets:
        if sheet.hidden or id(sheet) in used or _INSTRUCTIONS.search(fold(sheet.name or "")) or sheet.width < 3:
            continue
        filled = sum(c.is_valid().to_numpy(zero_copy_only=False).astype(np.int64) for c in sheet.columns)
        rows = int((filled >= 3).sum())
        if rows >= 3:
            out.append((sheet, rows))
    return out


def layout_at(sheet: Sheet, catalog: Catalog, excel_row: int) -> Layout | None:
    """The layout of a sheet whose header row a person has chosen (None if that row is empty)."""
    offset = excel_row - sheet.first_row
    if not 0 <= offset < sheet.height:
        return None
    cells = [clean_cell(v) for v in sheet.row(offset)]
    if all(c is None for c in cells):
        return None
    above = [(number, row) for number, row in sheet.head(HEADER_SCAN_ROWS * 4) if number < excel_row]
    return _build(sheet, catalog, above, excel_row, _columns(sheet, cells))


def likely_header(sheets: list[Sheet]) -> tuple[Sheet, int, list[str]] | None:
    """Where the header probably is when nothing was recognised: the first visible sheet's row with the most
    text cells among its first rows (for the person to confirm and map by hand)."""
    for sheet in (s for s in sheets if not s.hidden):
        head = sheet.head(HEADER_SCAN_ROWS)
        if head:
            number, cells = max(head, key=lambda r: (sum(isinstance(c, str) for c in r[1]), -r[0]))
            return sheet, number, [c.header for c in _columns(sheet, cells)]
    return None
