"""Presentation mode for top management: one clean, printable page — level, coverage, heatmap, top themes."""

import streamlit as st

from dashboard import analytics, charts, roadmap, scoring, ui

ui.page_setup()
ui.presentation_style()
catalog = ui.catalog()
scale = catalog.scale
ui.require_data()

rounds = [scoring.LATEST, *reversed(ui.query("rounds"))]
round_label = st.selectbox("Round", rounds, key="present_round", label_visibility="collapsed")
ids = ui.query(scoring.select_assessments, round_label=round_label)
if not ids:
    ui.no_match()
summary, change = ui.query(analytics.summary_change, ids)
covers = f"{summary['units']} business units · round: {round_label}"

st.title("Where we stand on ISO/IEC 42001")
st.caption(f"{covers} · catalog {catalog.version}")
marks = ui.provenance_notes(ids, round_label)
cols = st.columns(4)
cols[0].metric("Overall maturity", "—" if summary["overall_maturity"] is None else f"{summary['overall_maturity']:.2f}",
               None if not change or change["overall_maturity"] is None
               else f"{change['overall_maturity']:+.2f} since previous round")
cols[1].metric("Level", scale.level_name(summary["overall_maturity_level"]))
cols[2].metric("Annex A coverage", "—" if summary["annex_coverage"] is None else f"{summary['annex_coverage']:.0%}")
cols[3].metric("Open gaps", summary["open_gaps"])

sections = ui.query("section_scores", ids).replace({"unit": marks})  # a unit's draft marker beside its name
st.plotly_chart(charts.heatmap(sections, order=[marks.get(u, u) for u in ui.query(analytics.ranking, ids)["unit"]],
                               title=f"Maturity by unit and section · {covers}"),
                key="present_heatmap", config={"displaylogo": False})

st.subheader("Top roadmap themes")
themes = ui.query(roadmap.organisation_plan, ids)
if themes.empty:
    st.caption("No open action: every assessed item meets its target.")
else:
    for row in themes.head(5).itertuples():  # catalog titles and counts only: no user text here
        st.markdown(f"**{row.phase.capitalize()}** · {row.summary}")
        st.caption(f"Next step: {row.suggested_action}")
st.page_link("pages/overview.py", label="← Leave presentation mode")
