"""Turn spreadsheet cells into typed values: item ids, maturity levels, status words, yes/no, dates, text.

Each parser returns the value or raises `BadValue` with what was expected, so that the caller can
name the cell. A blank cell is `None` everywhere ("leave the stored value as it is").

Status words (a `status` column, or words in the maturity column) follow one documented rule:

- compliant -> the maturity is the item's target in force (the file's target, else the stored one,
  else the assessment's default, 3): a compliant item meets its target;
- partial -> maturity 2 (*Managed*), or one level below a target of 2 or less (never below 1);
- non-compliant -> maturity 0 (*Non-existent*);
- not applicable -> applicable = no (a justification is then required, as for any excluded control);
- not assessed -> nothing is set.
A number or level name in the maturity column always wins over a status word in the same row.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from dashboard.catalog import Catalog, Scale
from etl.canonical import FORMULA_PREFIXES

__all__ = [
    "COMPLIANT",
    "NON_COMPLIANT",
    "NOT_APPLICABLE",
    "NOT_ASSESSED",
    "PARTIAL",
    "BadValue",
    "catalog_parents",
    "fold",
    "parse_applicable",
    "parse_date",
    "parse_gap",
    "parse_item_id",
    "parse_level",
    "parse_maturity",
    "parse_status",
    "parse_text",
    "partial_level",
    "unescape",
]


class BadValue(ValueError):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def fold(text: str) -> str:
    """Lower case without accents, punctuation as spaces: `Fällig (Datum)` -> `fallig datum`."""
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))  # casefold made ß "ss"
    return " ".join(re.sub(r"[^0-9a-z/]+", " ", plain).split())




def unescape(text: str) -> str:
    """Undo our own export escaping: a leading apostrophe before a formula character is dropped."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
        return text[1:]
    return text


def parse_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        value = value.date()
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    text = unescape(str(value).strip())
    return text or None


_ID = re.compile(r"^(A)?\s*\.?\s*(\d{1,2}(?:\s*\.\s*\d{1,2}){0,3})(?=$|\s|[-–:])", re.IGNORECASE)


_PARENTS: dict[int, tuple[Catalog, dict[str, tuple[str, ...]]]] = {}


