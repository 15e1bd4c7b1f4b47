"""Sign-in in a real browser: a local OpenID Connect provider and the dashboard configured to use it.

- `provider(...)` starts `oidc-provider-mock` (`python -m oidc_provider_mock`) on 127.0.0.1 with a port of
  its own, one predefined user per `Person` (subject = email, claims email and name). Its login form
  (`/oauth2/authorize`) shows one button per predefined user; clicking it signs that person in. Its
  end-session page (`/oauth2/end_session`) has one button, "End session".
- `auth_secrets(...)` writes a secrets.toml with an `[auth]` section pointing at that provider; the
  dashboard is given it with `--secrets.files FILE`, so the repository's own `.streamlit/secrets.toml`
  (if a developer has one) is never read, nor written.
- `dashboard(...)` starts `python -m streamlit run SCRIPT` the way tests/e2e/conftest.py does (headless,
  free port, HTTP(S) proxies pointed at the trap), with the secrets file and any extra environment.
- `sign_in(...)` / `sign_out(...)` walk Streamlit's `st.login` / `st.logout` flow in a browser tab.

The dashboard is opened at http://localhost:PORT, the origin of its redirect URI: Streamlit refuses an
identity cookie whose origin differs from the page's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, SERVER_START_SECONDS, ProxyTrap, Server, Tab, settle
from tests.processes import free_port, stop_process

CLIENT_ID = "aims-dashboard-e2e"
# the provider's pages link a stylesheet on a CDN; the tab answers it with an empty one (nothing leaves the machine)
PROVIDER_STYLESHEET = "https://cdn.jsdelivr.net/**"


@dataclass(frozen=True)
class Person:
    email: str
    name: str

    def claims(self) -> dict[str, object]:
        return {"sub": self.email, "email": self.email, "email_verified": True, "name": self.name}


@dataclass(frozen=True)
class Provider:
    url: str
    log: Path

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("STREAMLIT_", "AIMS_")) and not k.lower().endswith("_proxy")}


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_until(ready: Any, process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer within {SERVER_START_SECONDS} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


@contextmanager
def provider(people: list[Person], workdir: Path) -> Iterator[Provider]:
    """oidc-provider-mock on 127.0.0.1 with these people as its predefined users; stopped after."""
    if importlib.util.find_spec("oidc_provider_mock") is None:
        pytest.fail("the sign-in browser test needs oidc-provider-mock: `pip install -r requirements-dev.txt`")
    port = free_port()
    log = workdir / "provider.log"
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    for person in people:
        command += ["--user-claims", json.dumps(person.claims())]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=_clean_env(), stdout=output, stderr=subprocess.STDOUT)
    found = Provider(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until(lambda: _answers(found.metadata_url), process, log, "the OpenID Connect provider")
        yield found
    finally:
        stop_process(process)


def auth_secrets(path: Path, found: Provider, app_port: int) -> Path:
    """A secrets.toml whose [auth] section signs in through `found` (one provider, Streamlit's default)."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{found.metadata_url}"\n',
        encoding="utf-8",
    )
    return path


