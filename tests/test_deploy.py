"""The reverse-proxy configuration the README shows is the one the browser test runs (`deploy/nginx.conf`), and nginx
accepts it (where /usr/sbin/nginx is installed; skipped, saying so, elsewhere). tests/e2e/test_replicas.py runs it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.proxy import CONFIG, NGINX, config_text

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_quotes_the_configuration_word_for_word() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```nginx\n(.*?)```", readme, re.DOTALL)
    assert CONFIG.read_text(encoding="utf-8") in blocks, "README's nginx block differs from deploy/nginx.conf"
    # the ports the README's commands start the processes on are the configuration's
    for port in ("8501", "8502"):
        assert f"--server.port {port}" in readme and f"127.0.0.1:{port};" in CONFIG.read_text(encoding="utf-8")
    assert 'redirect_uri = "http://localhost:8080/oauth2callback"' in readme


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    if not NGINX.exists():
        pytest.skip(f"nginx check skipped: {NGINX} not found (Debian: apt-get install nginx)")
    (tmp_path / "nginx.conf").write_text(config_text(18080, (18501, 18502)), encoding="utf-8")
    done = subprocess.run([str(NGINX), "-t", "-p", str(tmp_path), "-c", "nginx.conf", "-e", "stderr"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    broken = config_text(18080, (18501, 18502)).replace("hash $aims_route consistent;", "hash $aims_route sticky;")
    (tmp_path / "nginx.conf").write_text(broken, encoding="utf-8")  # the check can fail: a wrong directive is named
    refused = subprocess.run([str(NGINX), "-t", "-p", str(tmp_path), "-c", "nginx.conf", "-e", "stderr"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0
