"""A streamed model call that reports progress and can be cancelled.

The request runs in a worker thread; the calling thread waits on it in short steps, so that it can report
progress (`Progress`: the stage, the tokens received so far, the seconds spent) even while the model is still
reading the prompt, stop at the attempt's deadline, and stop when `cancel()` says so — or when the progress
callback raises, which is how a Streamlit page is interrupted by a click on *Cancel*. Stopping closes the
connection, and a server that notices (llama-cpp-python, llama.cpp, vLLM, Ollama do) stops generating.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Cancelled", "Interrupted", "Progress", "stream_text"]

_TICK = 0.25  # seconds between progress reports while waiting


class Cancelled(Exception):
    """The person (or the caller) cancelled the request; nothing is shown or saved."""


class Interrupted(BaseException):
    """The caller's progress callback raised `original` (a Streamlit page is rerun this way): passed on as it is,
    never taken for a failure of the model and retried."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


@dataclass(frozen=True)
class Progress:
    stage: str  # "waiting" (the model reads the prompt), "receiving", "retry", "fallback", "done"
    tokens: int = 0
    seconds: float = 0.0
    note: str = ""

    def describe(self) -> str:
        if self.stage == "waiting":
            return f"Waiting for the model to read the request… {self.seconds:.0f} s"
        if self.stage == "receiving":
            return f"Receiving the reply: {self.tokens} tokens in {self.seconds:.0f} s"
        if self.stage == "done":
            return f"Reply complete: {self.tokens} tokens in {self.seconds:.1f} s"
        return self.note


class _Worker(threading.Thread):
    def __init__(self, start_stream: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.start_stream, self.out = start_stream, queue.Queue[tuple[str, Any]]()
        self.stream: Any = None
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            self.stream = self.start_stream()
            if self.stopped.is_set():
                return self.stop()
            for chunk in self.stream:
                if self.stopped.is_set():
                    return self.stop()
                choices = getattr(chunk, "choices", None) or []
                delta = getattr(choices[0], "delta", None) if choices else None
                text = getattr(delta, "content", None) if delta is not None else None
                if text:
                    self.out.put(("text", text))
            self.out.put(("end", None))
        except BaseException as exc:  # handed to the calling thread, which decides
            self.out.put(("error", exc))
        return None

    def stop(self) -> None:
        self.stopped.set()
        stream = self.stream
        if stream is not None:
            with contextlib.suppress(Exception):  # closing an aborted connection may fail; nothing more to do
                stream.close()


def _report(on_progress: Callable[[Progress], None], progress: Progress) -> None:
    try:
        on_progress(progress)
    except BaseException as exc:
        raise Interrupted(exc) from exc


def stream_text(start_stream: Callable[[], Any], *, timeout: float, on_progress: Callable[[Progress], None] | None,
                cancel: Callable[[], bool] | None) -> str:
    """The text of a streamed reply. Raises `Cancelled`, `TimeoutError`, or what the request raised."""
    started = time.monotonic()
    worker = _Worker(start_stream)
    worker.start()
    parts: list[str] = []
    last = 0.0
    try:
        while True:
            elapsed = time.monotonic() - started
            if cancel is not None and cancel():
                raise Cancelled("Cancelled: nothing was saved.")
            if elapsed > timeout:
                raise TimeoutError(f"no complete reply within {timeout:.0f} s ({len(parts)} tokens received)")
            try:
                kind, value = worker.out.get(timeout=_TICK)
            except queue.Empty:
                kind, value = "tick", None
            if kind == "error":
                raise value
            if kind == "end":
                if on_progress:
                    _report(on_progress, Progress("done", len(parts), time.monotonic() - started))
                return "".join(parts)
            if kind == "text":
                parts.append(value)
            now = time.monotonic()
            if on_progress and now - last >= _TICK:
                last = now
                _report(on_progress, Progress("receiving" if parts else "waiting", len(parts), now - started))
    finally:
        if worker.is_alive():
            worker.stop()
