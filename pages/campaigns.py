"""Campaigns: a governance lead launches a round for many units at once, follows the board (who has answered, who is
late), and returns or finalises what units submit. An assessor sees their own units' rows (the core keeps to them)."""

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import campaign_charts, campaigns, rounds, ui
from dashboard import campaign_views as views
from dashboard.access import AccessDenied
from dashboard.summarize import escape_markdown
from etl import campaign_exports as exports

ui.page_setup()
st.title("Campaigns")
user, who, catalog = ui.identity_box(), ui.principal(), ui.catalog()
ui.flash()


def act(action: str, **values: object) -> None:
    """A button's callback (runs before the page): launch, return or finalise; the outcome is shown below."""
    form, by = st.session_state, ui.sync_identity()
    try:
        if not by:
            raise ValueError("Type your name in the sidebar first: it is recorded with every change.")
        if action == "launch":
            done = ui.write(campaigns.launch, name=form["c_name"], units=form["c_units"] or None, parent=form["c_parent"],
                            scope=form["c_scope"], label=form["c_label"], assessed_on=form["c_date"], due_on=form["c_due"],
                            default_target=form["c_target"], assessors=views.parse_assessors(form["c_assessors"]),
                            copy_previous=form["c_copy"], by=by)
            form["campaign_pick"], message = done.id, f"Launched {done.name}: {len(done.assessment_ids)} round(s)."
        elif action == "return":
            comments = views.parse_item_comments(form["r_items"], set(catalog.by_id), form["r_round"])
            stored = ui.write(campaigns.return_round, values["aid"], comments=comments, by=by)
            form["r_round"] = form["r_items"] = ""
            message = f"Returned {values['unit']}'s round to its assessors with {stored} comment(s)."
        else:
            ui.write(campaigns.finalise, values["aid"], by=by)
            message = f"Finalised {values['unit']}'s round."
        form["c_result"] = ("success", message)
    except (ValueError, AccessDenied) as exc:  # campaigns.ReviewError and store.StoreError are ValueErrors
        form["c_result"] = ("error", str(exc))


listed = ui.query(campaigns.campaigns)
if who.can_organise:
    with st.expander("Launch a campaign", expanded=listed.empty), st.form("launch", border=False):
        units = ui.query("units")["name"].tolist()
        st.text_input("Campaign name", placeholder="e.g. Spring 2026 self-assessment", key="c_name")
        st.multiselect("Units", units, key="c_units", placeholder="Choose units, or a parent unit below")
        st.selectbox("…or a parent unit (it and every unit under it)", units, index=None, key="c_parent")
        st.radio("Scope", ["clauses", "annex_a", "both"], horizontal=True, key="c_scope",
                 format_func={"clauses": "Clauses 4–10", "annex_a": "Annex A controls", "both": "Both"}.get)
        left, middle, right = st.columns(3)
        left.text_input("Round label", value=rounds.default_label(dt.date.today()), key="c_label")
        middle.date_input("Date assessed", value=dt.date.today(), format="YYYY-MM-DD", key="c_date")
        right.date_input("Due date", value=dt.date.today() + dt.timedelta(days=30), format="YYYY-MM-DD", key="c_due")
        st.selectbox("Default target", range(6), index=catalog.scale.default_target, key="c_target",
                     format_func=lambda v: f"{v} · {catalog.scale.name(v)}")
        st.text_area("Assessors, one unit a line", key="c_assessors", placeholder="Retail Banking = ana@example.org, ben@example.org",
                     help="Each gets the assessor role on that unit if they lack it (logged).")
        st.checkbox("Start from each unit's previous answers", value=True, key="c_copy")
        st.form_submit_button("Launch", type="primary", on_click=act, args=("launch",))
    ui.final_only_toggle("campaign_final_only")
if result := st.session_state.pop("c_result", None):
    (st.success if result[0] == "success" else st.error)(escape_markdown(result[1]))
if listed.empty:
    st.info("No campaign yet." + ("" if who.can_organise else " A governance lead launches them."))
    st.stop()

names = {r.id: f"{r.name} · {r.label}" + (f" · due {r.due_on:%Y-%m-%d}" if pd.notna(r.due_on) else "")
         for r in listed.itertuples()}
chosen = st.selectbox("Campaign", list(names), format_func=names.get, key="campaign_pick")
today = dt.date.today()  # part of the cached read's key: "overdue" moves with the calendar, not only with the data
board = ui.query(campaigns.board, chosen, today=today)
st.caption(f"{len(board)} unit(s): " + " · ".join(f"{(board['state'] == s).sum()} {s}" for s in campaigns.STATES))
left, right = st.columns([3, 1])
states = left.multiselect("Show states", campaigns.STATES, key="board_states", placeholder="All states")
late = right.toggle("Overdue only", key="board_overdue")
kept = views.filter_board(board, states, late)
ui.table(views.board_view(kept), key="board", labels=views.BOARD_LABELS, widths=views.BOARD_WIDTHS,
         overrides={"link": st.column_config.LinkColumn(views.BOARD_LABELS["link"], display_text="open")})
overdue = ui.query(campaigns.overdue, chosen, today=today)
cols = st.columns(3)  # the board as shown (filtered), formula-safe, human headers (etl/campaign_exports.py)
cols[0].download_button("Board (CSV)", lambda: exports.board_csv(kept), "campaign-board.csv", key="board_csv",
                        on_click="ignore")
cols[1].download_button("Board (XLSX)", lambda: exports.board_xlsx(kept, listed[listed["id"] == chosen].iloc[0]),
                        "campaign-board.xlsx", key="board_xlsx", on_click="ignore")
cols[2].download_button("Overdue units (CSV)", lambda: exports.overdue_csv(overdue), "campaign-overdue.csv",
                        key="overdue_csv", disabled=overdue.empty, on_click="ignore")
st.plotly_chart(campaign_charts.progress_chart(ui.query(campaigns.progress_over_time, chosen, today=today),
                                               title=f"Progress over time · {names[chosen]}"), key="progress")

if who.can_organise:
    st.subheader("Reminders")
    st.caption(f"{len(overdue)} unit(s) overdue. Nothing is sent by the dashboard: each link opens your mail program "
               "with the unit's assessors" + (" (the first 30 here; the CSV lists all)." if len(overdue) > 30 else "."))
    for row in overdue.head(30).itertuples():
        whom = "assessors" if row.assessors else "assessors (none named: add the address yourself)"
        st.link_button(f"Write to {escape_markdown(row.unit)}'s {whom} ({row.days_overdue} day(s) late)", row.mailto)
    st.subheader("Review")
    waiting = board[board["state"] == "submitted"]
    if waiting.empty:
        st.caption("No round is waiting for review.")
        st.stop()
    units = dict(zip(waiting["assessment_id"], waiting["unit"], strict=True))
    aid = st.selectbox("Submitted round", list(units), format_func=units.get, key="review_pick")
    st.page_link("pages/assess.py", label=f"Read {escape_markdown(units[aid])}'s answers", query_params={"assessment": str(aid)})
    st.text_area("Comment on the round", key="r_round")
    st.text_area("Comments on items, one a line", key="r_items", placeholder="4.2 = Name the interested parties")
    left, right = st.columns(2)
    left.button("Return to the assessors", key="review_return", on_click=act, args=("return",),
                kwargs={"aid": aid, "unit": units[aid]})
    right.button("Finalise", type="primary", key="review_finalise", on_click=act, args=("finalise",),
                 kwargs={"aid": aid, "unit": units[aid]})
