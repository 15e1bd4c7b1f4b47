"""Roadmap: the gaps as prioritised, phased actions with the reason for each; owners, due dates, status tracked."""

import pandas as pd
import streamlit as st

from dashboard import columns, roadmap, ui
from dashboard.selection import assessment_ids
from etl import report, roadmap_exports

EDITOR_ROWS = 1000

ui.page_setup()
who = ui.principal()  # downloads are built on click, outside this run: they are handed the person asking
st.title("Roadmap")
user = ui.identity_box()
ui.require_data()
selection = ui.filters(key="roadmap")
ids, round_label = selection.ids, selection.round_label
org_name = st.sidebar.text_input("Organisation name (exports and report)", key="roadmap_org_name")
if not ids:
    ui.no_match()

by_item = st.toggle("Organisation view: the same item across units as one action", key="roadmap_by_item")
hide_done = st.toggle("Hide done actions", key="roadmap_hide_done")
plan = selection.keep(ui.query(roadmap.organisation_plan if by_item else roadmap.plan, ids))
ui.flash()
if st.session_state.get("roadmap_saved"):
    st.success(st.session_state.pop("roadmap_saved"))
st.caption(f"Covers {selection.covers} · {len(plan)} action(s). Priority: gap × weight + "
           f"{roadmap.UNLOCK_BONUS:g} per open action waiting for it; foundations and scores ≥ {roadmap.NOW_SCORE:g} "
           f"start now, ≥ {roadmap.NEXT_SCORE:g} next, the rest later; prerequisites never come after what relies on them.")
ui.provenance_notes(ids, round_label)
cols = st.columns(5)
for col, phase in zip(cols, roadmap.PHASES, strict=False):
    col.metric(phase.label, int((plan["phase"] == phase.name).sum()))
cols[3].metric("Done", f"{(plan['status'] == 'done').mean():.0%}" if len(plan) else "—")
cols[4].metric("Overdue", int(plan["overdue"].sum()) if len(plan) else 0)

if plan.empty:
    st.success("No open gap: every assessed item in this selection meets its target.")