@contextmanager
def dashboard(script: Path | str, workdir: Path, proxy_trap: ProxyTrap, *, secrets_file: Path | None,
              env: Mapping[str, str] = (), port: int | None = None, cwd: Path = ROOT) -> Iterator[Server]:
    """`python -m streamlit run SCRIPT` headless on `port` (free if None), with this secrets file only."""
    port = port or free_port()
    log = workdir / f"streamlit-{port}.log"
    full_env = _clean_env()
    full_env.update({"AIMS_LOCK_WAIT_SECONDS": "10", **dict(env)})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        full_env[name] = full_env[name.lower()] = proxy_trap.url
    full_env["NO_PROXY"] = full_env["no_proxy"] = "127.0.0.1,localhost,::1"
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
               "--server.port", str(port),
               # as .streamlit/config.toml says, for a script run from elsewhere too: no look-up of a public address
               "--browser.serverAddress", "localhost", "--browser.gatherUsageStats", "false"]
    # with no secrets file given, an empty one: never the repository's or the home directory's
    if secrets_file is None:
        secrets_file = workdir / "no-secrets.toml"
        secrets_file.write_text("", encoding="utf-8")
    command += ["--secrets.files", str(secrets_file)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(f"http://localhost:{port}", log)
    try:
        _wait_until(lambda: _answers(f"http://127.0.0.1:{port}/_stcore/health"), process, log, "the dashboard")
        yield server
    finally:
        stop_process(process)


def serve_provider_stylesheet(tab: Tab) -> None:
    """Answer the provider pages' CDN stylesheet with an empty one, locally (registered after the tab's guard)."""
    tab.page.route(PROVIDER_STYLESHEET, lambda route: route.fulfill(status=200, content_type="text/css", body=""))


SIGN_IN_BUTTON = re.compile(r"^(sign in|log in)", re.IGNORECASE)


def sign_in(tab: Tab, server: Server, found: Provider, person: Person, *, path: str = "/",
            button: re.Pattern[str] = SIGN_IN_BUTTON) -> Any:
    """Open the dashboard signed out, press its sign-in button, pick `person` on the provider's form.

    Returns the page, back on the dashboard and idle, signed in.
    """
    page = tab.page
    page.goto(server.url + path)
    settle(page)
    page.get_by_role("button", name=button).first.click()
    page.wait_for_url(re.compile("^" + re.escape(found.url + "/oauth2/authorize")))
    page.locator(f'button[name="sub"][value="{person.email}"]').click()
    page.wait_for_url(re.compile("^" + re.escape(server.url + "/")))
    page.locator('[data-testid="stApp"]').wait_for()
    settle(page)
    return page


def sign_out(tab: Tab, server: Server, found: Provider, *, button: re.Pattern[str]) -> Any:
    """Press the dashboard's sign-out button, confirm on the provider's end-session page, come back signed out."""
    page = tab.page
    page.get_by_role("button", name=button).first.click()
    page.wait_for_url(re.compile("^" + re.escape(found.url + "/oauth2/end_session")))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile("^" + re.escape(server.url + "/")))
    page.locator('[data-testid="stApp"]').wait_for()
    settle(page)
    return page


# --- the dashboard's own sign-in screens (dashboard/ui/) ------------------------------------------------

LOG_OUT_BUTTON = re.compile(r"^(log out|sign out)", re.IGNORECASE)


def grant(database: Path, email: str, role: str, unit: str | None = None) -> str:
    """`python -m etl access grant EMAIL ROLE [--unit UNIT]`, as an administrator would on the server."""
    command = [sys.executable, "-m", "etl", "--db", str(database), "access", "grant", email, role]
    if unit:
        command += ["--unit", unit]
    done = subprocess.run(command, cwd=ROOT, env=_clean_env() | {"AIMS_USER": "e2e set-up"}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(command[2:])} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return done.stdout


def nav_titles(page: Any) -> list[str]:
    """The titles of the pages the sidebar lists (unfolding 'View more' first)."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    if nav.count() == 0:
        return []
    more = nav.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and more.first.is_visible() and "more" in more.first.inner_text().lower():
        more.first.click()
        settle(page)
    spans = nav.locator('a[data-testid="stSidebarNavLink"] span[label]')
    return [str(spans.nth(i).get_attribute("label")) for i in range(spans.count())]


def sidebar_text(page: Any) -> str:
    bar = page.locator('[data-testid="stSidebar"]')
    return bar.inner_text() if bar.count() else ""


def main_text(page: Any) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


class Received:
    """Everything the dashboard's server sent to a tab over its websocket (tables and charts included, which
    the page's text does not show: a dataframe is drawn on a canvas)."""

    def __init__(self, tab: Tab) -> None:
        self.frames: list[bytes] = []
        tab.page.on("websocket", self._watch)

    def _watch(self, socket: Any) -> None:
        socket.on("framereceived", lambda payload: self.frames.append(
            payload if isinstance(payload, bytes) else str(payload).encode("utf-8")))

    def mark(self) -> int:
        return len(self.frames)

    def text(self, since: int = 0) -> str:
        """The frames since `since`, decoded, with markdown's backslash escapes and HTML entities undone."""
        return readable(b"\n".join(self.frames[since:]).decode("utf-8", errors="replace"))


def readable(text: str) -> str:
    import html

    return html.unescape(text.replace("\\", ""))
