"""The organisation's name: one setting, stored once in the database (`meta`), used by every cover.

The report, the board deck, the roadmap and SoA exports take their title from here unless a command line
names another organisation; the Settings page edits it. The name is the user's text: it is escaped wherever
HTML or a chart shows it, and neutralised in spreadsheets like any other cell.
"""

from __future__ import annotations

import duckdb

__all__ = ["MAX_LENGTH", "name", "set_name"]

_KEY = "organisation_name"
MAX_LENGTH = 120


def name(con: duckdb.DuckDBPyConnection) -> str:
    """The stored organisation name, or "" when none was set."""
    found = con.execute("SELECT value FROM meta WHERE key = ?", [_KEY]).fetchall()
    return found[0][0] if found and found[0][0] else ""


def set_name(con: duckdb.DuckDBPyConnection, value: str) -> str:
    """Store the organisation name (trimmed, one line); an empty value clears it. Returns what was stored."""
    text = " ".join(str(value).split())
    if len(text) > MAX_LENGTH:
        raise ValueError(f"The organisation name is {len(text)} characters long; at most {MAX_LENGTH} are kept.")
    if text:
        con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [_KEY, text])
    else:
        con.execute("DELETE FROM meta WHERE key = ?", [_KEY])
    return text
