"""The pages app.py registers, read from its source (its PAGES literal: group -> [(file, title)]), so that a new
page is tested automatically by the page tests and the browser tests alike."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def app_pages() -> list[tuple[str, str]]:
    """(file, title) of every page, in the order the navigation lists them."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    found = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets))
    return [(str(path), str(title)) for entries in ast.literal_eval(found).values() for path, title in entries]
