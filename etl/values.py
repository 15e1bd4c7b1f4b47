"""Turn spreadsheet cells into typed values: item ids, maturity levels, yes/no, dates, text.

Each parser returns the value or raises `BadValue` with what was expected, so that the caller can
name the cell. A blank cell is `None` everywhere ("leave the stored value as it is").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dashboard.catalog import Catalog, Scale

__all__ = ["BadValue", "parse_applicable", "parse_date", "parse_item_id", "parse_level", "parse_text", "unescape"]


class BadValue(ValueError):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def unescape(text: str) -> str:
    """Undo our own export escaping: a leading apostrophe before a formula character is dropped."""
    if len(text) > 1 and text[0] == "'" and text[1] in _DANGEROUS:
        return text[1:]
    return text


def parse_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    text = unescape(str(value).strip())
    return text or None


_ID = re.compile(r"^(A)?\s*\.?\s*(\d{1,2}(?:\s*\.\s*\d{1,2}){0,3})(?=$|\s|[-–:])", re.IGNORECASE)


def parse_item_id(value: Any, catalog: Catalog) -> str | None:
    """A catalog item id from `6.1.2`, `A.6.2.4`, `A6.2.4`, `A 6.2.4` or `5.2 AI policy`; exact match only."""
    text = parse_text(value)
    if text is None:
        return None
    match = _ID.match(text)
    if not match:
        raise BadValue("a catalog item id such as 6.1.2 or A.6.2.4")
    number = re.sub(r"\s+", "", match.group(2))
    candidate = f"A.{number}" if match.group(1) else number
    if candidate not in catalog.by_id:
        raise BadValue("an item id of the catalog (clauses 4.1-10.2, Annex A A.2.2-A.10.4)")
    return candidate


_LEADING_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:$|[-–:/(]|\s)")


def parse_level(value: Any, scale: Scale) -> int | None:
    """A maturity level 0-5 from a number, a level name or alias, or both (`3 - Defined`: the number wins)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue("a whole number from 0 to 5 or a level name")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        match = _LEADING_NUMBER.match(text)
        if match:
            number = float(match.group(1))
        else:
            word = scale.words.get(text.lower())
            if word is None:
                names = ", ".join(lv.name for lv in scale.levels)
                raise BadValue(f"a whole number from 0 to 5 or a level name ({names})")
            return word
    if not number.is_integer() or not 0 <= number <= 5:
        raise BadValue("a whole number from 0 to 5")
    return int(number)


_YES = {"yes", "y", "true", "1", "applicable", "in scope", "included", "x", "oui", "si", "sí", "ja"}
_NO = {"no", "n", "false", "0", "not applicable", "n/a", "na", "excluded", "out of scope", "non", "nein"}


def parse_applicable(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if isinstance(value, int | float) and float(value) in (0.0, 1.0):
        text = str(int(value))
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise BadValue("yes or no (also Y/N, true/false, applicable/excluded)")


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
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise BadValue("a date as an Excel date or YYYY-MM-DD") from exc
