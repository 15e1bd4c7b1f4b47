"""Benchmarking: every unit side by side — heatmap, ranking, radar against target, spread, units below target."""

import streamlit as st

from dashboard import analytics, charts, peers, ui

ui.page_setup()
st.title("Benchmarking across units")
scale = ui.catalog().scale
ui.require_data()

sel = ui.filters(key="bench")
if not sel.ids:
    ui.no_match()
st.caption(f"Covers {sel.covers}")
marks = ui.provenance_notes(sel.ids, sel.round_label)  # a unit's draft marker goes beside its name
sections = sel.keep(ui.query("section_scores", sel.ids)).replace({"unit": marks})
ranked = ui.query(analytics.ranking, sel.ids).replace({"unit": marks})

order_by = st.selectbox("Sort units by", ["overall maturity", *sections.drop_duplicates("section")["section"]],
                        key="bench_sort")
if order_by == "overall maturity":
    order = ranked["unit"].tolist()
else:
    order = sections[sections["section"] == order_by].sort_values("maturity", ascending=False, na_position="last")["unit"]
    order = [*order, *ranked.loc[~ranked["unit"].isin(order), "unit"]]
st.plotly_chart(charts.heatmap(sections, order=order, title=f"Maturity by unit and section · {sel.covers}"),
                key="bench_heatmap")

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.ranking_chart(ranked, scale, title=f"Units by overall maturity · {sel.covers}"),
                    key="bench_ranking")
with right:
    picked = st.multiselect("Compare up to six units against the target", ranked["unit"].tolist(),
                            default=ranked["unit"].tolist()[:3], max_selections=6, key="bench_radar_units")
    if picked:
        st.plotly_chart(charts.radar(sections, picked, title=f"Units against the target · {sel.covers}"),
                        key="bench_radar")
st.plotly_chart(charts.distribution(sections, title=f"Spread of unit scores per section · {sel.covers}"),
                key="bench_distribution")

st.subheader("Units below target on a section")
titles = dict(zip(sections["section"], sections["section_title"], strict=False))
section = st.selectbox("Section", list(titles), format_func=lambda s: f"{s} {titles[s]}", key="bench_below")
below = ui.query(analytics.units_below_target, sel.ids, section)
if below.empty:
    st.caption(f"Every unit meets its target on section {section}.")
else:
    ui.table_download(below, f"units-below-target-{section}", key="bench_below")
with st.expander("Ranking as a table"):
    ui.table_download(ranked, "ranking", key="bench_rank")

if not ui.principal().every_unit:  # a unit assessor: its units against the organisation, no other unit named
    st.subheader("Your unit against the organisation")
    st.caption(f"The organisation's median and middle half (25th to 75th percentile) of all units' section scores; "
               f"sections scored by fewer than {peers.MIN_UNITS} units are left out. No other unit is named.")
    band = ui.query(peers.organisation_band, round_label=sel.round_label)
    ui.table_download(peers.against_band(sections, band), "unit-against-organisation", key="bench_band")
