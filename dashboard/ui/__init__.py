"""The Streamlit-aware part of the core, one package (`dashboard.ui`; `ui.compact` holds the compact questionnaire's
line, re-exported here): cached reads, the database's change token, shared widgets. Every other module of
`dashboard/` imports without Streamlit.

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

import datetime as dt
import importlib
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import access, columns, identity, pg, provenance, pulled, run_snapshot, scoring, selection, settings, store, versions, writes
from dashboard.access import AccessDenied, Principal
from dashboard.catalog import Catalog, Item, load_catalog
from dashboard.db import lease, resolve_path

__all__ = [
    "Selection",
    "assessment_result",
    "bind",
    "catalog",
    "change_token",
    "column_config",
    "compact_item_editor",
    "compact_mode",
    "db_path",
    "due_date",
    "filters",
    "flash",
    "identity_box",
    "item_editor",
    "no_match",
    "page_setup",
    "presentation_style",
    "previous_answers",
    "provenance_notes",
    "query",
    "require_data",
    "statement_of_applicability",
    "sync_identity",
    "table",
    "table_download",
    "write",
]

_USER_KEY = "assessor_name"


def _recorded_name() -> str | None:
    """Who makes each change in this browser session: the signed-in person; in local mode the typed name."""
    who = principal()
    return st.session_state.get(_USER_KEY) if who.local else who.recorded_as


identity.set_provider(_recorded_name)


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


# --- who is asking (dashboard/access.py holds the rules) ----------------------------------------------------

_TEST_KEY = "_aims_test_principal"  # tests only: a Principal object put there by code (AppTest), never user input
_RUN_KEY = "_aims_principal"


def auth_section() -> dict[str, Any]:
    """The `[auth]` section of .streamlit/secrets.toml ({} when sign-in is not configured)."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets file at all
        return {}
    return dict(section) if section else {}


def providers(section: Mapping[str, Any]) -> list[str | None]:
    """The providers to offer: named sub-sections ([auth.keycloak]), or None for the default one in [auth]."""
    named = [k for k, v in section.items() if isinstance(v, Mapping)]
    return named or [None]


def _whom_to_ask() -> str:
    admins = sorted(access.env_admins())
    return "Ask an administrator" + (f" ({', '.join(admins)})" if admins else "") + " for a role."


def _resolve() -> Principal:
    seeded = st.session_state.get(_TEST_KEY)
    if isinstance(seeded, Principal):
        return seeded
    section = auth_section()
    if not section:
        if settings.get("AIMS_REQUIRE_LOGIN").lower() in ("1", "true", "yes"):
            st.error("This dashboard requires sign-in (AIMS_REQUIRE_LOGIN=true), and none is configured. The "
                     "administrator adds an [auth] section to .streamlit/secrets.toml (see the README); nothing is "
                     "shown until then.")
            st.stop()
        return access.local_admin(identity.clean_name(st.session_state.get(_USER_KEY)))
    if not section.get("cookie_secret"):
        st.error("Sign-in is configured without a cookie_secret. The administrator adds `cookie_secret` (a long "
                 "random string) to the [auth] section of .streamlit/secrets.toml and restarts the server.")
        st.stop()
    if not st.user.get("is_logged_in"):  # (AppTest has no sign-in: the attribute may be missing there)
        _sign_in_page(section)
        st.stop()
    claim = st.user.get(settings.get("AIMS_GROUP_CLAIM"))
    groups = [claim] if isinstance(claim, str) else list(claim or [])
    with lease(db_path()) as con:
        return access.resolve(con, st.user.get("email"), st.user.get("name"), [str(g) for g in groups])


def _sign_in_page(section: Mapping[str, Any]) -> None:
    st.title("AIMS gap assessment")
    st.write("Sign in with your organisation's account to continue.")
    for provider in providers(section):
        label = "Sign in" + (f" with {provider}" if provider else "")
        if st.button(label, type="primary", key=f"sign_in_{provider or 'default'}"):
            st.login(provider) if provider else st.login()
    st.caption("If signing in fails, check that your account may use this application, or ask an administrator "
               "to check the [auth] settings (redirect_uri, client_id, server_metadata_url).")


def signed_in(*, account_box: bool = True) -> Principal:
    """Who is asking, resolved for this run (sign-in page, refusal or the 'no role' page stop the run), with the
    account box in the sidebar (drawn by app.py's navigation, once per run)."""
    who = _resolve()
    st.session_state[_RUN_KEY] = who
    if account_box:
        _account_box(who)
    if not who.can_read:
        st.title("No access yet")
        st.write(f"You are signed in as {who.email or who.name}, but you have no role in this dashboard. "
                 + _whom_to_ask())
        st.stop()
    return who


