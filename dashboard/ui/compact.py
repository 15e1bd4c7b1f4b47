"""The compact questionnaire: one line per item (level in one click, evidence in one field, Annex A applicability),
and, when the unit has answered the item in its previous round, one action that keeps that answer.

Part of the core's one Streamlit package (`dashboard/ui/`): the package's main module had grown past 900 lines
and the compact line, with its carry-over, is one concern of its own. It uses the full editor's save path (`ui.editor._save`,
`write`), its binding of stored values to widgets (`bind`) and its cached reads; `ui` re-exports
`compact_mode` and `compact_item_editor`, so pages keep calling `ui.compact_item_editor`. What the previous
round answered comes from the core (`dashboard.carry`, on `rounds.previous_assessment`); nothing is scored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import carry, identity, store
from dashboard.access import AccessDenied
from dashboard.catalog import Item

__all__ = ["compact_item_editor", "compact_mode", "previous_answers"]

_COMPACT = "_compact_mode"  # the choice, kept for the session: a widget's own state is dropped when it is not drawn
LEVELS = [0, 1, 2, 3, 4, 5]


def compact_mode() -> bool:
    """The questionnaire's mode switch: the full editor per item, or one line per item. The choice lasts for
    the browser session (other views and pages included)."""
    if "compact_toggle" not in st.session_state:
        st.session_state["compact_toggle"] = bool(st.session_state.get(_COMPACT, False))
    on = st.toggle("Compact: one line per item", key="compact_toggle",
                   help="One line per item: the level in one click (each level's line for the item on the ? beside "
                        "its title; click the chosen level again to clear it), evidence in one field and, for Annex A, "
                        "applicability. When the unit's previous round answered an item, one click keeps that answer. "
                        "Saved as in the full editor, which holds the other fields (target, owner, due date, notes, "
                        "history).")
    st.session_state[_COMPACT] = on
    return on


def previous_answers(assessment_id: int) -> dict[str, dict[str, Any]]:
    """Item -> what the unit's previous round answered for it (`dashboard.carry.previous_answers`), read once per
    run of the page."""
    found = _ui.query(carry.previous_answers, assessment_id)
    return {str(row["item_id"]): row for row in found.to_dict("records")}


def _levels_help(item: Item) -> str:
    """Every level's line for the item, then its questions: the help beside the item's title (levels first, so a
    tooltip too tall for the window still shows them)."""
    scale = _ui.catalog().scale
    return ("  \n".join(f"**{level} · {scale.name(level)}**: {item.rubric[level]}" for level in range(6))
            + "\n\n" + "  \n".join(item.questions))


def _compact_on(assessment: store.Assessment, item: Item, field: str, readonly: bool) -> dict[str, Any]:
    key = f"a{assessment.id}:{item.id}:{field}:compact"
    return {"key": key, "on_change": _editor._save, "args": (assessment.id, item.id, field, key), "disabled": readonly}


def _keep(assessment_id: int, item_id: str, previous: Mapping[str, Any]) -> None:
    """Keep the previous round's answer: one ordinary save of its fields (logged, timed, refused like any answer).
    What to copy is decided now, on what the round holds at the click: evidence typed just before it (saved in the
    same rerun, or in the one before) is kept, never overwritten by the line as it was drawn."""
    responses = _ui.query(store.responses, assessment_ids=[assessment_id])
    now = responses[responses["item_id"] == item_id]
    changes = carry.kept_fields(previous, _editor._stored(now.iloc[0].to_dict()) if len(now) else {})
    try:
        _ui.write(store.update_response, assessment_id, item_id, changes, by=identity.current_user() or "unknown")
    except (store.StoreError, AccessDenied) as exc:  # e.g. the round was finalised, or submitted, meanwhile
        _editor.flash(str(exc))


def _answered(stored: Mapping[str, Any], item: Item) -> bool:
    return stored["maturity"] is not None or (item.kind == "annex_a" and not stored["applicable"])


def _escape(text: str) -> str:
    from dashboard.summarize import escape_markdown  # imported when needed: summarize loads the AI helper's modules

    return escape_markdown(text)


def _offer(previous: Mapping[str, Any], scale: Any) -> str:
    """The keep action's label: the round and what it answered."""
    said = f"{int(previous['maturity'])} {scale.name(int(previous['maturity']))}" \
        if previous["applicable"] and not pd.isna(previous["maturity"]) else "not applicable"
    return f"Keep as in {_escape(str(previous['round_label']))}: {said}"


