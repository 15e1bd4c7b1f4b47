"""Overview: where the chosen units stand — headline figures and their change, clauses, Annex A, largest gaps."""

import streamlit as st

from dashboard import analytics, charts, ui

ui.page_setup()
st.title("Overview")
catalog = ui.catalog()
scale = catalog.scale

ui.require_data()

sel = ui.filters(key="overview")
if not sel.ids:
    ui.no_match()
summary, change = ui.query(analytics.summary_change, sel.ids)
sections = sel.keep(ui.query("organisation_sections", sel.ids))
st.caption(f"Covers {sel.covers} · {summary['assessments']} assessment(s) · catalog {catalog.version}"
           + (" · changes compare each unit's clauses, and its Annex A answers, with its previous round of the same "
              "scope" if change else " · no earlier round to compare with"))
marks = ui.provenance_notes(sel.ids, sel.round_label)


def share_delta(name: str) -> str | None:
    return None if not change or change[name] is None else f"{change[name] * 100:+.0f} pts vs previous"


cols = st.columns([0.95, 1.45, 1.35, 1.15, 1.2, 1.05])  # sized so that no change line is cut at 1440 px;
# the headline (one function for every output), then the assessment's own figures
for col, fig in zip(cols, analytics.headline_figures(summary, scale, change), strict=False):
    col.metric(fig.label, fig.value, fig.change, help=fig.help)
cols[4].metric("Completeness", "—" if summary["completeness"] is None else f"{summary['completeness']:.0%}",
               share_delta("completeness"), help="Assessed applicable items / applicable items.")
cols[5].metric("Open gaps", summary["open_gaps"],
               None if not change else f"{change['open_gaps']:+d} vs previous",
               delta_color="inverse", help="Applicable, assessed items below their target.")

left, right = st.columns(2)
with left:
    if (sections["kind"] == "clause").any():
        st.plotly_chart(charts.clause_maturity_chart(sections, scale, title=f"Maturity per clause · {sel.covers}"),
                        key="clause_chart")
    else:
        st.info("No clause 4-10 figures in this selection.")
with right:
    if (sections["kind"] == "annex_a").any():
        st.plotly_chart(charts.annex_coverage_chart(sections, title=f"Annex A coverage per objective · {sel.covers}"),
                        key="annex_chart")
    else:
        st.info("No Annex A figures in this selection.")

st.subheader("The ten largest gaps")
gaps = ui.query(analytics.largest_gaps, sel.ids, 10, None if sel.scope == "both" else sel.scope)
if gaps.empty:
    st.caption("No gap: every assessed item meets its target.")
else:
    ui.table_download(gaps[["unit", "item_id", "title", "maturity", "target", "gap", "owner", "due_date"]].replace({"unit": marks}),
                      "largest-gaps", key="gaps")
with st.expander("Section scores as a table"):
    ui.table_download(sections[["section", "section_title", "maturity", "target", "gap", "completeness", "coverage",
                                "units_scored", "open_gaps"]], "section-scores", key="sections")
