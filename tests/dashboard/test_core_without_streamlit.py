"""The core is a library: every module of `dashboard/` but the `ui` package imports without Streamlit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_core_module_but_ui_imports_without_streamlit() -> None:
    script = """
import importlib, pkgutil, sys
import dashboard
names = [m.name for m in pkgutil.iter_modules(dashboard.__path__) if m.name != "ui"]
for name in names:
    importlib.import_module("dashboard." + name)
print(len(names), "streamlit" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    count, loaded = done.stdout.split()
    assert int(count) > 40 and loaded == "False", done.stdout
