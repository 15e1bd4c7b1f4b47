"""Proposed answers: levels for 42001 items proposed from an ISO/IEC 27001 assessment, to accept or change.
A proposal is not an answer: no figure counts it until it is saved here (or with `python -m etl frameworks accept`).
An assessor sees and decides on the proposals of its own units; importing a 27001 file is for organisers."""

import streamlit as st

from dashboard import proposals, ui
from dashboard.store import StoreError
from dashboard.summarize import escape_markdown
from etl.prefill_27001 import propose_from_file

ui.page_setup()
st.title("Proposed answers from ISO/IEC 27001")
catalog = ui.catalog()
who = ui.identity_box()
st.caption("Where a clause of ISO/IEC 27001 is *equal* to a 42001 item in our mapping set (resources, communication, "
           "documented information, internal audit, management review, improvement…), its level from your ISO 27001 "
           "assessment is proposed here. A proposal counts nowhere until an assessor saves it as the answer.")

if ui.principal().can_organise:  # a 27001 file may name every unit: an organiser's import
    with st.expander("Import an ISO/IEC 27001 assessment"):
        upload = st.file_uploader("Assessment (.xlsx, .csv) in our import layouts, with ISO/IEC 27001 ids",
                                  type=["xlsx", "xlsm", "csv"], key="prop_upload")
        left, right = st.columns(2)
        unit = left.text_input("Business unit, for rows that name none", key="prop_unit").strip() or None
        label = right.text_input("Round label, for rows that name none", key="prop_round").strip() or None
        if upload is not None and st.button("Propose levels", key="prop_import"):
            try:
                reading, counts = ui.write(propose_from_file, upload.name, upload.getvalue(), by=who or "unknown", unit=unit,
                                           label=label)
            except StoreError as exc:
                reading, counts = None, None
                st.error(escape_markdown(str(exc)))
            if counts is not None:
                st.success(escape_markdown(f"{upload.name}: {counts.describe()}"))
            elif reading is not None:
                st.error(escape_markdown("Refused, nothing proposed:\n" + "\n".join(reading.problems)))

if st.session_state.get("prop_done"):
    st.success(st.session_state.pop("prop_done"))
found = ui.query(proposals.proposals)  # only the units this person may see
if found.empty:
    st.info("No open proposal. Import an ISO/IEC 27001 assessment above." if ui.principal().can_organise
            else "No open proposal for your units.")
    st.stop()
ui.table(found[["unit", "assessment", "item_id", "title", "level", "source", "evidence", "filename"]], key="prop_table")

keys = [f"{a}|{i}" for a, i in zip(found["assessment_id"], found["item_id"], strict=True)]
labels = {k: f"{r.unit} · {r.assessment} · {r.item_id} {r.title} — level {r.level}" for k, r in zip(keys, found.itertuples(), strict=True)}
pick = st.selectbox("Proposal to decide on", keys, format_func=labels.get, key="prop_pick")
row = found.iloc[keys.index(pick)]
item = catalog.by_id[row["item_id"]]
st.markdown(f"**{escape_markdown(row['source'])}** ({escape_markdown(str(row['filename']))})"
            f" · [open the item in the questionnaire](assess?assessment={int(row['assessment_id'])}&item={item.id})")
if isinstance(row["evidence"], str):
    st.caption(escape_markdown(row["evidence"]))
level = st.radio("Level to save as the answer", list(range(6)), index=int(row["level"]), key=f"prop_level_{pick}",
                 format_func=lambda v: item.level_label(catalog.scale, v))
if not who:
    st.warning("Type your name in the sidebar first: it is recorded with the answer.")
save, drop = st.columns(2)
if save.button("Save as the answer", type="primary", disabled=not who, key="prop_save"):
    try:
        outcome = ui.write(proposals.decide, int(row["assessment_id"]), item.id, by=who, level=level)
        st.session_state["prop_done"] = f"{item.id}: proposal {outcome}; the answer is saved with its source in the change log."
        st.rerun()  # the list without it
    except (proposals.ProposalError, StoreError, PermissionError) as exc:  # PermissionError: a round submitted for review
        st.error(escape_markdown(str(exc)))
if drop.button("Dismiss the proposal", disabled=not who, key="prop_dismiss"):
    try:
        ui.write(proposals.dismiss, int(row["assessment_id"]), item.id, by=who)
        st.rerun()
    except (proposals.ProposalError, PermissionError) as exc:
        st.error(escape_markdown(str(exc)))