def _account_box(who: Principal) -> None:
    with st.sidebar:
        if who.local:
            st.caption("Local mode: no sign-in; everyone who can reach this address is an administrator.")
        else:
            plain = re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])", r"\\\1", f"{who.name} ({who.email})")  # names are text
            st.caption(f"Signed in as {plain} · {who.title}")
            if st.button("Log out", key="logout"):
                st.logout()


def principal() -> Principal:
    """The principal of this run (resolved by `page_setup`, or now)."""
    seeded = st.session_state.get(_TEST_KEY)
    if isinstance(seeded, Principal):
        return seeded
    found = st.session_state.get(_RUN_KEY)
    return found if isinstance(found, Principal) else _resolve()


def visible_pages(pages: Mapping[str, Sequence[tuple[str, str]]]) -> dict[str, list[Any]]:
    """app.py's navigation (group -> (page file, title); the first page is the default), as `st.Page` objects for
    only the pages this principal's role opens (the pages also refuse by URL)."""
    who = signed_in()
    first = next(path for entries in pages.values() for path, _ in entries)
    out = {group: [st.Page(path, title=title, default=path == first) for path, title in entries
                   if access.may_open_page(who, path)]
           for group, entries in pages.items()}
    return {group: entries for group, entries in out.items() if entries}


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


# --- answers saved as they are given -------------------------------------------------------------------


def bind(key: str, stored: Any) -> None:
    """Show the stored value in widget `key`; take it over whenever the database changed it (another person), and
    whenever the widget comes back after a run that did not draw it (another section, the other mode), since
    Streamlit forgets an undrawn widget's value."""
    seen = f"_seen::{key}"
    if key not in st.session_state or seen not in st.session_state or st.session_state[seen] != stored:
        st.session_state[key] = stored
        st.session_state[seen] = stored


def flash(message: str | None = None) -> None:
    """Queue a message for the next run (from a callback), or show and clear the queued one."""
    if message is not None:
        st.session_state["_flash"] = message
    elif st.session_state.get("_flash"):
        st.error(st.session_state.pop("_flash"))


_DUE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def due_date(text: str | None) -> dt.date | None:
    """A due date typed as YYYY-MM-DD (blank: none); ValueError with a message for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if _DUE_DATE.match(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"'{text}' is not a date: write it as YYYY-MM-DD, e.g. 2026-09-30. Not saved.")


def _save(assessment_id: int, item_id: str, field: str, key: str) -> None:
    value = st.session_state[key]
    if field == "applicable":
        value = bool(value)
    if field == "due_date":
        try:
            value = due_date(value)
        except ValueError as exc:
            st.session_state[f"_invalid::{key}"] = str(exc)
            return
        st.session_state.pop(f"_invalid::{key}", None)
    try:
        write(store.update_response, assessment_id, item_id, {field: value}, by=identity.current_user() or "unknown")
        st.session_state[f"_seen::{key}"] = st.session_state[key]
    except (store.StoreError, AccessDenied) as exc:  # e.g. the round was finalised, or submitted for review, meanwhile
        flash(str(exc))


def _stored(row: Mapping[str, Any]) -> dict[str, Any]:
    """One response's fields as the widgets show them."""
    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    return {
        "maturity": None if pd.isna(row["maturity"]) else int(row["maturity"]),
        "target": int(row["target"]),
        "applicable": bool(row["applicable"]),
        "justification": text(row["justification"]),
        "inclusion_justification": text(row.get("inclusion_justification")),
        "evidence": text(row["evidence"]),
        "notes": text(row["notes"]),
        "owner": text(row["owner"]),
        "due_date": "" if pd.isna(row["due_date"]) else pd.Timestamp(row["due_date"]).date().isoformat(),
    }


def _on(assessment: store.Assessment, item: Item, field: str, readonly: bool) -> dict[str, Any]:
    key = f"a{assessment.id}:{item.id}:{field}"
    return {"key": key, "on_change": _save, "args": (assessment.id, item.id, field, key), "disabled": readonly}


