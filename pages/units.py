"""Units and rounds: create, rename and archive business units; start or resume an assessment."""

import datetime as dt

import streamlit as st

from dashboard import rounds, store, ui

ui.page_setup()
st.title("Units and rounds")
user = ui.identity_box()
ui.flash()
catalog = ui.catalog()
units = ui.query(store.list_units, True)
active = units[~units["archived"]]["name"].tolist()

with st.form("start_assessment", border=True):
    st.subheader("Start an assessment")
    unit = st.selectbox("Business unit", active, index=None, placeholder="Choose a unit, or type a new one below")
    new_unit = st.text_input("…or a new business unit", placeholder="e.g. Retail Banking")
    parent = st.selectbox("Parent (for a new unit, optional)", active, index=None)
    scope = st.radio("Scope", ["clauses", "annex_a", "both"], horizontal=True,
                     format_func={"clauses": "Clauses 4–10 (management system)", "annex_a": "Annex A controls",
                                  "both": "Both"}.get)
    label = st.text_input("Round label", value=f"{dt.date.today().year}-Q{(dt.date.today().month - 1) // 3 + 1}")
    assessed_on = st.date_input("Date assessed", value=dt.date.today(), format="YYYY-MM-DD")
    copy = st.checkbox("Start from the unit's previous round (copy its answers)", value=True)
    if st.form_submit_button("Start", type="primary"):
        name = (new_unit or unit or "").strip()
        if not user:
            st.error("Type your name in the sidebar first: it is recorded with every change.")
        elif not name:
            st.error("Choose a business unit or type a new one.")
        else:
            try:
                if new_unit and parent:
                    ui.write(store.ensure_unit, name, parent)
                created, copied = ui.write(rounds.start_assessment, unit=name, label=label, scope=scope,
                                           catalog_version=catalog.version, assessed_on=assessed_on, by=user,
                                           copy_previous=copy, default_target=catalog.scale.default_target)
            except store.StoreError as exc:
                st.error(str(exc))
            else:
                st.session_state["current_assessment"] = created.id
                st.success(f"Started {created.unit} {created.label}" + (f" with {copied.new} answers copied." if copied.new
                           else "."))
                st.page_link("pages/assess.py", label="Open the questionnaire",
                             query_params={"assessment": str(created.id)})

st.subheader("Assessments")
assessments = ui.query(store.list_assessments)
if assessments.empty:
    st.caption("No assessment yet.")
else:
    scores = ui.query("assessment_scores")[["assessment_id", "completeness", "clause_maturity", "annex_coverage"]]
    table = assessments.merge(scores, left_on="id", right_on="assessment_id", how="left")
    st.dataframe(table[["unit", "label", "scope", "assessed_on", "status", "source", "completeness", "clause_maturity",
                        "annex_coverage"]], hide_index=True, key="assessments_table")
    drafts = table[table["status"] == "draft"]
    for row in drafts.itertuples():
        st.page_link("pages/assess.py", label=f"Resume {row.unit} {row.label} ({row.completeness or 0:.0%} done)",
                     query_params={"assessment": str(row.id)})

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
