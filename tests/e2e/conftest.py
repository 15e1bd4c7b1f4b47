"""The dashboard as a user runs it: `python -m streamlit run app.py` on the demo data, seen by headless Chromium.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package; without either the tests skip
and say how to enable them. Nothing may leave the machine: the browser aborts (and the test fails on)
any request to another host, and the server process gets a local trap as its HTTP(S) proxy, so any
attempt of its HTTP clients (requests, urllib, httpx) to reach the network is recorded and refused.
"""

from __future__ import annotations

import ast
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard.db import connect
from etl.demo import load_demo

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ENABLE = "To run it: `apt-get install chromium` (Debian's package, /usr/bin/chromium) and `pip install playwright`."
SERVER_START_SECONDS = 60


def app_pages() -> list[tuple[str, str]]:
    """(file, title) of every `st.Page(...)` that app.py registers, in order, read from its source."""
    pages = []
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                titles = [k.value.value for k in node.keywords if k.arg == "title" and isinstance(k.value, ast.Constant)]
                pages.append((first.value, str(titles[0]) if titles else Path(first.value).stem))
    return pages


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's build) driven by Playwright; skips when either is missing.

    Module-scoped, not session-scoped: Playwright's sync API runs one instance per thread at a time,
    so it must be stopped before another test module starts its own.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"browser test skipped: {CHROMIUM} not found. {ENABLE}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(f"browser test skipped: the playwright package is not installed. {ENABLE}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e") / "demo.duckdb"
    with connect(path) as con:
        results = load_demo(con, by="e2e")
    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]
    return path


class ProxyTrap(socketserver.ThreadingTCPServer):
    """A pretend HTTP(S) proxy on loopback that records each request line it gets and refuses it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _TrapHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _TrapHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, ProxyTrap)
        line = self.rfile.readline(4096).decode("latin-1").strip()
        self.server.requests.append(line or "(a connection without a request line)")
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture(scope="module")
def proxy_trap() -> Iterator[ProxyTrap]:
    trap = ProxyTrap()
    thread = threading.Thread(target=trap.serve_forever, name="proxy-trap", daemon=True)
    thread.start()
    try:
        yield trap
    finally:
        trap.shutdown()
        trap.server_close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class Server:
    url: str
    log: Path

    def output(self) -> str:
        """What the server printed so far (its tracebacks explain a failing page)."""
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def server(chromium: Any, demo_database: Path, proxy_trap: ProxyTrap,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The dashboard started as the README says (headless, on a free port) with the demo data."""
    port = _free_port()
    log = tmp_path_factory.mktemp("e2e-server") / "streamlit.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STREAMLIT_", "AIMS_")) and not k.lower().endswith("_proxy")}
    env.update({"AIMS_DB": str(demo_database), "AIMS_LOCK_WAIT_SECONDS": "10"})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = proxy_trap.url
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _healthy(f"{base}/_stcore/health"):
            if process.poll() is not None:
                pytest.fail(f"the dashboard exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not answer within {SERVER_START_SECONDS} s:\n"
                            f"{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield Server(base, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def settle(page: Any, *, quiet: float = 0.6, timeout: float = 30.0) -> None:
    """Wait until the script has run and Streamlit has stayed idle (no running-man widget) for `quiet` seconds."""
    page.wait_for_timeout(150)  # a click or a blur reaches the server before its rerun shows as running
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while time.monotonic() < deadline:
        app = page.locator('[data-testid="stApp"]')
        idle = (app.count() == 1 and app.get_attribute("data-test-script-state") == "notRunning"
                and app.get_attribute("data-test-connection-state") == "CONNECTED"
                and page.locator('[data-testid="stStatusWidget"]').filter(visible=True).count() == 0)
        now = time.monotonic()
        if not idle:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since >= quiet:
            return
        page.wait_for_timeout(100)
    app = page.locator('[data-testid="stApp"]')
    state = {name: app.get_attribute(name) for name in ("data-test-script-state", "data-test-connection-state")}
    shown = page.locator('[data-testid="stStatusWidget"]').filter(visible=True).all_inner_texts()
    raise AssertionError(f"the dashboard did not become idle within {timeout:.0f} s on {page.url}: {state}, "
                         f"status widget: {shown!r}")