def item_editor(assessment: store.Assessment, row: Mapping[str, Any], item: Item, *, readonly: bool) -> None:
    """One questionnaire item: questions, guidance, rubric-labelled maturity, target, applicability, notes.

    Every widget saves its field on change (no save button); values stored by others appear on rerun.
    The applicability and the maturity rerun the page (they change its progress counts); the other fields
    are fragments: leaving one of them saves it and reruns that group of fields alone, which re-reads
    what is stored for the item.
    """
    scale = catalog().scale
    stored = _stored(row)
    for field in ("maturity", "applicable"):
        bind(f"a{assessment.id}:{item.id}:{field}", stored[field])
    # one element for the title and the questions: a level click redraws every item of the section
    st.markdown(f"#### {item.id} {item.title}\n" + "".join(f"\n- {question}" for question in item.questions))
    with st.expander("Guidance and evidence examples"):
        st.write(item.guidance)
        st.caption("Evidence an auditor would accept: " + "; ".join(item.evidence_examples))
    applicable = True
    if item.kind == "annex_a":
        applicable = st.toggle("Applicable to this unit", **_on(assessment, item, "applicable", readonly))
        if not applicable:
            _fields(assessment, item, ("justification",), readonly, dict(row))
    if applicable and item.kind == "annex_a":  # the SoA justifies an included control too (ISO/IEC 42001 6.1.3)
        _fields(assessment, item, ("inclusion_justification",), readonly, dict(row))
    if applicable:
        left, right = st.columns([3, 1])
        with left:
            st.radio("Current maturity", [None, 0, 1, 2, 3, 4, 5],
                     format_func=lambda v: "Not assessed yet" if v is None else item.level_label(scale, v),
                     **_on(assessment, item, "maturity", readonly))
        with right:
            _fields(assessment, item, ("target", "owner", "due_date"), readonly, dict(row))
        _fields(assessment, item, ("evidence", "notes", "history"), readonly, dict(row))
    else:
        _fields(assessment, item, ("history",), readonly, dict(row))


