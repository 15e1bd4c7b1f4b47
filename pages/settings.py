"""Settings: the organisation's name, the AI helper in plain words (which model, where, what is sent), and the
environment settings for administrators under Advanced."""

import os

import pandas as pd
import streamlit as st

from dashboard import llm, organisation, settings, ui
from dashboard.summarize import escape_markdown

ui.page_setup()
st.title("Settings")
st.secrets.load_if_toml_exists()  # Streamlit puts top-level secrets into the environment, where settings are read

st.subheader("Organisation")
stored = ui.query(organisation.name)
with st.form("org_form", border=False):
    name = st.text_input("Organisation name", value=stored, max_chars=organisation.MAX_LENGTH,
                         help="Shown on the report, the board deck, the presentation and the roadmap and SoA covers.")
    if st.form_submit_button("Save the name"):
        try:
            saved = ui.write(organisation.set_name, name)
            st.session_state["org_saved"] = f"Organisation name saved: {saved}" if saved else "Organisation name cleared."
            st.rerun()
        except ValueError as exc:
            st.error(escape_markdown(str(exc)))
if st.session_state.get("org_saved"):
    st.success(escape_markdown(st.session_state.pop("org_saved")))

st.subheader("Management views")
ui.final_only_toggle("final_only")

st.subheader("AI helper")
try:
    config = llm.load_config()
except llm.LLMError as exc:
    st.error(escape_markdown(str(exc)))
    config = None
if config is not None and not config.enabled:
    st.info("No model is in use: the AI helper works offline on this machine. Summaries come from the offline "
            "summariser (quoted sentences, ranked) and the interview offers the rubric levels without proposals. "
            "Nothing is sent anywhere.")
elif config is not None:
    where = "on this machine" if config.is_local else "outside this machine (a provider on the internet)"
    st.markdown(f"**Model in use:** {escape_markdown(config.model)}, {where}.")
    privacy = [
        "Personal details (emails, phone numbers, bank and card numbers, links with passwords) are replaced by "
        "placeholders before anything is sent." if config.redact else
        "Text is sent as written: personal details are **not** removed first.",
        ("Sending to a provider outside this machine is allowed after you confirm it once per browser session."
         if config.allow_remote else "Nothing is ever sent outside this machine.") if not config.is_local
        else "The model runs on this machine: answers do not leave it.",
        f"Each request waits up to {config.timeout:g} seconds and is tried {config.retries + 1} time(s) at most.",
    ]
    st.markdown("\n".join(f"- {line}" for line in privacy))
    if not config.is_local and not config.allow_remote:
        st.warning("This provider is outside this machine and sending there is switched off "
                   "(AIMS_LLM_ALLOW_REMOTE), so the AI helper will not use it.")
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

with st.expander("Advanced: environment settings"):
    st.caption("Settings are environment variables (or top-level entries of .streamlit/secrets.toml), read when a page "
               "runs. A key shows only as set or not; nothing here is written to the database, logs or exports.")
    table = pd.DataFrame([{
        "Setting": s.name,
        "Value": ("set (hidden)" if os.environ.get(s.name, "").strip() else "not set") if s.secret else settings.get(s.name),
        "Default": "—" if s.secret else s.default or "(empty)",
        "Meaning": s.help,
    } for s in settings.SETTINGS])
    st.dataframe(table, hide_index=True, key="settings_table", width="stretch", row_height=60,
                 column_config={"Setting": st.column_config.TextColumn(width="medium"),
                                "Meaning": st.column_config.TextColumn(width="large")})
    if config is not None and config.enabled:
        st.markdown(f"Endpoint: {escape_markdown(config.api_base or 'the provider’s usual endpoint')} · "
                    f"key: {escape_markdown(llm.key_status(config))}")
