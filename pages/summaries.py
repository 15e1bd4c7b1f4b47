"""Summaries: the executive summary, what units say about an item or a section, one unit's position.

Links from other pages: ?kind=executive | ?kind=unit&unit=NAME | ?kind=section&section=6 | ?kind=item&item=A.5.2
"""

import streamlit as st

from dashboard import llm, scoring, summarize, ui
from dashboard.summarize import escape_markdown

ui.page_setup()
st.title("Summaries")
ui.require_data()
catalog = ui.catalog()
st.secrets.load_if_toml_exists()  # top-level secrets (such as a provider's key) become environment variables
config = llm.session_config(st.session_state)
st.caption(f"Model: {escape_markdown(config.describe())}" if config.enabled else
           "No model configured: summaries come from the offline extractive summariser (quoted sentences, ranked).")

KINDS = {"executive": "Executive summary", "item": "An item across units", "section": "A section across units",
         "unit": "One unit"}
params = st.query_params
kind = st.radio("Summarise", list(KINDS), format_func=KINDS.get, horizontal=True, key="summary_kind",
                index=list(KINDS).index(params["kind"]) if params.get("kind") in KINDS else 0)
units = ui.query("units")["name"].tolist()
options = {"item": [i.id for i in catalog.items], "section": [s.id for s in catalog.sections], "unit": units}.get(kind, [])
names = {i.id: i.title for i in catalog.items} | {s.id: s.title for s in catalog.sections}
wanted = params.get(kind)
key = st.selectbox(kind.capitalize(), options, index=options.index(wanted) if wanted in options else 0,
                   format_func=lambda k: f"{k} {names.get(k, '')}", key=f"summary_{kind}") if options else ""
only = st.selectbox("Only this unit", ["", *units], format_func=lambda u: u or "All units",
                    key="summary_only") if kind in ("item", "section") else ""
round_label = st.selectbox("Round", [scoring.LATEST, *reversed(ui.query("rounds"))], key="summary_round")
scope = summarize.Scope(kind, key or "", unit=only, round_label=round_label)
remembered = f"summary::{config.model}::{scope}"
try:  # only small results are cached: the full request (every answer) is built when the model is asked
    summary = st.session_state.get(remembered) or (ui.query(summarize.cached_for, scope, config.model) if config.enabled
                                                   else ui.query(summarize.offline_for, scope))
except summarize.SummaryError as exc:
    st.warning(escape_markdown(str(exc)))
    st.stop()
if config.enabled:
    label = f"Regenerate with {config.model}" if summary else f"Summarise with {config.model}"
    asked = st.button(label, type="primary", key="summary_run",
                      help="Sends the free-text answers of this selection (redacted when AIMS_LLM_REDACT is on) "
                           "and the figures; the result is cached in the database.")
    if st.session_state.pop("summary_cancelled", False):
        st.info("Cancelled: nothing was saved.")
    if asked or st.session_state.pop("summary_go", False):
        request = ui.query(summarize.prepare, scope)
        # a click stops this run at its next progress update; the stream is closed and the server stops
        cancel_slot = st.empty()
        cancel_slot.button("Cancel", key="summary_cancel",
                           on_click=lambda: st.session_state.update(summary_cancelled=True))
        with st.status(f"Summarising {len(request.sources)} answers with {config.model}…", expanded=True) as status:
            line = st.empty()
            try:
                summary = summarize.generate(request, config, catalog,
                                             on_progress=lambda p: line.write(escape_markdown(p.describe())))
                ui.write(summarize.remember, request, summary)
                st.session_state[remembered] = summary
                status.update(label=escape_markdown(f"Summarised with {summary.engine}"), state="complete",
                              expanded=False)
            except llm.NeedsConfirmation as exc:
                st.session_state["summary_pending"] = llm.as_text(exc.messages)
                status.update(label="Waiting for your confirmation", state="error", expanded=False)
        cancel_slot.empty()  # the run is over: a late click must not say that nothing was saved

if pending := st.session_state.get("summary_pending"):
    st.warning(f"{escape_markdown(config.model)} runs outside this machine. This is exactly what would be sent "
               "(personal data already replaced by placeholders when redaction is on):")
    st.code(pending, language=None, wrap_lines=True)
    send, stay = st.columns(2)
    send.button("Send it, and do not ask again in this session", key="summary_confirm", on_click=lambda: st.session_state.update(
        {llm.CONFIRMED_KEY: True, "summary_go": True, "summary_pending": None}))
    stay.button("Stay offline in this session", key="summary_offline", on_click=lambda: st.session_state.update(
        {llm.OFFLINE_KEY: True, "summary_pending": None}))
elif summary is None:
    st.info("No summary of this selection yet. Press the button to ask the model.")
else:
    st.subheader(escape_markdown(summary.title))
    if summary.notice:  # offline by choice is news; a failed model is a warning
        (st.warning if config.enabled else st.info)(escape_markdown(summary.notice))
    st.markdown(summarize.to_markdown(summary))
