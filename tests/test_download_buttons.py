"""Every download built on click (`data=` a function) is drawn with on_click="ignore": under the default ("rerun")
the rerun replaces the deferred file before the browser fetches it, and the download is lost now and then (issue
12; the campaign board's buttons lacked it and the campaign browser test lost a download in CI)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _deferred_downloads() -> list[tuple[str, ast.Call]]:
    found = []
    for path in [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "dashboard").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "download_button":
                data = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "data"), None)
                if isinstance(data, ast.Lambda | ast.Name):  # a function (a name may hold bytes: checked below)
                    found.append((f"{path.name}:{node.lineno}", node))
    return found


def test_every_download_built_on_click_does_not_rerun_the_page() -> None:
    calls = _deferred_downloads()
    assert len(calls) >= 8  # the board's three, the tables', the template, roadmap, SoA, report, deck...
    missing = [where for where, call in calls if isinstance(call.args[1] if len(call.args) > 1 else None, ast.Lambda)
               and not any(k.arg == "on_click" and isinstance(k.value, ast.Constant) and k.value.value == "ignore"
                           for k in call.keywords)]
    assert not missing, missing
