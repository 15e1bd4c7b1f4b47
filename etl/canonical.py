"""The canonical layout: the columns of our template and of every responses export.

One row per unit, assessment round and item. Files in this layout are recognised like any other (by
their header names, see `etl.layouts`) and validated by `etl.validate`; `section` and `title` are
informational and ignored on import. A blank cell leaves the stored value unchanged.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "FORMULA_PREFIXES"]

# text starting with one of these could run as a spreadsheet formula: exports prefix it with an apostrophe
# (OWASP's advice) and the importer takes that apostrophe off again, so the round trip is exact
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    "unit", "assessment", "assessed_on", "section", "item_id", "title", "maturity", "target",
    "applicable", "justification", "evidence", "owner", "due_date", "notes", "inclusion_justification",
)
