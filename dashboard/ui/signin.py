"""Who is asking: sign-in through Streamlit's OpenID Connect (`st.login`) when `[auth]` is configured, the local
mode otherwise (the typed name, an administrator), the account box, the pages a role opens, and who each change is
recorded as. The rules (roles, what each may see and do) are in `dashboard/access.py`; this module only finds the
principal of a run and shows the screens around it.

Part of the `dashboard.ui` package (re-exported there: `ui.principal`, `ui.signed_in`, `ui.visible_pages`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard import access, identity, settings
from dashboard.access import Principal
from dashboard.db import lease
from dashboard.ui import _USER_KEY, db_path

__all__ = ["auth_section", "principal", "providers", "signed_in", "visible_pages"]

_TEST_KEY = "_aims_test_principal"  # tests only: a Principal object put there by code (AppTest), never user input
_RUN_KEY = "_aims_principal"


def auth_section() -> dict[str, Any]:
    """The `[auth]` section of .streamlit/secrets.toml ({} when sign-in is not configured)."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets file at all
        return {}
    return dict(section) if section else {}


def providers(section: Mapping[str, Any]) -> list[str | None]:
    """The providers to offer: named sub-sections ([auth.keycloak]), or None for the default one in [auth]."""
    named = [k for k, v in section.items() if isinstance(v, Mapping)]
    return named or [None]


def _whom_to_ask() -> str:
    admins = sorted(access.env_admins())
    return "Ask an administrator" + (f" ({', '.join(admins)})" if admins else "") + " for a role."


def _resolve() -> Principal:
    seeded = st.session_state.get(_TEST_KEY)
    if isinstance(seeded, Principal):
        return seeded
    section = auth_section()
    if not section:
        if settings.get("AIMS_REQUIRE_LOGIN").lower() in ("1", "true", "yes"):
            st.error("This dashboard requires sign-in (AIMS_REQUIRE_LOGIN=true), and none is configured. The "
                     "administrator adds an [auth] section to .streamlit/secrets.toml (see the README); nothing is "
                     "shown until then.")
            st.stop()
        return access.local_admin(identity.clean_name(st.session_state.get(_USER_KEY)))
    if not section.get("cookie_secret"):
        st.error("Sign-in is configured without a cookie_secret. The administrator adds `cookie_secret` (a long "
                 "random string) to the [auth] section of .streamlit/secrets.toml and restarts the server.")
        st.stop()
    if not st.user.get("is_logged_in"):  # (AppTest has no sign-in: the attribute may be missing there)
        _sign_in_page(section)
        st.stop()
    claim = st.user.get(settings.get("AIMS_GROUP_CLAIM"))
    groups = [claim] if isinstance(claim, str) else list(claim or [])
    with lease(db_path()) as con:
        return access.resolve(con, st.user.get("email"), st.user.get("name"), [str(g) for g in groups])


def _sign_in_page(section: Mapping[str, Any]) -> None:
    st.title("AIMS gap assessment")
    st.write("Sign in with your organisation's account to continue.")
    for provider in providers(section):
        label = "Sign in" + (f" with {provider}" if provider else "")
        if st.button(label, type="primary", key=f"sign_in_{provider or 'default'}"):
            st.login(provider) if provider else st.login()
    st.caption("If signing in fails, check that your account may use this application, or ask an administrator "
               "to check the [auth] settings (redirect_uri, client_id, server_metadata_url).")


def signed_in(*, account_box: bool = True) -> Principal:
    """Who is asking, resolved for this run (sign-in page, refusal or the 'no role' page stop the run), with the
    account box in the sidebar (drawn by app.py's navigation, once per run)."""
    who = _resolve()
    st.session_state[_RUN_KEY] = who
    if account_box:
        _account_box(who)
    if not who.can_read:
        st.title("No access yet")
        st.write(f"You are signed in as {who.email or who.name}, but you have no role in this dashboard. "
                 + _whom_to_ask())
        st.stop()
    return who


def _account_box(who: Principal) -> None:
    with st.sidebar:
        if who.local:
            st.caption("Local mode: no sign-in; everyone who can reach this address is an administrator.")
        else:
            plain = re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])", r"\\\1", f"{who.name} ({who.email})")  # names are text
            st.caption(f"Signed in as {plain} · {who.title}")
            if st.button("Log out", key="logout"):
                st.logout()


def principal() -> Principal:
    """The principal of this run (resolved by `page_setup`, or now)."""
    seeded = st.session_state.get(_TEST_KEY)
    if isinstance(seeded, Principal):
        return seeded
    found = st.session_state.get(_RUN_KEY)
    return found if isinstance(found, Principal) else _resolve()


def visible_pages(pages: Mapping[str, Sequence[tuple[str, str]]]) -> dict[str, list[Any]]:
    """app.py's navigation (group -> (page file, title); the first page is the default), as `st.Page` objects for
    only the pages this principal's role opens (the pages also refuse by URL)."""
    who = signed_in()
    first = next(path for entries in pages.values() for path, _ in entries)
    out = {group: [st.Page(path, title=title, default=path == first) for path, title in entries
                   if access.may_open_page(who, path)]
           for group, entries in pages.items()}
    return {group: entries for group, entries in out.items() if entries}


def _recorded_name() -> str | None:
    """Who makes each change in this browser session: the signed-in person; in local mode the typed name."""
    who = principal()
    return st.session_state.get(_USER_KEY) if who.local else who.recorded_as


identity.set_provider(_recorded_name)