def compact_item_editor(assessment: store.Assessment, row: Mapping[str, Any], item: Item, *, readonly: bool,
                        previous: Mapping[str, Any] | None = None) -> None:
    """One questionnaire item on one line: title (questions and rubric in its help), the level as six buttons
    (one click; the same click again clears it; the chosen level's name beside them), evidence and, for an Annex A
    control, applicability (a control not applicable asks for its justification in the evidence's place).

    `previous` (a row of `previous_answers`): the answer of the unit's previous round; while the item is not
    answered, one button keeps it (level, evidence, applicability and justification) and the evidence field shows
    it as its placeholder.

    The widgets save through the full editor's `_save` (same fields, same change log), so an answer given here is
    stored exactly as there; their keys end in `:compact` (a widget of another kind under the full editor's key
    would not show its value when the mode changes). Evidence holding several lines keeps a (short) text area, so
    no line break is lost."""
    scale = _ui.catalog().scale
    stored = _editor._stored(row)
    for field in ("maturity", "applicable", "evidence", "justification"):
        _editor.bind(_compact_on(assessment, item, field, readonly)["key"], stored[field])
    offer = previous if previous is not None and not _answered(stored, item) else None
    # an Annex A control has a fourth column for its applicability; a clause gives that room to its evidence
    widths = [2.6, 3.0, 3.0, 1.4] if item.kind == "annex_a" else [2.6, 3.0, 4.4]
    title, level, text, *rest = st.columns(widths, vertical_alignment="center")
    title.markdown(f"**{item.id}** {item.title}", help=_levels_help(item))
    applicable = True
    if item.kind == "annex_a":
        with rest[0]:
            applicable = st.toggle("Applicable", **_compact_on(assessment, item, "applicable", readonly))
    field, hint = ("evidence", "Evidence: what exists, where, since when") if applicable else \
        ("justification", "Why not applicable? (required; for the SoA)")
    with level, st.container(horizontal=True, vertical_alignment="center", gap="small"):
        if applicable:
            st.segmented_control(f"Level of {item.id}", LEVELS, selection_mode="single", label_visibility="collapsed",
                                 width="stretch", wrap=True, help=_levels_help(item), **_compact_on(assessment, item, "maturity", readonly))
            if stored["maturity"] is not None:
                st.markdown(f"**{stored['maturity']}** {scale.name(stored['maturity'])}")
        elif offer is None:
            st.caption("Not applicable")
        if offer is not None:
            st.button(_offer(offer, scale), key=f"a{assessment.id}:{item.id}:keep:compact", type="tertiary",
                      icon=":material/history:", disabled=readonly, on_click=_keep,
                      args=(assessment.id, item.id, dict(offer)),
                      help=f"Copy the level, the evidence and (Annex A) the applicability of round "
                           f"{_escape(str(offer['round_label']))} into this round, saved as your answer. "
                           "Text already typed in this round is kept.")
    with text:
        if offer is not None and not stored[field].strip() and str(offer.get(field) or "").strip():
            hint = f"{offer['round_label']}: {' '.join(str(offer[field]).split())}"  # a placeholder is plain text
        box = st.text_area if "\n" in stored[field] else st.text_input
        box(f"{field.capitalize()} for {item.id}", placeholder=hint, label_visibility="collapsed",
            **({"height": 68} if box is st.text_area else {}), **_compact_on(assessment, item, field, readonly))
        if not applicable and not stored["justification"].strip():
            st.error("A justification is required for a control that is not applicable.")


# last, so that either module can be imported first: `ui` imports this module's functions at its own end
from dashboard import ui as _ui  # noqa: E402
from dashboard.ui import editor as _editor  # noqa: E402
