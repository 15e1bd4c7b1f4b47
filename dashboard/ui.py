"""The one Streamlit-aware module of the core: cached reads, the database's change token, shared widgets.

Reads are cached with `st.cache_data` keyed by the database file's change token (size and modification
time of the file and its write-ahead log), so a new import from the command line or a new answer in
another tab shows up on the next rerun, never a stale figure. Connections are opened per operation
and closed at once, so that the command line can write while the dashboard is open.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import scoring, store
from dashboard.catalog import Catalog, load_catalog
from dashboard.db import connect, resolve_path

__all__ = ["catalog", "change_token", "db_path", "empty_state", "filters", "query", "write"]


def db_path() -> str:
    return resolve_path(None)


def catalog() -> Catalog:
    return load_catalog()


def change_token(path: str | None = None) -> tuple[int, ...]:
    """Changes whenever the database file or its write-ahead log changes."""
    path = path or db_path()
    token: list[int] = []
    for name in (path, path + ".wal"):
        try:
            info = os.stat(name)
            token += [info.st_size, info.st_mtime_ns]
        except FileNotFoundError:
            token += [0, 0]
    return tuple(token)


_NAMED: dict[str, Callable[..., Any]] = {
    "assessments": store.list_assessments,
    "units": store.list_units,
    "rounds": scoring.rounds,
    "select_assessments": scoring.select_assessments,
    "section_scores": scoring.section_scores,
    "assessment_scores": scoring.assessment_scores,
    "item_scores": scoring.item_scores,
    "organisation_sections": scoring.organisation_sections,
    "organisation_summary": scoring.organisation_summary,
}


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _cached(path: str, token: tuple[int, ...], module: str, name: str, args: tuple[Any, ...],
            kwargs: tuple[tuple[str, Any], ...]) -> Any:
    function = getattr(importlib.import_module(module), name)
    with connect(path) as con:
        return function(con, *args, **dict(kwargs))


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | set) else value


def query(reader: str | Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a read of the store (`reader(con, *args, **kwargs)`), cached until the database changes.

    `reader` is a module-level function of the core taking the connection first, or one of the short
    names in `_NAMED` ("units", "section_scores", ...).
    """
    function = _NAMED[reader] if isinstance(reader, str) else reader
    path = db_path()
    result = _cached(path, change_token(path), function.__module__, function.__qualname__,
                     tuple(_freeze(a) for a in args), tuple(sorted((k, _freeze(v)) for k, v in kwargs.items())))
    return result.copy() if isinstance(result, pd.DataFrame) else result


def write(action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a write against a short-lived connection; the change token moves, so caches refresh."""
    with connect(db_path()) as con:
        return action(con, *args, **kwargs)


def filters(*, key: str = "overview") -> tuple[list[str], str, list[int]]:
    """Unit and round pickers in the sidebar; returns (units, round label, assessment ids)."""
    units = query("units")["name"].tolist()
    rounds = [scoring.LATEST, *reversed(query("rounds"))]
    with st.sidebar:
        st.subheader("Filters")
        chosen_units = st.multiselect("Business units", units, placeholder="All units", key=f"{key}_units")
        round_label = st.selectbox("Round", rounds, key=f"{key}_round",
                                   help="'Latest per unit' takes each unit's most recent assessment.")
    ids = query("select_assessments", units=chosen_units or None, round_label=round_label)
    return chosen_units, round_label, ids


def empty_state() -> None:
    """What a new user sees on an empty database: load the demo in one click, or where to start."""
    st.info("The database is empty: no business unit has been assessed yet.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Try it with demo data** — ten business units of a fictional financial group, "
                    "three assessment rounds over 18 months.")
        if st.button("Load the demo data", type="primary", key="load_demo"):
            from etl.demo import load_demo

            with st.spinner("Importing the demo workbooks…"):
                results = write(load_demo, by="demo")
            failed = [r for r in results if not r.ok]
            if failed:
                st.error("The demo data could not be loaded: " + "; ".join(r.describe() for r in failed))
            else:
                st.rerun()
    with right:
        st.markdown(
            "**Or bring your own assessments** — download the import template, fill in one row per item, "
            "and import it from the command line:"
        )
        st.code("python -m etl template --out template.xlsx\npython -m etl import filled-in.xlsx", language="bash")
        from etl.template import build_template

        st.download_button("Download the import template", build_template(catalog()), "aims-import-template.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           key="template_download")