@st.fragment
def _fields(assessment: store.Assessment, item: Item, fields: tuple[str, ...], readonly: bool,
            row: dict[str, Any]) -> None:
    """Some fields of an item, rerun on their own when one of them is saved."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:  # this group alone: read what is stored now
        fresh = query(store.responses, assessment_ids=[assessment.id])
        row = fresh[fresh["item_id"] == item.id].iloc[0].to_dict()
    stored = _stored(row)
    prefix = f"a{assessment.id}:{item.id}"
    scale = catalog().scale
    flash()  # a save of this group refused (e.g. the round was finalised meanwhile), shown where it was made
    for field in fields:
        if field in stored:
            bind(f"{prefix}:{field}", stored[field])
        if field == "justification":
            st.text_area("Why is this control not applicable? (required, goes into the Statement of Applicability)",
                         **_on(assessment, item, field, readonly))
            if not stored["justification"].strip():
                st.error("A justification is required for a control that is not applicable.")
        elif field == "target":
            st.selectbox("Target", [0, 1, 2, 3, 4, 5], format_func=lambda v: f"{v} · {scale.name(v)}",
                         **_on(assessment, item, field, readonly))
        elif field == "owner":
            st.text_input("Owner", **_on(assessment, item, field, readonly))
        elif field == "due_date":
            # a text field, not st.date_input: its value is sent however the field is left (Tab, Enter, a
            # click elsewhere), where a date typed in the date picker and left with Tab was lost
            st.text_input("Due date", placeholder="YYYY-MM-DD", max_chars=10, **_on(assessment, item, field, readonly),
                          help="Type the date as YYYY-MM-DD; it is saved when you leave the field. Blank: no due date.")
            invalid = st.session_state.get(f"_invalid::{prefix}:due_date")
            if invalid:
                st.error(invalid)
        elif field == "inclusion_justification":
            st.text_area("Why is this control included? (the risks or obligations it treats; goes into the Statement of "
                         "Applicability)", **_on(assessment, item, field, readonly))
        elif field == "evidence":
            st.text_area("Evidence (what exists, where, since when)", **_on(assessment, item, field, readonly))
        elif field == "notes":
            st.text_area("Notes", **_on(assessment, item, field, readonly))
        elif field == "history":
            history = st.expander("History of this item", key=f"{prefix}:history", on_change="rerun")
            if history.open:  # read and drawn only when opened: a closed table still cost every rerun
                with history:
                    changes = query(store.item_history, assessment.id)  # one read for the whole assessment
                    changes = changes[changes["item_id"] == item.id]
                    if changes.empty:
                        st.caption("No change recorded yet.")
                    else:
                        table(changes.drop(columns=["item_id"]), key=f"history_{prefix}")


def statement_of_applicability(assessment_id: int) -> None:
    """The Statement of Applicability of one assessment: every Annex A control, whether it is included, the
    justification either way and whether it is implemented; a warning counts the decisions left unjustified."""
    from etl.roadmap_exports import SOA_LABELS, soa_table, soa_warnings

    soa = query(scoring.statement_of_applicability, assessment_id)
    if soa.empty:
        st.caption("This assessment does not cover Annex A.")
        return
    for warning in soa_warnings(soa):
        st.warning(warning)
    shown = query(soa_table, assessment_id, catalog())  # the objective and raw status are in the exports
    table(shown, key="soa_table", column_order=["control", "title", "applicable", "justification", "implemented", "level",
                                                "evidence"],
          labels=SOA_LABELS | {"justification": "Justification"}, row_height=76,
          widths={"control": 70, "title": 170, "applicable": 75, "justification": 260, "implemented": 100, "level": 95,
                  "evidence": 200})


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


def assessment_result(assessment: store.Assessment, sections: pd.DataFrame) -> None:
    """The result of one assessment: level per section against target, and its gaps, largest first."""
    from dashboard import charts

    scale = catalog().scale
    summary = query(scoring.assessment_scores, [assessment.id]).iloc[0]
    if summary["assessed"] < summary["applicable"]:
        st.info(f"{int(summary['applicable'] - summary['assessed'])} applicable item(s) still to assess: "
                "the figures below are provisional.")
    cols = st.columns(5)
    clause, annex = summary["clause_maturity"], summary["annex_maturity"]
    cols[0].metric("Clause maturity", "—" if pd.isna(clause) else f"{clause:.2f}",
                   help="Mean of the clause 4-10 section scores.")
    levels = {k: None if pd.isna(summary[f"{k}_maturity_level"]) else summary[f"{k}_maturity_level"] for k in ("clause", "annex")}
    cols[1].metric("Clause level", scale.level_name(levels["clause"]))
    cols[2].metric("Annex A maturity", "—" if pd.isna(annex) else f"{annex:.2f}",
                   help=f"Mean of the Annex A objective scores: {scale.level_name(levels['annex'])}.")
    cols[3].metric("Annex A coverage", "—" if pd.isna(summary["annex_coverage"]) else f"{summary['annex_coverage']:.0%}")
    cols[4].metric("Open gaps", int(summary["open_gaps"]))
    if (sections["kind"] == "clause").any():
        st.plotly_chart(charts.clause_maturity_chart(sections, scale, title=f"Maturity per clause · {assessment.unit}"),
                        key=f"result_clauses_{assessment.id}")
    if (sections["kind"] == "annex_a").any():
        st.plotly_chart(charts.annex_coverage_chart(sections, title=f"Annex A coverage · {assessment.unit}"),
                        key=f"result_annex_{assessment.id}")
    levels = scoring.with_levels(sections, scale)[["section", "section_title", "maturity", "level", "target", "gap",
                                                   "completeness"]]
    table(levels, key=f"result_levels_{assessment.id}")
    gaps = query(scoring.item_scores, [assessment.id])
    gaps = gaps[gaps["gap"] > 0].sort_values(["gap", "weight", "ord"], ascending=[False, False, True])
    st.subheader(f"Gaps, largest first ({len(gaps)})")
    if gaps.empty:
        st.caption("No gap: every assessed item meets its target.")
    else:
        table(gaps[["item_id", "title", "maturity", "target", "gap", "owner", "due_date"]], key=f"result_gaps_{assessment.id}")
    from dashboard import roadmap

    actions = query(roadmap.plan, [assessment.id])
    st.subheader("First roadmap items")
    if actions.empty:
        st.caption("Nothing to plan: every assessed item meets its target.")
    else:
        table(actions.head(8)[["rank", "phase", "item_id", "title", "maturity", "target", "why", "suggested_action"]],
              key=f"result_roadmap_{assessment.id}")
    _time_spent(assessment)
    left, right = st.columns(2)
    with left:
        st.page_link("pages/overview.py", label="Open the Overview")
    with right:
        st.page_link("pages/roadmap.py", label="Open the full roadmap")


def _time_spent(assessment: store.Assessment) -> None:
    """The time the round's answers took (dashboard/timing.py): active and elapsed, and per item on request."""
    from dashboard import timing

    st.subheader("Time spent on this round")
    spent = query(timing.assessment_times, [assessment.id]).iloc[0]
    answered = int(spent["answers"]) > 0
    cols = st.columns(3)
    cols[0].metric("Active time", timing.format_duration(spent["active_s"]) if answered else "—",
                   help="Time between answers saved in the questionnaire or the interview; a gap longer than "
                        f"{settings.get('AIMS_PAUSE_MINUTES')} min (AIMS_PAUSE_MINUTES) is a pause and not counted.")
    cols[1].metric("Elapsed", timing.format_duration(spent["elapsed_s"]) if answered else "—",
                   help="From the first to the last answer saved in the questionnaire or the interview.")
    cols[2].metric("Answers saved", int(spent["answers"]),
                   help="Saves of an answer in the questionnaire or the interview; imported or copied answers are "
                        "not time spent.")
    if not answered:
        st.caption("No answer of this round was given in the questionnaire or the interview (imported or copied "
                   "answers are not time spent).")
        return
    with st.expander("Time per item"):
        items = query(timing.item_times, assessment.id).sort_values("active_s", ascending=False, kind="stable")
        items.insert(1, "title", [catalog().by_id[i].title if i in catalog().by_id else "" for i in items["item_id"]])
        items["active"] = [timing.format_duration(s) for s in items.pop("active_s")]
        st.caption("Longest first. A gap between two answers counts for the item whose answer ended it.")
        table(items, key=f"result_time_{assessment.id}",
              labels={"active": "Active time", "edits": "Saves", "first_at": "First answer", "last_at": "Last answer"})


