"""pages_bench finds the pages app.py registers (it found none once app.py's navigation moved to its PAGES table)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.pages_bench import APP, app_pages


def test_every_page_app_py_registers_is_benchmarked() -> None:
    pages = app_pages()
    source = APP.read_text(encoding="utf-8")
    assert ("pages/overview.py", "Overview") in pages
    assert len(pages) == source.count('("pages/') >= 10  # every (file, title) entry of the table, once
    assert all((APP.parent / path).is_file() for path, _ in pages)


def test_an_older_app_py_with_st_page_calls_is_read_too(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text('import streamlit as st\nst.navigation([st.Page("pages/a.py", title="A"), st.Page("pages/b.py")])\n')
    assert app_pages(app) == [("pages/a.py", "A"), ("pages/b.py", "b")]
