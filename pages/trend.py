"""Trends: maturity per section and overall across rounds, and what changed between two rounds."""

import streamlit as st

from dashboard import analytics, charts, scoring, ui

ui.page_setup()
st.title("Trends across rounds")
ui.require_data()

units = ui.query("units")["name"].tolist()
unit = st.selectbox("Business unit", units, index=None, placeholder="All units", key="trend_unit")
scope = st.radio("Scope", ["clause", "annex_a"], horizontal=True, key="trend_scope",
                 format_func={"clause": "Clauses 4-10", "annex_a": "Annex A"}.get)
who = unit or "all units"
ids = ui.query(scoring.select_assessments, units=[unit] if unit else None, round_label=scoring.ALL_ROUNDS)
trend = ui.query(analytics.round_trend, ids)
trend = trend[trend["kind"] == scope]
overall = ui.query(analytics.overall_trend, ids)
if trend.empty or overall.empty:
    st.info(f"No {'clause' if scope == 'clause' else 'Annex A'} assessment for {who} yet.")
    st.stop()

st.caption(f"Covers {who} · rounds {', '.join(overall['round'])} · each unit counts once per round")
measure = {"clause": ("clause_maturity", "Clause maturity (4-10)"), "annex_a": ("annex_maturity", "Annex A maturity")}[scope]
measures = overall[["round", measure[0]]].rename(columns={measure[0]: "maturity"}).dropna().assign(measure=measure[1])
target = trend.groupby("round", sort=False)["target"].mean()  # both charts follow the scope chosen above
left, right = st.columns(2)
with left:
    st.plotly_chart(charts.trend_chart(measures, by="measure", target=target.reindex(measures["round"]),
                                       title=f"{measure[1]} across rounds · {who}"), key="trend_overall")
with right:
    st.plotly_chart(charts.trend_chart(trend, title=f"Maturity per section across rounds · {who}"),
                    key="trend_sections")

st.subheader("What changed between two rounds")
labels = overall["round"].tolist()
cols = st.columns(2)
start = cols[0].selectbox("From round", labels, index=0, key="trend_from")
end = cols[1].selectbox("To round", labels, index=len(labels) - 1, key="trend_to")
changes = ui.query(analytics.item_changes,
                   ui.query(scoring.select_assessments, units=[unit] if unit else None, round_label=start),
                   ui.query(scoring.select_assessments, units=[unit] if unit else None, round_label=end))
changes = changes[changes["section"].str.startswith("A.") == (scope == "annex_a")]  # the page's scope, as the charts
if changes.empty:
    st.caption(f"No unit has {'clause' if scope == 'clause' else 'Annex A'} items assessed in both rounds.")
else:
    counts = changes["direction"].value_counts()
    st.caption(f"{counts.get('improved', 0)} improved · {counts.get('regressed', 0)} regressed · "
               f"{counts.get('unchanged', 0)} unchanged (items assessed in both rounds)")
    for direction in ("improved", "regressed"):
        rows = changes[changes["direction"] == direction]
        with st.expander(f"{direction.capitalize()} ({len(rows)})", expanded=direction == "regressed"):
            # the rounds are named above and the section is in the item's number: the rest fits 1440 px
            ui.table_download(rows.drop(columns=["direction", "section", "from_round", "to_round"]),
                              f"{direction}-{start}-{end}", key=f"trend_{direction}",
                              widths={"title": 200, "evidence_now": 250})
