"""A throwaway PostgreSQL server for the tests (and the benchmarks): Debian's binaries, a temporary data folder,
a free loopback port, trust authentication on 127.0.0.1 only, stopped and deleted at the end.

`initdb` refuses to run as root, so as root every server command runs as the `postgres` user (`runuser`), in a
folder that user owns. `unavailable()` says in one sentence why a server cannot be started here (no binaries,
root without a `postgres` user, no driver), or returns None.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PgServer", "bin_dir", "unavailable"]

_COUNTER = itertools.count(1)


def bin_dir() -> Path | None:
    """Debian's newest PostgreSQL binaries (`/usr/lib/postgresql/N/bin`), else those on PATH, else None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def unavailable() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver psycopg is not installed (pip install -r requirements.txt)"
    if bin_dir() is None:
        return "PostgreSQL's server binaries (initdb, pg_ctl) are not installed (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing, so initdb cannot run as the postgres user"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """`with PgServer() as server: url = server.new_database()`: a running server, gone after the block."""

    def __init__(self) -> None:
        reason = unavailable()
        if reason:
            raise RuntimeError(f"cannot start PostgreSQL: {reason}")
        self.bin = bin_dir()
        self.port = 0
        self.root = Path(tempfile.mkdtemp(prefix="aims-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"

    def _cmd(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_run_as(), *args], capture_output=True, text=True, check=check, timeout=timeout,
                              cwd=self.root, env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})

    def start(self) -> PgServer:
        self.sockets.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._cmd(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-sync")
        for attempt in range(5):
            self.port = _free_port()
            options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            done = self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                             "-o", options, "-w", "-t", "60", "start", check=False)
            if done.returncode == 0:
                return self
            log = (self.root / "server.log").read_text(errors="replace")
            if "already in use" not in log or attempt == 4:
                raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{log[-2000:]}")
            time.sleep(0.2)
        return self

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`, a database name), as a postgresql:// URL."""
        import psycopg

        name = f"aims_{os.getpid()}_{next(_COUNTER)}"
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        """Delete a database `new_database` made (its connections ended first), to keep the data folder small."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.data.exists():
            self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
