"""Processes of this program take turns on a DuckDB file, in the order they asked, and say that they wait.

DuckDB lets one process at a time open a file and refuses the others at once ("Could not set lock"). Retrying
(polling) serves a waiting process by luck, not in turn, so one can starve past AIMS_LOCK_WAIT_SECONDS; worse,
DuckDB 2.0 reads the file's header *before* it takes its lock (open read-only, read the header, close; then open
for writing and lock), so a process retrying while another closes and checkpoints the file can take the lock
with the header of before that checkpoint: "Could not read enough bytes", or a corrupted file once it writes
(`benchmarks/handover_race.py` shows both). Our processes therefore queue on a kernel lock of their own,
`<file>.turn`: a blocking `flock`, taken before `duckdb.connect` and given back after this process's last
connection to the file is closed (and checkpointed), so none of our processes opens the file while another of
ours has it. The kernel wakes the waiters in the order they asked (`tests/dashboard/test_turns.py`). The wait
stays bounded: the blocking lock is taken by a helper thread, and a waiter that gives up leaves that thread to
give the turn straight back when it comes.

While a process waits it holds a shared lock on `<file>.waiting` (`Waiting`); a process holding the file
open, idle (`db._Lingering`), closes it as soon as it sees that lock taken, instead of lingering.

Programs that are not ours (the DuckDB command line) do not take turns; `db.py` keeps retrying for them.
Windows has no `fcntl`: there, and in a folder where the files cannot be made, turns are skipped (retrying only).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["TURNS", "Turns", "Waiting"]


class Waiting:
    """Processes waiting for the file say so with a shared lock on `<file>.waiting`."""

    @staticmethod
    @contextmanager
    def announce(path: str) -> Iterator[None]:
        try:
            if fcntl is None:
                raise OSError("no file locks here")
            handle = open(path + ".waiting", "a+b")  # noqa: SIM115 (held for the whole wait)
        except OSError:  # a read-only folder: wait without announcing it
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_SH)
            yield
        finally:
            handle.close()  # releases the lock

    @staticmethod
    def anyone(path: str) -> bool:
        """Whether another process is waiting for the file now."""
        if fcntl is None:
            return False
        try:
            with open(path + ".waiting", "rb") as handle:  # made by the first process that waited
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle, fcntl.LOCK_UN)
                return False
        except OSError:
            return False


class TurnTimeout(Exception):
    """The turn did not come before the deadline; `holder` is the process that had it, if known."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class Turns:
    """This process's turns, per file: taken once per process (threads share it), given back at the last `give`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, list] = {}  # path -> [handle, count]
        self._gates: dict[str, threading.Lock] = {}  # one thread of this process queues in the kernel per file

    def take(self, path: str, deadline: float, on_wait: Callable[[str], None]) -> bool:
        """Wait for this process's turn on `path` until `deadline` (time.monotonic); True once it is ours, False
        when turns are not available here (no fcntl, the folder read-only). TurnTimeout when the deadline passed;
        `on_wait(holder)` is called once if the turn is not free at once."""
        if fcntl is None:
            return False
        with self._lock:
            if path in self._held:
                self._held[path][1] += 1
                return True
            gate = self._gates.setdefault(path, threading.Lock())
        if not gate.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise TurnTimeout("another session of this process")
        try:
            with self._lock:  # another thread may have taken it while this one waited at the gate
                if path in self._held:
                    self._held[path][1] += 1
                    return True
            try:
                handle = os.fdopen(os.open(path + ".turn", os.O_RDWR | os.O_CREAT, 0o666), "r+b")  # not appending
            except OSError:
                return False
            try:
                taken = _lock_until(handle, path, deadline, on_wait)
            except OSError:
                handle.close()
                return False
            if not taken:
                raise TurnTimeout(_holder(handle))  # the helper thread owns the handle now
            os.pwrite(handle.fileno(), f"{os.getpid():<12}\n".encode(), 0)  # who has it, for a waiter's message
            with self._lock:
                self._held[path] = [handle, 1]
            return True
        finally:
            gate.release()

    def give(self, path: str) -> None:
        with self._lock:
            held = self._held.get(path)
            if held is None:
                return
            held[1] -= 1
            if held[1] > 0:
                return
            del self._held[path]
        held[0].close()  # releases the flock: the next process in the queue gets its turn

    def holds(self, path: str) -> bool:
        with self._lock:
            return path in self._held


def _holder(handle: IO[bytes]) -> str:
    try:
        handle.seek(0)
        pid = handle.read(32).decode(errors="replace").strip()
    except (OSError, ValueError):
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def _lock_until(handle: IO[bytes], path: str, deadline: float, on_wait: Callable[[str], None]) -> bool:
    """Lock `handle` exclusively before `deadline`: at once if free, else in the kernel's queue, announced on
    `<file>.waiting`. False (and the handle left to a helper thread, which closes it) when the deadline passed."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    on_wait(_holder(handle))
    got, guard, abandoned, failed = threading.Event(), threading.Lock(), [], []

    def queue() -> None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)  # blocks in the kernel's queue, without the GIL
        except OSError as exc:
            failed.append(exc)
        with guard:
            if abandoned:  # the waiter gave up meanwhile: give the turn straight back
                handle.close()
                return
            got.set()

    with Waiting.announce(path):
        threading.Thread(target=queue, name=f"turn {path}", daemon=True).start()
        if got.wait(max(0.0, deadline - time.monotonic())):
            return _taken(handle, failed)
        with guard:
            if got.is_set():
                return _taken(handle, failed)
            abandoned.append(True)
    return False


def _taken(handle: IO[bytes], failed: list[OSError]) -> bool:
    if failed:  # the kernel refused the lock itself (not a wait): no turns here
        handle.close()
        raise failed[0]
    return True


TURNS = Turns()
