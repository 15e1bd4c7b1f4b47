"""nginx in front of two dashboard processes, as the README's deployment section runs it: `deploy/nginx.conf` with
its three loopback ports (8080 the proxy, 8501 and 8502 the processes) replaced by free ones, started in a folder of
its own (`nginx -p DIR -c nginx.conf`, in the foreground, so the test holds its process and stops it), never the
system's configuration.

`route_to(proxy, upstream)` finds a value of the proxy's route cookie that the proxy sends to a given process (it
answers which process served a request in `X-AIMS-Upstream`), so a test can pin a browser to one process.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT
from tests.processes import stop_process

NGINX = Path("/usr/sbin/nginx")
CONFIG = ROOT / "deploy" / "nginx.conf"
ROUTE_COOKIE = "aims_route"
START_SECONDS = 30


@dataclass(frozen=True)
class Proxy:
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def access_log(self) -> str:
        path = self.folder / "access.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def output(self) -> str:
        path = self.folder / "nginx.out"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def config_text(proxy_port: int, upstream_ports: tuple[int, int]) -> str:
    """deploy/nginx.conf with its ports replaced; refuses a config whose ports are not where the README says."""
    text = CONFIG.read_text(encoding="utf-8")
    replacements = {"127.0.0.1:8080;": f"127.0.0.1:{proxy_port};", "127.0.0.1:8501;": f"127.0.0.1:{upstream_ports[0]};",
                    "127.0.0.1:8502;": f"127.0.0.1:{upstream_ports[1]};"}
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{CONFIG} should name {old} once"
        text = text.replace(old, new)
    return text


def _upstream_of(url: str, route: str | None = None) -> str | None:
    """Which process answered `url` through the proxy (its X-AIMS-Upstream header), or None if nothing answered."""
    request = urllib.request.Request(url, headers={"Cookie": f"{ROUTE_COOKIE}={route}"} if route else {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    try:
        with opener.open(request, timeout=5) as response:
            return response.headers.get("X-AIMS-Upstream") if response.status == 200 else None
    except (urllib.error.URLError, OSError):
        return None


@contextmanager
def nginx(folder: Path, proxy_port: int, upstream_ports: tuple[int, int]) -> Iterator[Proxy]:
    """nginx with the README's configuration on these ports, in `folder`; stopped (by its handle) after."""
    if not NGINX.exists():
        pytest.skip(f"reverse-proxy test skipped: {NGINX} not found (Debian: apt-get install nginx)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nginx.conf").write_text(config_text(proxy_port, upstream_ports), encoding="utf-8")
    found = Proxy(proxy_port, folder)
    with (folder / "nginx.out").open("wb") as output:
        process = subprocess.Popen([str(NGINX), "-p", str(folder), "-c", "nginx.conf", "-e", "stderr",
                                    "-g", "daemon off;"], cwd=folder, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_SECONDS
        while _upstream_of(f"{found.url}/_stcore/health") is None:
            if process.poll() is not None:
                pytest.fail(f"nginx exited with {process.returncode}:\n{found.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"nginx did not answer within {START_SECONDS} s:\n{found.output()}")
            time.sleep(0.2)
        yield found
    finally:
        stop_process(process)


def route_to(proxy: Proxy, upstream_port: int, tries: int = 64) -> str:
    """A route cookie value that the proxy sends to the process on `upstream_port` (asked, not computed)."""
    wanted = f"127.0.0.1:{upstream_port}"
    for n in range(tries):
        route = f"route-{n}"
        if _upstream_of(f"{proxy.url}/_stcore/health", route) == wanted:
            return route
    raise AssertionError(f"none of {tries} route cookies reached {wanted} through the proxy:\n{proxy.access_log()}")


WEBSOCKET_LINE = re.compile(r'"GET /_stcore/stream HTTP/1\.1" 101 upstream=(?P<upstream>\S+)')


def websocket_upstreams(proxy: Proxy, wait: float = 15.0, expected: int = 2) -> set[str]:
    """The processes that accepted a websocket through the proxy (status 101 in its access log, written when the
    socket closes); waits up to `wait` seconds for `expected` of them."""
    deadline = time.monotonic() + wait
    while True:
        found = {m.group("upstream") for m in WEBSOCKET_LINE.finditer(proxy.access_log())}
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