# --- campaigns: a round's review in the questionnaire, and the final-only setting (dashboard/campaigns.py) ----


def review_panel(assessment: store.Assessment, user: str | None) -> tuple[str | None, pd.DataFrame]:
    """A round's review at the top of the questionnaire, for a round of a campaign (or one already submitted): its
    state, the lead's comment on the round when it was returned, and **Submit for review** (a refusal shown as the
    core words it). Returns the state (None for a round outside any review, which shows nothing) and the comments
    of the last return on items, for `item_comments`."""
    from dashboard import campaigns
    from dashboard.summarize import escape_markdown

    none = pd.DataFrame(columns=["item_id", "comment", "by", "at"])
    if not query(campaigns.in_review, assessment.id):
        return None, none
    state = query(campaigns.review_state, assessment.id)
    comments = query(campaigns.comments, assessment.id) if state == "returned" else none
    if not comments.empty:  # the comments the lead returned it with last time
        comments = comments[comments["return_no"] == comments["return_no"].max()]
    explain = {"submitted": "waiting for the governance lead's review; answers are read-only meanwhile.",
               "returned": "returned by the governance lead: see the comments, correct, and submit again.",
               "finalised": "finalised after review."}
    st.markdown(f"**Review:** {escape_markdown(state)} — {explain.get(state, 'answer every item, then submit it for review.')}")
    for row in comments[comments["item_id"].isna()].itertuples():
        st.warning(f"**Comment on the round** ({escape_markdown(_who_when(row))}): {escape_markdown(row.comment)}")
    items = list(dict.fromkeys(comments["item_id"].dropna()))
    if items:  # the comments stand beside their items, which may be in other sections
        st.caption("The lead commented on " + ", ".join(items) + ": each comment stands above its item.")
    if state in ("not started", "in progress", "returned") and st.button(
            "Submit for review", key=f"submit_{assessment.id}", disabled=not user):
        try:
            write(campaigns.submit, assessment.id, by=user)
            st.rerun()
        except (ValueError, AccessDenied) as exc:  # campaigns.ReviewError and store.StoreError are ValueErrors
            st.error(escape_markdown(str(exc)))
    return state, comments[comments["item_id"].notna()]


def _who_when(row: Any) -> str:
    when = pd.Timestamp(row.at).strftime("%Y-%m-%d %H:%M") if not pd.isna(row.at) else ""
    return ", ".join(str(v) for v in (row.by, when) if v)


def item_comments(comments: pd.DataFrame, item_id: str) -> None:
    """The governance lead's comments on one item of a returned round, shown above the item (text as typed)."""
    if comments.empty:  # a round outside any review, or returned without item comments: nothing to filter per item
        return
    from dashboard.summarize import escape_markdown

    for row in comments[comments["item_id"] == item_id].itertuples():
        st.warning(f"**Lead's comment** ({escape_markdown(_who_when(row))}): {escape_markdown(row.comment)}")


def final_only_toggle(key: str) -> None:
    """'Management views show finalised rounds only' (administrators and governance leads), saved on change."""
    from dashboard import campaigns

    def save() -> None:
        try:
            write(campaigns.set_final_only, bool(st.session_state[key]), by=identity.current_user() or "unknown")
        except (ValueError, AccessDenied) as exc:
            flash(str(exc))

    bind(key, bool(query(campaigns.final_only)))
    st.toggle("Management views show finalised rounds only", key=key, on_change=save,
              disabled=not principal().can_organise,
              help="On: the Overview, Presentation, report and summaries take each unit's latest finalised round, "
                   "leaving out drafts and rounds still under review. Off: the latest round, drafts marked provisional.")


# the compact questionnaire lives in its own module (it uses the helpers above)
from dashboard.ui.compact import compact_item_editor, compact_mode, previous_answers  # noqa: E402
