"""Overview: where the chosen units stand — headline figures, maturity per clause, Annex A coverage."""

import streamlit as st

from dashboard import charts, ui
from etl.exports import to_csv

ui.page_setup()
st.title("Overview")
catalog = ui.catalog()

if ui.query("assessments").empty:
    ui.empty_state()
    st.stop()

units, round_label, ids = ui.filters(key="overview")
if not ids:
    st.warning("No assessment matches these filters. Choose another round or clear the unit filter.")
    st.stop()

summary = ui.query("organisation_summary", ids)
sections = ui.query("organisation_sections", ids)
scale = catalog.scale
covers = f"{summary['units']} unit(s) · round: {round_label}"
st.caption(f"Covers {covers} · {summary['assessments']} assessment(s) · catalog {catalog.version}")


def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


cols = st.columns(5)
cols[0].metric("Clause maturity", score(summary["clause_maturity"]), help="Mean of the clause 4-10 section scores.")
cols[1].metric("Clause level", scale.level_name(summary["clause_maturity"]))
cols[2].metric("Annex A coverage", share(summary["annex_coverage"]),
               help=f"Applicable controls at or above target. Partial: {share(summary['annex_partial_share'])}.")
cols[3].metric("Completeness", share(summary["completeness"]), help="Assessed applicable items / applicable items.")
cols[4].metric("Open gaps", summary["open_gaps"], help="Applicable, assessed items below their target.")

left, right = st.columns(2)
with left:
    if sections[sections["kind"] == "clause"].empty:
        st.info("No clause 4-10 assessment in this selection.")
    else:
        st.plotly_chart(charts.clause_maturity_chart(sections, scale, title=f"Maturity per clause · {covers}"),
                        key="clause_chart")
with right:
    if sections[sections["kind"] == "annex_a"].empty:
        st.info("No Annex A assessment in this selection.")
    else:
        st.plotly_chart(charts.annex_coverage_chart(sections, title=f"Annex A coverage per objective · {covers}"),
                        key="annex_chart")

table = sections[["section", "section_title", "maturity", "target", "gap", "completeness", "coverage",
                  "units_scored", "open_gaps"]]
with st.expander("Section scores as a table"):
    st.dataframe(table, hide_index=True, key="sections_table")
    st.download_button("Download as CSV", to_csv(table), "section-scores.csv", mime="text/csv", key="sections_csv")