else:
    st.plotly_chart(roadmap.timeline_chart(plan, title=f"Phases and due dates · {selection.covers}"), key="roadmap_timeline")
    shown = (plan[plan["status"] != "done"] if hide_done else plan).reset_index(drop=True)
    if len(shown) > EDITOR_ROWS:  # a 13,000-row editor costs more than the rest of the page: show the top actions
        st.caption(f"Showing the {EDITOR_ROWS} highest-priority of {len(shown)} actions; choose units or a round in "
                   "the sidebar to see the others. The exports hold them all.")
        shown = shown.head(EDITOR_ROWS)
    # what fits at 1440 px, the long text wrapped (rows of 76 px): the rest in the detail view below
    visible = (["rank", "phase", "item_id", "title", "units_below", "why"] if by_item
               else ["rank", "phase", "unit", "item_id", "title", "why"])
    visible += ["owner", "due_date", "status"]
    outside = int(plan["due_outside_phase"].sum())
    if outside:
        st.caption(f"⚠ {outside} action(s) have a due date set outside their phase's window (see an action in "
                   "full below, and the exports): move the date, or accept that the action runs late or early.")
    version = st.session_state.setdefault("roadmap_editor_version", 0)
    key = f"roadmap_editor_{int(by_item)}_{version}"
    config = ui.column_config(shown[visible], widths={"rank": 50, "phase": 60, "unit": 110, "item_id": 65, "title": 150,
                                                      "units_below": 80, "why": 230, "owner": 105, "due_date": 100})
    config["status"] = st.column_config.SelectboxColumn("Status", options=list(roadmap.STATUSES), required=True)
    st.data_editor(
        shown[visible], key=key, hide_index=True, num_rows="fixed",
        disabled=not user or [c for c in visible if c not in ("owner", "due_date", "status")], column_config=config,
        placeholder="", row_height=76,
    )
    with st.expander("One action in full: its next step, evidence, levels and how its priority is computed"):
        pick = st.selectbox("Action", shown.index.tolist(), key="roadmap_detail_pick",
                            format_func=lambda i: f"{shown.loc[i, 'rank']}. {shown.loc[i, 'item_id']} {shown.loc[i, 'title']}"
                            + (f" · {shown.loc[i, 'unit']}" if "unit" in shown.columns else ""))
        if pick is not None:
            st.text(shown.loc[pick, "score_detail"])
            detail = [c for c in ("suggested_action", "units", "units_assessed", "level", "target_level", "gap", "lowest_level",
                                  "max_gap", "score", "evidence",
                                  "phase_start", "phase_end", "due_outside_phase") if c in shown.columns]
            row = shown.loc[pick]
            ui.table(pd.DataFrame({"field": [columns.label(c) for c in detail],
                                   "value": [columns.cell_text(row[c], columns.spec(c).kind) for c in detail]}),
                     key="roadmap_detail", labels={"field": "Field", "value": "Value"}, row_height=76,
                     widths={"field": 160, "value": 780})
    edits = st.session_state.get(key, {}).get("edited_rows", {})
    if not user:
        st.info("Type your name in the sidebar to change owners, due dates and status: it goes into the change log.")
    elif st.button(f"Save {len(edits)} changed row(s)", disabled=not edits, type="primary", key="roadmap_save"):
        try:
            saved = ui.write(roadmap.save_edits, shown, edits, by=user)
            st.session_state["roadmap_saved"] = f"Saved: {saved} action(s) changed, recorded in the change log as {user}."
        except ValueError as exc:  # StoreError: a value the store refuses
            ui.flash(str(exc))
        st.session_state["roadmap_editor_version"] = version + 1
        st.rerun()

st.subheader("Exports")
view = "organisation-roadmap" if by_item else "roadmap"
left, middle, right = st.columns(3)
for fmt in ("csv", "xlsx"):  # files are built on click: building both on every rerun costs seconds at scale
    left.download_button(f"Roadmap ({fmt.upper()})",
                         lambda fmt=fmt: ui.query(roadmap_exports.roadmap_file, ids, fmt, organisation_view=by_item,
                                                  organisation=org_name, round_label=round_label, scope=selection.scope,
                                                  principal=who),
                         f"{view}.{fmt}", mime=roadmap_exports.mime(fmt), key=f"roadmap_{fmt}", on_click="ignore")
annex = ui.query("assessments")  # the rounds whose Annex A answers are shown
annex = annex[annex["id"].isin(assessment_ids(ids, "annex_a")) & (annex["scope"] != "clauses")]
if annex.empty:
    middle.caption("No assessment in this selection covers Annex A: no Statement of Applicability.")
else:
    chosen = middle.selectbox("Statement of Applicability for", annex["id"].tolist(), key="roadmap_soa_pick",
                              format_func=dict(zip(annex["id"], annex["unit"] + " · " + annex["label"], strict=True)).get)
    for fmt in ("csv", "xlsx"):
        middle.download_button(f"SoA ({fmt.upper()})",
                               lambda fmt=fmt: ui.query(roadmap_exports.soa_file, chosen, fmt, organisation=org_name, principal=who),
                               f"soa-{chosen}.{fmt}", mime=roadmap_exports.mime(fmt), key=f"soa_{fmt}",
                               on_click="ignore")
right.download_button(  # built on click (about 5 MB: plotly.js is inside, so that it opens offline)
    "Executive report (HTML)",
    lambda: ui.query(report.build_report, ids, organisation=org_name, round_label=round_label, principal=who),
    "aims-report.html", mime="text/html", key="report_html", on_click="ignore")
right.caption("Opens offline in any browser; print it to PDF from there, or use `python -m etl report --pdf`.")