def catalog_parents(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Headings of the catalog that are not items but group clause sub-items: `6.1` -> 6.1.1 … 6.1.4
    (likewise 7.5, 9.2 and 9.3). Coarser templates answer them as one requirement."""
    held = _PARENTS.get(id(catalog))
    if held is None or held[0] is not catalog:
        groups: dict[str, list[str]] = {}
        for item in catalog.items:
            parent = item.id.rsplit(".", 1)[0]
            if item.kind == "clause" and item.id.count(".") >= 2 and parent not in catalog.by_id:
                groups.setdefault(parent, []).append(item.id)
        held = _PARENTS[id(catalog)] = (catalog, {k: tuple(v) for k, v in groups.items()})
    return held[1]


def parse_item_id(value: Any, catalog: Catalog, *, annex: bool = False) -> str | None:
    """A catalog item id from `6.1.2`, `A.6.2.4`, `A6.2.4`, `A 6.2.4` or `5.2 AI policy`; exact match only.

    On a sheet that is clearly Annex A (`annex=True`), a bare `6.2.4` means `A.6.2.4`. A heading that
    groups clause sub-items (`6.1`, see `catalog_parents`) is returned as it is, for the caller to spread.
    """
    text = parse_text(value)
    if text is None:
        return None
    match = _ID.match(text)
    if not match:
        raise BadValue("a catalog item id such as 6.1.2 or A.6.2.4")
    number = re.sub(r"\s+", "", match.group(2))
    candidate = f"A.{number}" if match.group(1) or annex else number
    if candidate in catalog.by_id or (not match.group(1) and not annex and candidate in catalog_parents(catalog)):
        return candidate
    hint = ""
    # a number that could be a clause (4 to 10) is never "corrected" to a control outside an Annex A sheet
    if not match.group(1) and not annex and int(number.split(".")[0]) < 4 and f"A.{number}" in catalog.by_id:
        hint = f"; {number} is not a clause — for the Annex A control write A.{number}"
    raise BadValue(f"an item id of the catalog (clauses 4.1-10.2, Annex A A.2.2-A.10.4){hint}")


_LEADING_NUMBER = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(?:$|[-–:/(]|\s)")


def _level_words(scale: Scale) -> str:
    return ", ".join(f"{lv.value} {lv.name}" for lv in scale.levels)


def parse_level(value: Any, scale: Scale) -> int | None:
    """A maturity level 0-5 from a number, a level name or alias, or both (`3 - Defined`: the number wins)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue(f"a whole number from 0 to 5 or a level name ({_level_words(scale)})")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        match = _LEADING_NUMBER.match(text)
        if match:
            number = float(match.group(1).replace(",", "."))
        else:
            word = scale.words.get(text.lower())
            if word is None:
                raise BadValue(f"a whole number from 0 to 5 or a level name ({_level_words(scale)})")
            return word
    if not number.is_integer() or not 0 <= number <= 5:
        raise BadValue("a whole number from 0 to 5")
    return int(number)


COMPLIANT, PARTIAL, NON_COMPLIANT, NOT_APPLICABLE, NOT_ASSESSED = (
    "compliant", "partial", "non-compliant", "not applicable", "not assessed",
)
_STATUS_WORDS: dict[str, tuple[str, ...]] = {
    COMPLIANT: (
        "compliant", "fully compliant", "compliance", "conformant", "conform", "conforms", "implemented",
        "fully implemented", "in place", "met", "fully met", "achieved", "effective", "green",
        "conforme", "totalement conforme", "cumple", "cumple totalmente", "implementado", "erfullt",
        "vollstandig erfullt", "konform", "umgesetzt",
    ),
    PARTIAL: (
        "partial", "partially", "partly", "partially compliant", "partly compliant", "partially implemented",
        "partly implemented", "partially met", "in progress", "ongoing", "amber", "partiel", "partielle",
        "partiellement conforme", "en cours", "parcial", "parcialmente", "cumple parcialmente", "en progreso",
        "teilweise", "teilweise erfullt", "teilweise umgesetzt", "in bearbeitung",
    ),
    NON_COMPLIANT: (
        "non compliant", "noncompliant", "not compliant", "non conformant", "nonconformant", "nonconformity",
        "non conformity", "not implemented", "not met", "not in place", "missing", "gap", "red",
        "non conforme", "pas conforme", "no cumple", "no implementado", "incumple", "nicht erfullt",
        "nicht konform", "nicht umgesetzt",
    ),
    NOT_APPLICABLE: (
        "n/a", "n a", "na", "not applicable", "excluded", "out of scope", "non applicable", "sans objet",
        "no aplica", "no aplicable", "nicht anwendbar", "entfallt",
    ),
    NOT_ASSESSED: (
        "not assessed", "tbd", "to be assessed", "unknown", "not evaluated", "pending", "non evalue",
        "a evaluer", "no evaluado", "pendiente", "nicht bewertet", "offen",
    ),
}
_STATUS = {word: status for status, words in _STATUS_WORDS.items() for word in words}
STATUS_EXPECTED = "a status such as Compliant, Partial, Non-compliant, N/A or Not assessed"


def parse_status(value: Any) -> str | None:
    """One of the status constants from a compliance word in English, French, Spanish or German."""
    text = parse_text(value)
    if text is None:
        return None
    status = _STATUS.get(fold(text))
    if status is None:
        raise BadValue(STATUS_EXPECTED)
    return status


_GAP_WORDS: dict[str, tuple[str, ...]] = {
    COMPLIANT: ("none", "no gap", "nil", "no", "aucun", "aucune", "pas d ecart", "ninguna", "ninguno", "sin brecha",
                "keine", "keine lucke"),
    PARTIAL: ("minor", "low", "small", "moderate", "medium", "mineur", "mineure", "faible", "modere", "moyen",
              "moyenne", "menor", "baja", "bajo", "moderada", "moderado", "media", "medio", "gering", "niedrig",
              "mittel", "moderat"),
    NON_COMPLIANT: ("high", "major", "significant", "critical", "severe", "large", "majeur", "majeure", "eleve",
                    "elevee", "critique", "importante", "alta", "alto", "mayor", "critica", "critico", "hoch",
                    "kritisch", "erheblich", "gross"),
}
_GAP = {word: status for status, words in _GAP_WORDS.items() for word in words}
GAP_EXPECTED = "a gap severity such as None, Minor, Moderate or High (or N/A), or the gap as a number"


def parse_gap(value: Any) -> str | None:
    """A gap-severity cell (`None`, `Minor`, `Moderate`, `High`, and translations) as a status constant:
    no gap is compliant, a minor or moderate gap partial, a high one non-compliant; `None` here is never
    maturity 0. A number (the gap in levels) is accepted and sets nothing."""
    text = parse_text(value)
    if text is None or _PLAIN_NUMBER.match(text):
        return None
    folded = fold(text).removesuffix(" gap").strip()
    status = _GAP.get(folded) or _STATUS.get(fold(text))
    if status is None:
        raise BadValue(GAP_EXPECTED)
    return status


_PLAIN_NUMBER = re.compile(r"^\s*-?[0-9]+(?:[.,][0-9]+)?\s*$")


def parse_maturity(value: Any, scale: Scale) -> int | str | None:
    """A maturity cell: a level (number, name, alias, `3 - Defined`), else a status word (a status constant)."""
    try:
        return parse_level(value, scale)
    except BadValue as level_error:
        if isinstance(value, int | float) or _PLAIN_NUMBER.match(str(value)):
            raise  # a number out of range is not a misspelt status word
        try:
            return parse_status(value)
        except BadValue:
            raise BadValue(f"{level_error.expected}, or a status word (Compliant, Partial, Non-compliant, N/A)") from None


def partial_level(target: int) -> int:
    """The maturity a *partial* status stands for, given the target in force."""
    return 2 if target >= 3 else max(1, target - 1)


_YES = {"yes", "y", "true", "1", "applicable", "in scope", "included", "include", "x", "oui", "si", "sí",
        "ja", "aplica", "anwendbar", "relevant", "wahr", "vrai", "verdadero"}
_NO = {"no", "n", "false", "0", "exclude", "non", "nein", "not relevant", "faux", "falso", "falsch",
       *_STATUS_WORDS[NOT_APPLICABLE]}  # every word for "not applicable" also says "no"


def parse_applicable(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and float(value) in (0.0, 1.0):
        return bool(value)
    text = str(value).strip().lower()
    if not text:
        return None
    if fold(text) in _YES:
        return True
    if fold(text) in _NO:
        return False
    raise BadValue("yes or no (also Y/N, true/false, applicable/excluded, N/A)")


_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def parse_date(value: Any) -> dt.date | None:
    """An Excel date or an ISO date string (YYYY-MM-DD); other spellings are ambiguous and refused."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    match = _ISO_DATE.match(text)
    try:
        if not match:
            raise ValueError(text)
        day = dt.date.fromisoformat(match.group(1))
        if day.year < 1900:  # before Excel's first day: a time of day alone reads as 1899-12-31
            raise ValueError(text)
        return day
    except ValueError as exc:
        raise BadValue("a date as an Excel date or YYYY-MM-DD (day/month orders are ambiguous)") from exc
