"""The questionnaire's full editor: every field of an item saved as it is given (no save button), values stored by
others taken over on the next run, refusals shown where the save was made; and the Statement of Applicability.

Part of the `dashboard.ui` package (re-exported there, so pages call `ui.item_editor`); the compact line
(`ui.compact`) saves through the same `_save`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import identity, scoring, store
from dashboard.access import AccessDenied
from dashboard.catalog import Item
from dashboard.ui import catalog, query, table, write

__all__ = ["bind", "due_date", "flash", "item_editor", "statement_of_applicability"]


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
