"""Units and rounds: create, rename, archive and merge business units; start or resume an assessment."""

import datetime as dt

import streamlit as st

from dashboard import rounds, store, ui
from dashboard import units as units_core

ui.page_setup()
st.title("Units and rounds")
user = ui.identity_box()
ui.flash()
catalog = ui.catalog()
units = ui.query(store.list_units, True)
active = units[~units["archived"]]["name"].tolist()

def start() -> None:
    """The form's submit callback: runs before the page, so a quick second rerun cannot cut it off."""
    by = ui.sync_identity()
    form = st.session_state
    name = (form["start_new_unit"] or form["start_unit"] or "").strip()
    if not by:
        form["start_result"] = ("error", "Type your name in the sidebar first: it is recorded with every change.", None)
        return
    if not name:
        form["start_result"] = ("error", "Choose a business unit or type a new one.", None)
        return
    try:
        if form["start_new_unit"] and form["start_parent"]:
            ui.write(store.ensure_unit, name, form["start_parent"])
        created, copied = ui.write(rounds.start_assessment, unit=name, label=form["start_label"],
                                   scope=form["start_scope"], catalog_version=catalog.version,
                                   assessed_on=form["start_date"], by=by, copy_previous=form["start_copy"],
                                   default_target=catalog.scale.default_target)
    except store.StoreError as exc:
        form["start_result"] = ("error", str(exc), None)
        return
    form["current_assessment"] = created.id
    copied_text = f" with {copied.new} answers copied." if copied.new else "."
    form["start_result"] = ("ok", f"Started {created.unit} {created.label}{copied_text}", created.id)


with st.form("start_assessment", border=True):
    st.subheader("Start an assessment")
    st.selectbox("Business unit", active, index=None, placeholder="Choose a unit, or type a new one below",
                 key="start_unit")
    st.text_input("…or a new business unit", placeholder="e.g. Retail Banking", key="start_new_unit")
    st.selectbox("Parent (for a new unit, optional)", active, index=None, key="start_parent")
    st.radio("Scope", ["clauses", "annex_a", "both"], horizontal=True, key="start_scope",
             format_func={"clauses": "Clauses 4–10 (management system)", "annex_a": "Annex A controls",
                          "both": "Both"}.get)
    today = dt.date.today()
    st.text_input("Round label", value=rounds.default_label(today), key="start_label")
    st.date_input("Date assessed", value=today, format="YYYY-MM-DD", key="start_date")
    st.checkbox("Start from the unit's previous round (copy its answers)", value=True, key="start_copy")
    st.form_submit_button("Start", type="primary", on_click=start)
if result := st.session_state.pop("start_result", None):
    kind, message, created_id = result
    if kind == "error":
        st.error(message)
    else:
        st.success(message)
        st.page_link("pages/assess.py", label="Open the questionnaire", query_params={"assessment": str(created_id)})

st.subheader("Assessments")
assessments = ui.query(store.list_assessments)
if assessments.empty:
    st.caption("No assessment yet.")
else:
    scores = ui.query("assessment_scores")[["assessment_id", "completeness", "clause_maturity", "annex_coverage"]]
    table = assessments.merge(scores, left_on="id", right_on="assessment_id", how="left")
    ui.table(table[["unit", "label", "scope", "assessed_on", "status", "source", "completeness", "clause_maturity",
                        "annex_coverage"]], key="assessments_table")
    drafts = table[table["status"] == "draft"]
    for row in drafts.itertuples():
        st.page_link("pages/assess.py", label=f"Resume {row.unit} {row.label} ({row.completeness or 0:.0%} done)",
                     query_params={"assessment": str(row.id)})

with st.expander("Correct a round's date"):  # the date decides which round is a unit's latest
    drafts = assessments[assessments["status"] == "draft"]
    picked = st.selectbox("Round (drafts: a finalised round is read-only)", drafts["id"].tolist(), index=None,
                          format_func=dict(zip(drafts["id"], drafts["unit"] + " · " + drafts["label"] + " · assessed "
                                               + drafts["assessed_on"].astype(str), strict=True)).get, key="date_round")
    day = st.date_input("Date assessed", value=None, format="YYYY-MM-DD", key="date_value")
    if st.button("Save the date", key="date_save", disabled=picked is None or day is None or not user):
        try:
            ui.write(rounds.set_date, int(picked), day, by=user)
            st.rerun()
        except store.StoreError as exc:
            st.error(str(exc))

with st.expander("Rename or archive a business unit"):
    chosen = st.selectbox("Unit", units["name"].tolist(), index=None, key="manage_unit")
    if chosen:
        row = units[units["name"] == chosen].iloc[0]
        new_name = st.text_input("New name", value=chosen, key="rename_to")
        left, right = st.columns(2)
        if left.button("Rename", key="rename") and new_name != chosen:
            try:
                ui.write(store.rename_unit, int(row["id"]), new_name)
                st.rerun()
            except store.StoreError as exc:
                st.error(str(exc))
        archived = bool(row["archived"])
        if right.button("Restore" if archived else "Archive", key="archive"):
            ui.write(store.archive_unit, int(row["id"]), not archived)
            st.rerun()
        st.caption("Archived units keep their history but leave the dashboards' filters and figures.")

alike = ui.query(units_core.similar_unit_pairs)
with st.expander("Merge two business units", expanded=bool(alike) or "merge_done" in st.session_state):
    if done := st.session_state.pop("merge_done", None):
        st.success(done)
    if alike:
        st.caption("These look alike: " + "; ".join(f"{a} / {b} ({why})" for a, b, why in alike[:10]))
    left, right = st.columns(2)
    source = left.selectbox("Merge this unit…", units["name"].tolist(), index=None, key="merge_from")
    target = right.selectbox("…into this one (it keeps the name)", units["name"].tolist(), index=None, key="merge_into")
    st.caption("Every round moves to the second unit (logged on each round); the first unit is then removed. "
               "Two rounds with the same label cannot be merged: rename or undo one first.")
    if st.button("Merge", key="merge_units", disabled=not (source and target and user)):
        try:
            st.session_state["merge_done"] = ui.write(units_core.merge_units, source, target, by=user).describe()
            st.rerun()
        except units_core.UnitClash as exc:
            st.error(str(exc))
