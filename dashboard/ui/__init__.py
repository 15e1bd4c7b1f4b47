"""The Streamlit-aware part of the core, one package (`dashboard.ui`): cached reads, the database's change token,
shared widgets and tables here; sign-in and the principal of a run in `ui.signin`, the questionnaire's full editor
in `ui.editor`, its compact line in `ui.compact`, a round's result in `ui.results` and its review in `ui.review`,
all re-exported here so pages call `ui.<name>`. Every other module of `dashboard/` imports without Streamlit.

Reads are cached with `st.cache_data` keyed by fingerprints of what they read (`dashboard.versions`: the
assessments they are given, every round of those units, or the whole database), taken again whenever the
file's change token (size and modification time of the file and its write-ahead log) moves. A new import from
the command line or a new answer in another tab shows up on the next rerun, never a stale figure, and an answer
saved for one unit leaves the cached figures of the others warm. The reads of one run share one read transaction
(`dashboard/run_snapshot.py`): a page's figures describe one moment, and the file is fingerprinted at most once
per rerun however fast answers arrive. The file is opened when a rerun needs it
and closed half a second after the last use (`db.lease`), so that the command line can write while
the dashboard is open.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import access, columns, identity, pg, provenance, pulled, run_snapshot, scoring, selection, settings, versions, writes
from dashboard.access import AccessDenied, Principal
from dashboard.catalog import Catalog, load_catalog
from dashboard.db import lease, resolve_path

__all__ = [
    "Selection",
    "assessment_result",
    "auth_section",
    "bind",
    "catalog",
    "change_token",
    "column_config",
    "compact_item_editor",
    "compact_mode",
    "db_path",
    "due_date",
    "filters",
    "final_only_toggle",
    "flash",
    "identity_box",
    "item_comments",
    "item_editor",
    "no_match",
    "page_setup",
    "presentation_style",
    "previous_answers",
    "principal",
    "provenance_notes",
    "providers",
    "query",
    "require_data",
    "review_panel",
    "signed_in",
    "statement_of_applicability",
    "sync_identity",
    "table",
    "table_download",
    "visible_pages",
    "write",
]

_USER_KEY = "assessor_name"




def page_setup() -> None:
    """First call of every page: make sure the app's frame (app.py and its navigation) is in charge, know who
    is asking (sign-in), and refuse what the role may not open: the page itself, or a deep link
    (`?assessment=ID`) to another unit's assessment.

    A deep link (e.g. /assess?assessment=3) as the very first request to a fresh server makes Streamlit
    run the page on its own in its legacy `pages/` mode, without app.py. Switching that mode off and
    rerunning hands the same URL to app.py's `st.navigation`.
    """
    from streamlit.runtime.pages_manager import PagesManager

    first_run = not st.session_state.get("_frame_checked")
    st.session_state["_frame_checked"] = True
    if PagesManager.uses_pages_directory and first_run:  # only a session's first run: never eat a click
        PagesManager.uses_pages_directory = False
        st.rerun()
    who = signed_in(account_box=False)  # app.py drew the account box this run (a widget may be drawn only once)
    page = os.path.relpath(sys._getframe(1).f_code.co_filename, settings.repo_root()).replace(os.sep, "/")
    if not access.may_open_page(who, page):
        st.error("Your role does not open this page. " + _whom_to_ask())
        st.stop()
    link = st.query_params.get("assessment")
    if link and str(link).isdigit():
        try:
            _check_picks(who, [int(link)])
        except AccessDenied as exc:
            st.error(str(exc))
            st.stop()


_PRESENTATION_CSS = """
<style>
  [data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
  .block-container { max-width: 1500px; padding-top: 1.5rem; }
  h1 { font-size: 3rem !important; }
  [data-testid="stMetricValue"] { font-size: 2.6rem !important; }
  [data-testid="stMetricLabel"] p { font-size: 1.1rem !important; }
  .stMarkdown p { font-size: 1.25rem; }
  @media print {
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stDownloadButton"],
    [data-testid="stPageLink"], .modebar-container { display: none !important; }
    .block-container { padding: 0 !important; }
  }
</style>
"""


def presentation_style() -> None:
    """A clean page for top management: no toolbar, large type, prints without the sidebar (where the round is
    chosen) or buttons (static CSS only)."""
    st.html(_PRESENTATION_CSS)


def db_path() -> str:
    return resolve_path(None)


def catalog() -> Catalog:
    return load_catalog()


def change_token(path: str | None = None) -> tuple[int, ...]:
    """Changes whenever the database file or its write-ahead log changes (on a server: whenever it wrote)."""
    path = path or db_path()
    return pg.change_token(path) if pg.is_url(path) else versions.file_token(path)


_NAMED: dict[str, Callable[..., Any]] = {
    "assessments": access.visible_assessments,
    "units": access.visible_units,
    "rounds": scoring.rounds,
    "select_assessments": scoring.select_assessments,
    "section_scores": scoring.section_scores,
    "assessment_scores": scoring.assessment_scores,
    "item_scores": scoring.item_scores,
    "organisation_sections": scoring.organisation_sections,
    "organisation_summary": scoring.organisation_summary,
}


@st.cache_data(show_spinner=False, max_entries=1024, ttl=3600)
def _cached(path: str, version: str, module: str, name: str, args: tuple[Any, ...],
            kwargs: tuple[tuple[str, Any], ...], _snapshot: run_snapshot.Snapshot | None = None) -> Any:
    """`version` (`versions.key_for`) names the state of what the read depends on. The read runs in the run's
    snapshot (`_snapshot`, whose state `version` names; not part of the cache key), or, when there is none or it
    has ended, in a transaction of its own with the fingerprints of what it sees; if they give another key (an
    answer saved since), the result is handed back in `versions.Fresh`, which st.cache_data does not keep."""
    function = getattr(importlib.import_module(module), name)
    reader = f"{module}.{name}"
    if _snapshot is not None:
        with _snapshot.lock:
            if not _snapshot.ended:
                with versions.reading(_snapshot.found):
                    result = function(_snapshot.con, *args, **dict(kwargs))
                _snapshot.used = time.monotonic()
                return result
    with lease(path) as con:
        if versions.depends_on(reader) != "whole":  # the core's registered readers: SQL reads, one snapshot
            found, result = versions.snapshot_read(con, path, function, *args, **dict(kwargs))
            same = versions.key_for(found, reader, args, dict(kwargs)) == version
        else:  # any other reader (some also write, e.g. a summary's cache): the whole state before and after
            before = versions.fingerprints(con)
            result = function(con, *args, **dict(kwargs))
            same = versions.fingerprints(con).whole == before.whole and \
                versions.key_for(before, reader, args, dict(kwargs)) == version
    if not same:
        raise versions.Fresh(result)
    return result


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _cached_server(path: str, token: tuple[int, ...], module: str, name: str, args: tuple[Any, ...],
                   kwargs: tuple[tuple[str, Any], ...]) -> Any:
    """A read on a PostgreSQL store (`dashboard/pulled.py`), keyed by the server's change token: per-assessment
    fingerprints (`versions`) are not yet computed on a server, so any write there refreshes every read."""
    function = getattr(importlib.import_module(module), name)
    with pulled.lease(path) as con:
        return function(con, *args, **dict(kwargs))


def _read(path: str, function: Callable[..., Any], args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    """The cached read for the file's present state (fingerprints taken again when its change token moved)."""
    if pg.is_url(path):  # a server: DuckDB over its tables, pulled again whenever the server wrote
        return _cached_server(path, pg.change_token(path), function.__module__, function.__qualname__, args, kwargs)
    reader = f"{function.__module__}.{function.__qualname__}"
    snapshot = _run_snapshot(path) if versions.depends_on(reader) != "whole" else None
    found = snapshot.found if snapshot is not None else versions.current(path, lease)[1]
    version = versions.key_for(found, reader, args, dict(kwargs))
    try:
        return _cached(path, version, function.__module__, function.__qualname__, args, kwargs, _snapshot=snapshot)
    except versions.Fresh as fresh:  # newer than the key: shown, not cached
        return fresh.value


def _run_snapshot(path: str) -> run_snapshot.Snapshot | None:
    """The read transaction this script run's reads share (`dashboard/run_snapshot.py`); None outside a run."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    return run_snapshot.for_run(path, ctx.session_id, ctx.cursors)  # `cursors`: a new dict for every run


def _end_run_snapshot() -> None:
    ctx = get_script_run_ctx()
    if ctx is not None:
        run_snapshot.end(ctx.session_id)


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | set) else value


def query(reader: str | Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a read of the store (`reader(con, *args, **kwargs)`), cached until what it reads changes.

    `reader` is a module-level function of the core taking the connection first, or one of the short
    names in `_NAMED` ("units", "section_scores", ...). `principal=` is the person asking (default: this run's);
    a download built on click passes the one the page had, since none can be resolved outside the run.
    """
    function = _NAMED[reader] if isinstance(reader, str) else reader
    # a download built on click runs outside the script run, where the signed-in person cannot be found again:
    # the page hands over the principal it had when it drew the button
    given = kwargs.pop("principal", None)
    who = given if isinstance(given, Principal) else principal()
    if _takes_principal(function):
        kwargs["principal"] = who
    elif args and not who.every_unit and _looks_like_picks(args[0]):  # an id list handed around: check it too
        _check_picks(who, args[0])
    result = _read(db_path(), function, tuple(_freeze(a) for a in args),
                   tuple(sorted((k, _freeze(v)) for k, v in kwargs.items())))
    # a viewer's tables without free text, whichever reader made them (store.responses empties it in the core)
    return access.without_free_text(who, result)  # st.cache_data unpickles a fresh copy: callers may change it


def _check_picks(who: Principal, picks: Any) -> None:
    with lease(db_path()) as con:
        access.check_assessments(con, who, picks)


_takes_principal = writes.takes_principal


def _looks_like_picks(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(
        isinstance(v, int) or (isinstance(v, tuple) and len(v) == 3) for v in value)


def write(action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a write against a short-lived connection, if the principal may make it (`access.authorise_write`:
    AccessDenied otherwise; `dashboard.writes`); the change token moves, so the fingerprints are taken again and
    the cached reads of what it changed refresh (`dashboard.versions`)."""
    _end_run_snapshot()  # the reads after this write begin a new snapshot, which sees it
    return writes.run(db_path(), principal(), action, *args, **kwargs)


@dataclass(frozen=True)
class Selection:
    """What the sidebar filters chose, and the selection that matches (`dashboard.selection`: assessment ids,
    and for a unit whose latest clauses and Annex A answers come from two rounds, one pick per scope)."""

    units: list[str]
    group: str | None
    round_label: str
    scope: str  # "both", "clause" or "annex_a"
    ids: list[selection.Pick]
    unit_count: int

    @property
    def covers(self) -> str:
        """The caption every figure carries: which units and rounds it covers."""
        who = f"{self.unit_count} unit(s)" + (f" in {self.group}" if self.group else "")
        return f"{who} · round: {self.round_label}"

    def keep(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of the chosen scope (by their `kind` column)."""
        return frame if self.scope == "both" else frame[frame["kind"] == self.scope]


_SCOPES = {"both": "Clauses and Annex A", "clause": "Clauses 4-10", "annex_a": "Annex A"}


def filters(*, key: str, scope: bool = True) -> Selection:
    """Unit, group, round and scope pickers in the sidebar, shared by the dashboard pages."""
    units = query("units")["name"].tolist()
    groups = query(scoring.groups) if principal().every_unit else []  # a group names other units
    rounds = [scoring.LATEST, *reversed(query("rounds"))]
    with st.sidebar:
        st.subheader("Filters")
        group = st.selectbox("Group of units", groups, index=None, placeholder="All groups", key=f"{key}_group") \
            if groups else None
        chosen = st.multiselect("Business units", units, placeholder="All units", key=f"{key}_units")
        round_label = st.selectbox("Round", rounds, key=f"{key}_round",
                                   help="'Latest per unit' takes each unit's newest clauses answers and newest "
                                        "Annex A answers, which may come from two rounds (named under the figures).")
        kind = st.radio("Scope", list(_SCOPES), format_func=_SCOPES.get, key=f"{key}_scope") if scope else "both"
    ids = query("select_assessments", units=chosen or None, round_label=round_label, group=group)
    return Selection(chosen, group, round_label, kind, ids, selection.view_count(ids))  # one view per unit and round


def provenance_notes(ids: list[selection.Pick], round_label: str | None) -> dict[str, str]:
    """Show what the figures stand on (the rounds used, for Latest per unit; drafts marked provisional) as
    captions, and return the units' names with their draft markers, for the tables and charts that name units."""
    for line in query(provenance.notes, ids, round_label):
        st.caption(("⚠ " if line.startswith("Provisional") else "") + line)
    return provenance.marked(query(provenance.drafts, ids))


def no_match() -> None:
    """The empty state of a filtered page."""
    st.warning("No assessment matches these filters. Choose another round, group or unit, or clear the filters.")
    st.stop()


def table_download(frame: pd.DataFrame, name: str, *, key: str, limit: int = 500, shown: list[str] | None = None,
                   **options: Any) -> None:
    """A table (its first `limit` rows; the `shown` columns when the whole would not fit the page) with a CSV
    download of all of it (formula-safe, built on click), both with the headers and formats people read
    (`dashboard.columns`); `options` go to `table` (e.g. `widths`)."""
    from etl.exports import to_csv

    table(frame.head(limit)[shown] if shown else frame.head(limit), key=f"{key}_table", **options)
    if len(frame) > limit:
        st.caption(f"Showing the first {limit} of {len(frame)} rows; the CSV holds them all.")
    # built on click, not on every rerun: a large table's CSV costs more than the page itself
    st.download_button("Download as CSV", lambda: to_csv(columns.export_frame(frame)), f"{name}.csv", mime="text/csv",
                       key=f"{key}_csv", on_click="ignore")


def require_data() -> None:
    """Stop the page when no assessment exists yet, showing what a new user needs: load the demo in one
    click, or where to start."""
    if query("assessments").empty:
        _empty_state()
        st.stop()


def _empty_state() -> None:
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

        st.download_button("Download the import template", lambda: build_template(catalog()), "aims-import-template.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           key="template_download", on_click="ignore")


# --- who is working --------------------------------------------------------------------------------


def identity_box() -> str | None:
    """Sidebar field for the assessor's name, asked once per browser session; returns the name or None.
    Signed in, the name is the signed-in identity (shown by `signed_in`), not typed."""
    if not principal().local:
        return identity.current_user()
    with st.sidebar:
        st.text_input(
            "Your name", value=st.session_state.get(_USER_KEY) or "", key="assessor_name_input",
            help="Recorded with every answer you give, in the change log. Asked once per browser session.",
        )
    return sync_identity()  # reads the box's value from session state


def sync_identity() -> str | None:
    """Take the name from the sidebar box into the session (also usable from a callback, which runs before
    the box is drawn: a name typed just before clicking a button counts for that click)."""
    name = identity.clean_name(st.session_state.get("assessor_name_input"))
    if name:
        st.session_state[_USER_KEY] = name
    elif "assessor_name_input" in st.session_state:  # an emptied box: nothing is recorded under the old name
        st.session_state.pop(_USER_KEY, None)
    return identity.current_user()


def column_config(frame: pd.DataFrame, labels: Mapping[str, str] | None = None,
                  widths: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`st.column_config` for every column of the frame, from `dashboard.columns`: the label, a format for
    dates, shares and scores, the width (large for long text such as why and evidence) and the help."""
    config: dict[str, Any] = {}
    sizes, _ = columns.fit(frame, labels, widths)  # never narrower than the header: no header is cut
    for name in frame.columns:
        spec = columns.spec(name, frame)
        common = {"label": (labels or {}).get(name) or spec.label, "width": sizes[name], "help": spec.help or None}
        numeric = pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
        if spec.kind == "date" and any(hasattr(v, "isoformat") for v in frame[name]):
            config[name] = st.column_config.DateColumn(format="YYYY-MM-DD", **common)
        elif spec.kind == "percent" and numeric:  # display_frame gives percentages as 0-100
            config[name] = st.column_config.NumberColumn(format="%.0f%%", **common)
        elif spec.kind == "score" and numeric:  # a whole number (an item's gap) without decimals
            whole = pd.api.types.is_integer_dtype(frame[name])
            config[name] = st.column_config.NumberColumn(format="%d" if whole else "%.2f", **common)
        elif spec.kind == "int" and numeric:
            config[name] = st.column_config.NumberColumn(format="%d", **common)
        else:
            config[name] = st.column_config.Column(**common)
    return config


def table(frame: pd.DataFrame, *, key: str, labels: Mapping[str, str] | None = None,
          overrides: Mapping[str, Any] | None = None, widths: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """`st.dataframe` for people: headers, formats and widths from `dashboard.columns`, blanks shown blank;
    `widths` sets a column's width on this table, `overrides` replaces its configuration (e.g. a link).
    With `row_height` above 64 px, long text wraps in its cell; without one, the rows are made that tall when a
    text is wider than its column (`columns.fit`), so that nothing is cut."""
    shown = columns.display_frame(frame)
    config = column_config(shown, labels, widths) | dict(overrides or {})
    if "row_height" not in kwargs and columns.fit(shown, labels, widths)[1]:
        kwargs["row_height"] = columns.WRAP_ROW_PX
        kwargs.setdefault("height", 40 + min(len(shown), 10) * columns.WRAP_ROW_PX)  # ten rows, as at one line
    st.dataframe(shown, hide_index=True, key=key, column_config=config, placeholder="", **kwargs)


# sign-in, the questionnaire's editors, a round's result and its review live in modules of their own; they use the
# helpers above, so they are imported last (either side can be imported first)
from dashboard.ui.compact import compact_item_editor, compact_mode, previous_answers  # noqa: E402
from dashboard.ui.editor import bind, due_date, flash, item_editor, statement_of_applicability  # noqa: E402
from dashboard.ui.results import assessment_result  # noqa: E402
from dashboard.ui.review import final_only_toggle, item_comments, review_panel  # noqa: E402
from dashboard.ui.signin import _TEST_KEY as _TEST_KEY  # noqa: E402  (tests put a principal there: see access.py)
from dashboard.ui.signin import _whom_to_ask, auth_section, principal, providers, signed_in, visible_pages  # noqa: E402
