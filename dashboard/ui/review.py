"""Campaigns in the questionnaire: a round's review state with Submit for review, the lead's comments beside their
items, and the "finalised rounds only" setting (the rules are in `dashboard/campaigns.py`).

Part of the `dashboard.ui` package (re-exported there: pages call `ui.review_panel`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import identity, store
from dashboard.access import AccessDenied
from dashboard.ui import query, write
from dashboard.ui.editor import bind, flash
from dashboard.ui.signin import principal

__all__ = ["final_only_toggle", "item_comments", "review_panel"]


def review_panel(assessment: store.Assessment, user: str | None) -> tuple[str | None, pd.DataFrame]:
    """A round's review at the top of the questionnaire, for a round of a campaign (or one already submitted): its
    state, the lead's comment on the round when it was returned, and **Submit for review** (a refusal shown as the
    core words it). Returns the state (None for a round outside any review, which shows nothing) and the comments
    of the last return on items, for `item_comments`."""
    from dashboard import campaigns
    from dashboard.summarize import escape_markdown

    none = pd.DataFrame(columns=["item_id", "comment", "by", "at"])
    if not query(campaigns.in_review, assessment.id):
        return None, none
    state = query(campaigns.review_state, assessment.id)
    comments = query(campaigns.comments, assessment.id) if state == "returned" else none
    if not comments.empty:  # the comments the lead returned it with last time
        comments = comments[comments["return_no"] == comments["return_no"].max()]
    explain = {"submitted": "waiting for the governance lead's review; answers are read-only meanwhile.",
               "returned": "returned by the governance lead: see the comments, correct, and submit again.",
               "finalised": "finalised after review."}
    st.markdown(f"**Review:** {escape_markdown(state)} — {explain.get(state, 'answer every item, then submit it for review.')}")
    for row in comments[comments["item_id"].isna()].itertuples():
        st.warning(f"**Comment on the round** ({escape_markdown(_who_when(row))}): {escape_markdown(row.comment)}")
    items = list(dict.fromkeys(comments["item_id"].dropna()))
    if items:  # the comments stand beside their items, which may be in other sections
        st.caption("The lead commented on " + ", ".join(items) + ": each comment stands above its item.")
    if state in ("not started", "in progress", "returned") and st.button(
            "Submit for review", key=f"submit_{assessment.id}", disabled=not user):
        try:
            write(campaigns.submit, assessment.id, by=user)
            st.rerun()
        except (ValueError, AccessDenied) as exc:  # campaigns.ReviewError and store.StoreError are ValueErrors
            st.error(escape_markdown(str(exc)))
    return state, comments[comments["item_id"].notna()]


def _who_when(row: Any) -> str:
    when = pd.Timestamp(row.at).strftime("%Y-%m-%d %H:%M") if not pd.isna(row.at) else ""
    return ", ".join(str(v) for v in (row.by, when) if v)


def item_comments(comments: pd.DataFrame, item_id: str) -> None:
    """The governance lead's comments on one item of a returned round, shown above the item (text as typed)."""
    if comments.empty:  # a round outside any review, or returned without item comments: nothing to filter per item
        return
    from dashboard.summarize import escape_markdown

    for row in comments[comments["item_id"] == item_id].itertuples():
        st.warning(f"**Lead's comment** ({escape_markdown(_who_when(row))}): {escape_markdown(row.comment)}")


def final_only_toggle(key: str) -> None:
    """'Management views show finalised rounds only' (administrators and governance leads), saved on change."""
    from dashboard import campaigns

    def save() -> None:
        try:
            write(campaigns.set_final_only, bool(st.session_state[key]), by=identity.current_user() or "unknown")
        except (ValueError, AccessDenied) as exc:
            flash(str(exc))

    bind(key, bool(query(campaigns.final_only)))
    st.toggle("Management views show finalised rounds only", key=key, on_change=save,
              disabled=not principal().can_organise,
              help="On: the Overview, Presentation, report and summaries take each unit's latest finalised round, "
                   "leaving out drafts and rounds still under review. Off: the latest round, drafts marked provisional.")
