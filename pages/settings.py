"""Settings: what is configured (a key only as present or not), and a test of the model connection."""

import os

import pandas as pd
import streamlit as st

from dashboard import llm, settings, ui
from dashboard.summarize import escape_markdown

ui.page_setup()
st.title("Settings")
st.secrets.load_if_toml_exists()  # Streamlit puts top-level secrets into the environment, where settings are read
st.caption("Settings are environment variables (or top-level entries of .streamlit/secrets.toml), read when a page "
           "runs. This page shows them; nothing here is written to the database, logs or exports.")
table = pd.DataFrame([{
    "setting": s.name,
    "value": ("set (hidden)" if os.environ.get(s.name, "").strip() else "not set") if s.secret else settings.get(s.name),
    "default": "—" if s.secret else s.default or "(empty)",
    "meaning": s.help,
} for s in settings.SETTINGS])
st.dataframe(table, hide_index=True, key="settings_table",
             column_config={"meaning": st.column_config.TextColumn("meaning", width="large")})

st.subheader("AI helper")
try:
    config = llm.load_config()
except llm.LLMError as exc:
    st.error(str(exc))
    st.stop()
if not config.enabled:
    st.info("No model is configured (AIMS_LLM_MODEL is empty), so the AI helper works offline: summaries come from "
            "the extractive summariser and the interview offers the rubric levels without proposals. "
            "Nothing is sent anywhere.")
    st.stop()

facts = {
    "Model": config.model,
    "Endpoint": config.api_base or "the provider's usual endpoint",
    "Where": "this machine" if config.is_local else "outside this machine",
    "Key": llm.key_status(config),
    "Redaction": "on: emails, phones, IBAN/card numbers and URLs with credentials are replaced before sending"
                 if config.redact else "off: text is sent as written",
    "Remote providers": "allowed after a confirmation once per browser session" if config.allow_remote else "forbidden",
    "Timeout and retries": f"{config.timeout:g} s per attempt, {config.retries} retry(ies)",
}
st.dataframe(pd.DataFrame({"": list(facts), "AI helper": list(facts.values())}), hide_index=True, key="llm_table")
if not config.is_local and not config.allow_remote:
    st.warning("AIMS_LLM_ALLOW_REMOTE is false and this provider is outside this machine: it will not be used.")

if st.button("Test the connection", key="llm_test",
             help="Sends one short prompt with no assessment data ('Reply with the single word OK.')."):
    with st.spinner(f"Asking {config.model}…"):
        try:
            st.success(escape_markdown(llm.test_connection(config)))  # the model's words, shown as text
        except llm.LLMError as exc:
            st.error(escape_markdown(str(exc)))

if st.session_state.get("llm_remote_ok") or st.session_state.get("llm_offline"):
    st.caption("In this browser session you have confirmed sending to the remote provider, or chosen to stay offline.")
    if st.button("Ask again before sending anything", key="llm_forget"):
        st.session_state.pop("llm_remote_ok", None)
        st.session_state.pop("llm_offline", None)
        st.rerun()
