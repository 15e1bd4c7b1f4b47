"""Presentation mode for top management: one clean, printable page — level, coverage, heatmap, top themes."""

import streamlit as st

from dashboard import analytics, charts, organisation, roadmap, scoring, ui
from etl import deck

ui.page_setup()
who = ui.principal()  # downloads are built on click, outside this run: they are handed the person asking
ui.presentation_style()
catalog = ui.catalog()
scale = catalog.scale
ui.require_data()

rounds = [scoring.LATEST, *reversed(ui.query("rounds"))]
round_label = st.sidebar.selectbox("Round shown", rounds, key="present_round",
                                   help="The presentation names this round in its subtitle.")
ids = ui.query(scoring.select_assessments, round_label=round_label)
if not ids:
    ui.no_match()
summary, change = ui.query(analytics.summary_change, ids)
covers = f"{summary['units']} business units · round: {round_label}"
org = ui.query(organisation.name)

st.title("Where we stand on ISO/IEC 42001" + (f" — {org}" if org else ""))
st.caption(f"{covers} · catalog {catalog.version}")
marks = ui.provenance_notes(ids, round_label)
cols = st.columns([1, 1.6, 1.4, 1.1, 0.9])  # the level's name and the clause label need the room
for col, fig in zip(cols, analytics.headline_figures(summary, scale, change), strict=False):
    col.metric(fig.label, fig.value, fig.change, help=fig.help)
cols[4].metric("Open gaps", summary["open_gaps"])

sections = ui.query("section_scores", ids).replace({"unit": marks})  # a unit's draft marker beside its name
st.plotly_chart(charts.heatmap(sections, order=[marks.get(u, u) for u in ui.query(analytics.ranking, ids)["unit"]],
                               title=f"Maturity by unit and section · {covers}", large=True),
                key="present_heatmap", config={"displaylogo": False})
st.caption("Each cell: a unit's score on a section (clauses 4-10, Annex A objectives A.2-A.10), in its level's colour; "
           "— = not assessed.")

st.subheader("Top roadmap themes")
themes = ui.query(roadmap.organisation_plan, ids)
if themes.empty:
    st.caption("No open action: every assessed item meets its target.")
else:
    for line, step in deck.theme_lines(themes.head(5)):  # catalog titles and counts only: no user text here
        st.markdown(line)
        with st.expander("Next step", expanded=False):
            st.write(step)
st.download_button("Board deck (.pptx)", lambda: ui.query(deck.build_deck, ids, round_label=round_label, principal=who),
                   file_name="board-deck.pptx", key="present_deck", on_click="ignore",
                   mime="application/vnd.openxmlformats-officedocument.presentationml.presentation")
st.page_link("pages/overview.py", label="← Leave presentation mode")
