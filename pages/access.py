"""Access: who holds which role (administrators only); every grant and revocation goes into the change log."""

import streamlit as st

from dashboard import access, ui
from dashboard.access import ROLE_TITLES, AccessDenied

ui.page_setup()
st.title("Access")
who = ui.principal()
if who.local:
    st.info("Local mode: nobody signs in, so roles take effect only once sign-in ([auth]) is configured. You can "
            "prepare them here or with `python -m etl access grant`.")
admins = sorted(access.env_admins())
if admins:
    st.caption("Administrators from AIMS_ADMINS (always administrators): " + ", ".join(admins))

st.subheader("Roles")
ui.table_download(ui.query(access.assignments), "roles", key="access_roles")

units = ui.query("units")["name"].tolist()
grant_tab, revoke_tab, log_tab = st.tabs(["Grant", "Revoke", "Changes"])
for tab, verb in ((grant_tab, "grant"), (revoke_tab, "revoke")):
    with tab, st.form(f"access_{verb}"):
        email = st.text_input("Email (as the provider signs it in)", key=f"access_{verb}_email")
        role = st.selectbox("Role", list(ROLE_TITLES), format_func=ROLE_TITLES.get, key=f"access_{verb}_role")
        unit = st.selectbox("Unit (unit assessors only; the units under it are included)", units, index=None,
                            key=f"access_{verb}_unit")
        if st.form_submit_button(verb.capitalize(), type="primary"):
            action = access.grant if verb == "grant" else access.revoke
            try:
                changed = ui.write(action, email, role, unit if role == access.ASSESSOR else None, by=who)
            except (AccessDenied, ValueError) as exc:
                st.error(str(exc))
            else:
                st.success(f"{verb.capitalize()}ed." if changed else "Nothing to change: it was already so.")
with log_tab:
    ui.table_download(ui.query(access.role_log), "role-changes", key="access_log")
