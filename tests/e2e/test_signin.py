"""Streamlit's own sign-in (st.login / st.user / st.logout) against a local OpenID Connect provider, in Chromium.

The first test needs nothing of the dashboard: a six-line app proves that the provider, the secrets file
given with --secrets.files and the browser's round trip work together, so that a failure of the role walk
below is the dashboard's, not the harness's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ProxyTrap, assert_clean, browser_tab
from tests.e2e.signin import Person, auth_secrets, dashboard, provider, serve_provider_stylesheet, sign_in, sign_out
from tests.processes import free_port

pytestmark = pytest.mark.e2e

PROBE_APP = '''import streamlit as st
if not st.user.is_logged_in:
    st.write("Nobody is signed in.")
    st.button("Sign in", on_click=st.login)
    st.stop()
st.text(f"Signed in: {st.user.name} <{st.user.email}>")
st.button("Sign out", on_click=st.logout)
'''


def test_st_login_completes_against_the_local_provider_and_logout_ends_its_session(
        chromium: Any, proxy_trap: ProxyTrap, tmp_path: Path) -> None:
    ada = Person("ada@example.org", "Ada Lovelace")
    (tmp_path / "probe.py").write_text(PROBE_APP, encoding="utf-8")
    port = free_port()
    with provider([ada, Person("bob@example.org", "Bob")], tmp_path) as found:
        secrets_file = auth_secrets(tmp_path / "secrets.toml", found, port)
        with dashboard(tmp_path / "probe.py", tmp_path, proxy_trap, secrets_file=secrets_file, port=port,
                       cwd=tmp_path) as server, browser_tab(chromium, server) as tab:
            serve_provider_stylesheet(tab)
            page = sign_in(tab, server, found, ada)
            page.get_by_text("Signed in: Ada Lovelace <ada@example.org>").wait_for()
            assert_clean(tab, server, "after signing in")
            sign_out(tab, server, found, button=re.compile("^Sign out"))
            page.get_by_text("Nobody is signed in.").wait_for()
            assert_clean(tab, server, "after signing out")
    assert not proxy_trap.requests, f"the server tried to reach the network: {proxy_trap.requests}"
