"""AI-guided interview: one unit and scope, one item at a time; the agent proposes, the person decides."""

import streamlit as st

from dashboard import interview, llm, rounds, scoring, store, ui
from dashboard.summarize import escape_markdown

ui.page_setup()
st.title("AI-guided interview")
user = ui.identity_box()
catalog = ui.catalog()
st.secrets.load_if_toml_exists()  # top-level secrets (such as a provider's key) become environment variables
config = llm.session_config(st.session_state)
st.caption(f"The agent proposes levels with {escape_markdown(config.model)}; you accept or change each one." if config.enabled
           else "Offline: no model configured, so there are no proposals. Answer in your own words, then pick the "
                "rubric line that fits; your words are saved as evidence.")
state: interview.Interview | None = st.session_state.get("interview")


def read_answer(text: str, settings: llm.LLMConfig) -> None:
    """The model reads the answer, its progress shown as it streams; Stop ends the call (a click stops this run at
    the next progress line) and leaves the level to the person, with their words kept as evidence."""
    if not settings.enabled:
        st.session_state["interview"] = interview.respond(state, text, settings, catalog)
        return
    stop = st.empty()
    stop.button("Stop and pick the level myself", key="interview_stop", on_click=lambda: st.session_state.update(
        interview=interview.stopped(state, text), interview_pending=None))
    with st.status(f"Reading your answer with {settings.model}…", expanded=True) as status:
        line = st.empty()
        st.session_state["interview"] = interview.respond(
            state, text, settings, catalog, on_progress=lambda p: line.write(escape_markdown(p.describe())))
        status.update(label="Read", state="complete", expanded=False)
    stop.empty()  # the call is over: a late click must not stop anything


if state is None:
    if not user:
        st.warning("Type your name in the sidebar first: it is recorded with every answer.")
        st.stop()
    with st.form("interview_start"):
        unit = st.text_input("Business unit", key="interview_unit")
        label = st.text_input("Round label", value=rounds.default_label(), key="interview_label")
        scope = st.radio("Scope", ["clauses", "annex_a", "both"], horizontal=True, key="interview_scope",
                         format_func={"clauses": "Clauses 4-10", "annex_a": "Annex A", "both": "Both"}.get)
        started = st.form_submit_button("Start or resume", type="primary")
    st.caption("The same unit and round label resume an interview where it stopped: answered items are skipped. "
               "About 30 minutes for one scope.")
    if started:
        try:
            st.session_state["interview"] = ui.write(interview.begin, unit=unit, label=label, scope=scope, catalog=catalog)
            st.rerun()
        except (store.StoreError, PermissionError) as exc:  # PermissionError: access.AccessDenied, another unit
            st.error(escape_markdown(str(exc)))
    st.stop()

done, total = state.progress
st.progress(done / max(total, 1), text=f"{state.unit} · {state.label}: {done} of {total} applicable items answered")
if st.sidebar.button("Pause the interview", key="interview_pause", help="Answers are saved; start again to resume."):
    del st.session_state["interview"]
    st.rerun()
for turn in state.transcript[-12:]:
    st.chat_message(turn.role).markdown("  \n".join(escape_markdown(line) for line in turn.text.splitlines()))
if state.notice:
    st.warning(escape_markdown(state.notice))

if state.phase == "done":
    st.subheader("The result: maturity, gaps and roadmap")
    ui.assessment_result(ui.query(store.get_assessment, state.assessment_id),
                         ui.query(scoring.section_scores, [state.assessment_id]))
    if st.button("Start another interview", key="interview_again"):
        del st.session_state["interview"]
        st.rerun()
elif pending := st.session_state.get("interview_pending"):
    st.warning(f"{escape_markdown(config.model)} runs outside this machine. This is exactly what would be sent:")
    st.code(llm.as_text(llm.preview(config, interview.messages(catalog.by_id[state.current], (*state.answers, pending),
                                                                state.phase == "ask"))), language=None, wrap_lines=True)
    send, stay = st.columns(2)
    if send.button("Send it, and do not ask again in this session", key="interview_confirm"):
        st.session_state[llm.CONFIRMED_KEY] = True
    if stay.button("Stay offline in this session", key="interview_offline"):
        st.session_state[llm.OFFLINE_KEY] = True
    if st.session_state.get(llm.CONFIRMED_KEY) or st.session_state.get(llm.OFFLINE_KEY):
        read_answer(pending, llm.session_config(st.session_state))
        st.session_state["interview_pending"] = None
        st.rerun()
elif state.phase == "confirm":
    item = catalog.by_id[state.current]
    level = st.radio("Maturity level", list(range(6)), index=state.proposal.level if state.proposal else None,
                     format_func=lambda v: item.level_label(catalog.scale, v), key=f"level_{state.assessment_id}_{item.id}")
    save, skip = st.columns(2)
    if save.button("Save this level", type="primary", disabled=level is None, key="interview_save"):
        st.session_state["interview"] = ui.write(interview.decide, state, level, by=user or "unknown", catalog=catalog)
        st.rerun()
    if skip.button("Skip this item", key="interview_skip"):
        st.session_state["interview"] = interview.skip(state, catalog)
        st.rerun()
elif text := st.chat_input("Your answer", key="interview_answer"):
    try:
        read_answer(text, config)
    except llm.NeedsConfirmation:
        st.session_state["interview_pending"] = text
    st.rerun()
