"""Sections and controls: one section's items, each unit's maturity, and the evidence behind each score."""

import streamlit as st

from dashboard import charts, scoring, ui

ui.page_setup()
st.title("Sections and controls")
catalog = ui.catalog()
ui.require_data()

sel = ui.filters(key="drill", scope=False)
if not sel.ids:
    ui.no_match()
titles = {s.id: f"{s.id} {s.title}" for s in catalog.sections}
section = st.selectbox("Section", list(titles), format_func=titles.get, key="drill_section")
items = ui.query(scoring.item_scores, sel.ids)
items = items[items["section"] == section]
scores = ui.query("section_scores", sel.ids)
scores = scores[scores["section"] == section]
if items.empty:
    st.info(f"No assessment in this selection covers section {section}. Choose another section or round.")
    st.stop()

st.caption(f"Covers {sel.covers} · section {titles[section]}")
ui.provenance_notes(sel.ids, sel.round_label)
cols = st.columns(3)
mean = scores["maturity"].mean()
cols[0].metric("Mean of the units' section scores", "—" if scores["maturity"].isna().all() else f"{mean:.2f}")
cols[1].metric("Units below the section target", int((scores["maturity"] < scores["target"]).sum()))
cols[2].metric("Items not assessed", int((items["state"] == "not assessed").sum()))

per_item = items.sort_values("ord").assign(section=lambda f: f["item_id"])  # one heatmap column per item
st.plotly_chart(charts.heatmap(per_item, title=f"Maturity per item and unit · {sel.covers}", items=True),
                key="drill_heatmap")

for item in catalog.section_by_id[section].items:
    rows = items[items["item_id"] == item.id]
    with st.expander(f"{item.id} {item.title} — {int((rows['gap'] > 0).sum())} unit(s) below target"):
        st.caption(" ".join(item.questions))
        ui.table_download(rows[["unit", "assessment", "state", "maturity", "target", "gap", "evidence", "owner",
                                "due_date", "notes"]], f"{item.id}-by-unit", key=f"drill_{item.id}")
