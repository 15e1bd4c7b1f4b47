"""One round's result, as the questionnaire and the interview end with it: headline figures, the charts per clause
and Annex A, the gaps largest first, the first roadmap items and the time the answers took.

Part of the `dashboard.ui` package (re-exported there: pages call `ui.assessment_result`). Every figure comes from
the scoring engine through the cached reads.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import scoring, settings, store
from dashboard.ui import catalog, query, table

__all__ = ["assessment_result"]


def assessment_result(assessment: store.Assessment, sections: pd.DataFrame) -> None:
    """The result of one assessment: level per section against target, and its gaps, largest first."""
    from dashboard import charts

    scale = catalog().scale
    summary = query(scoring.assessment_scores, [assessment.id]).iloc[0]
    if summary["assessed"] < summary["applicable"]:
        st.info(f"{int(summary['applicable'] - summary['assessed'])} applicable item(s) still to assess: "
                "the figures below are provisional.")
    cols = st.columns(5)
    clause, annex = summary["clause_maturity"], summary["annex_maturity"]
    cols[0].metric("Clause maturity", "—" if pd.isna(clause) else f"{clause:.2f}",
                   help="Mean of the clause 4-10 section scores.")
    levels = {k: None if pd.isna(summary[f"{k}_maturity_level"]) else summary[f"{k}_maturity_level"] for k in ("clause", "annex")}
    cols[1].metric("Clause level", scale.level_name(levels["clause"]))
    cols[2].metric("Annex A maturity", "—" if pd.isna(annex) else f"{annex:.2f}",
                   help=f"Mean of the Annex A objective scores: {scale.level_name(levels['annex'])}.")
    cols[3].metric("Annex A coverage", "—" if pd.isna(summary["annex_coverage"]) else f"{summary['annex_coverage']:.0%}")
    cols[4].metric("Open gaps", int(summary["open_gaps"]))
    if (sections["kind"] == "clause").any():
        st.plotly_chart(charts.clause_maturity_chart(sections, scale, title=f"Maturity per clause · {assessment.unit}"),
                        key=f"result_clauses_{assessment.id}")
    if (sections["kind"] == "annex_a").any():
        st.plotly_chart(charts.annex_coverage_chart(sections, title=f"Annex A coverage · {assessment.unit}"),
                        key=f"result_annex_{assessment.id}")
    levels = scoring.with_levels(sections, scale)[["section", "section_title", "maturity", "level", "target", "gap",
                                                   "completeness"]]
    table(levels, key=f"result_levels_{assessment.id}")
    gaps = query(scoring.item_scores, [assessment.id])
    gaps = gaps[gaps["gap"] > 0].sort_values(["gap", "weight", "ord"], ascending=[False, False, True])
    st.subheader(f"Gaps, largest first ({len(gaps)})")
    if gaps.empty:
        st.caption("No gap: every assessed item meets its target.")
    else:
        table(gaps[["item_id", "title", "maturity", "target", "gap", "owner", "due_date"]], key=f"result_gaps_{assessment.id}")
    from dashboard import roadmap

    actions = query(roadmap.plan, [assessment.id])
    st.subheader("First roadmap items")
    if actions.empty:
        st.caption("Nothing to plan: every assessed item meets its target.")
    else:
        table(actions.head(8)[["rank", "phase", "item_id", "title", "maturity", "target", "why", "suggested_action"]],
              key=f"result_roadmap_{assessment.id}")
    _time_spent(assessment)
    left, right = st.columns(2)
    with left:
        st.page_link("pages/overview.py", label="Open the Overview")
    with right:
        st.page_link("pages/roadmap.py", label="Open the full roadmap")


def _time_spent(assessment: store.Assessment) -> None:
    """The time the round's answers took (dashboard/timing.py): active and elapsed, and per item on request."""
    from dashboard import timing

    st.subheader("Time spent on this round")
    spent = query(timing.assessment_times, [assessment.id]).iloc[0]
    answered = int(spent["answers"]) > 0
    cols = st.columns(3)
    cols[0].metric("Active time", timing.format_duration(spent["active_s"]) if answered else "—",
                   help="Time between answers saved in the questionnaire or the interview; a gap longer than "
                        f"{settings.get('AIMS_PAUSE_MINUTES')} min (AIMS_PAUSE_MINUTES) is a pause and not counted.")
    cols[1].metric("Elapsed", timing.format_duration(spent["elapsed_s"]) if answered else "—",
                   help="From the first to the last answer saved in the questionnaire or the interview.")
    cols[2].metric("Answers saved", int(spent["answers"]),
                   help="Saves of an answer in the questionnaire or the interview; imported or copied answers are "
                        "not time spent.")
    if not answered:
        st.caption("No answer of this round was given in the questionnaire or the interview (imported or copied "
                   "answers are not time spent).")
        return
    with st.expander("Time per item"):
        items = query(timing.item_times, assessment.id).sort_values("active_s", ascending=False, kind="stable")
        items.insert(1, "title", [catalog().by_id[i].title if i in catalog().by_id else "" for i in items["item_id"]])
        items["active"] = [timing.format_duration(s) for s in items.pop("active_s")]
        st.caption("Longest first. A gap between two answers counts for the item whose answer ended it.")
        table(items, key=f"result_time_{assessment.id}",
              labels={"active": "Active time", "edits": "Saves", "first_at": "First answer", "last_at": "Last answer"})
