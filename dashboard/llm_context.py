"""How much text fits in one request: the model's context window, and the input budget that follows from it.

The context window comes from, first to last:

1. the setting `AIMS_LLM_CONTEXT_TOKENS` (a person who sets it knows best: llama-cpp-python's server, for one,
   does not say what `--n_ctx` it runs with);
2. the server, for an endpoint on this machine: `GET {AIMS_LLM_API_BASE}/models` where the entry says
   (`max_model_len` from vLLM, `context_length` / `max_context_length` from LM Studio and others,
   `meta.n_ctx` or `meta.n_ctx_train` from llama.cpp's `llama-server`, whose `/props` gives the `n_ctx` it runs with);
   llama-cpp-python's server does not say: its default `--n_ctx` (2,048) is assumed unless the setting says more;
3. litellm's model information (`max_input_tokens`) for the models it knows (gpt-4o-mini: 128,000);
4. otherwise `ASSUMED_TOKENS` (4,096), small enough for any server's default.

Characters are counted, not tokens (a tokenizer would need the model's files): `CHARS_PER_TOKEN` is a
conservative 3 for English text written as JSON lines. What the server says is read once per process.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["ASSUMED_TOKENS", "CHARS_PER_TOKEN", "Window", "input_chars", "server_entry", "window"]

log = logging.getLogger(__name__)
ASSUMED_TOKENS = 4096
CHARS_PER_TOKEN = 3.0
_MARGIN_TOKENS = 64  # chat template, role markers
_KEYS = ("max_model_len", "context_length", "max_context_length", "context_window", "n_ctx", "max_input_tokens")

# servers that do not say their context window, by what their `GET /models` says they are: their default
_SILENT_SERVERS = {"me": 2048}  # llama-cpp-python: --n_ctx 2048 unless started with another

_servers: dict[tuple[str, str], dict[str, Any]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Window:
    tokens: int
    source: str  # "setting", "server", "litellm" or "assumed"

    def describe(self) -> str:
        return f"context window {self.tokens:,} tokens ({self.source})"


def _get(url: str, api_key: str | None, timeout: float) -> Any:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as answer:
        return json.loads(answer.read(1_000_000) or b"{}")


def server_entry(api_base: str, model: str, api_key: str | None = None, *, timeout: float = 3.0) -> dict[str, Any]:
    """The server's `GET /models` entry for `model` (or its only entry), plus `n_ctx` from llama.cpp's `/props`;
    {} when the server does not answer. Asked once per process."""
    key = (api_base.rstrip("/"), model)
    with _lock:
        if key in _servers:
            return _servers[key]
    entry: dict[str, Any] = {}
    name = model.split("/", 1)[1] if "/" in model else model
    try:
        listed = _get(f"{key[0]}/models", api_key, timeout).get("data") or []
        entries = [e for e in listed if isinstance(e, dict)]
        entry = next((e for e in entries if e.get("id") == name), entries[0] if len(entries) == 1 else {})
        if str(entry.get("owned_by", "")).lower() == "llamacpp":  # llama-server: the n_ctx it was started with
            props = _get(f"{key[0].removesuffix('/v1')}/props", api_key, timeout)
            n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
            if isinstance(n_ctx, int):
                entry = {**entry, "n_ctx": n_ctx}
    except (OSError, ValueError, AttributeError) as exc:
        log.info("the server at %s did not describe its models: %s", key[0], exc)
    with _lock:
        _servers[key] = entry
    return entry


def _from_entry(entry: dict[str, Any]) -> int | None:
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    for where, name in [*((entry, k) for k in _KEYS), (meta, "n_ctx"), (meta, "n_ctx_train")]:
        value = where.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _from_litellm(litellm: Any, model: str) -> int | None:
    try:
        info = litellm.get_model_info(model)
    except Exception:  # not in litellm's model list
        return None
    value = info.get("max_input_tokens") or info.get("max_tokens")
    return int(value) if isinstance(value, int) and value > 0 else None


def window(setting: int, entry: dict[str, Any], litellm: Any, model: str) -> Window:
    """The context window, from the setting, the server's entry, litellm, or the assumption."""
    if setting > 0:
        return Window(setting, "setting")
    if (tokens := _from_entry(entry)) is not None:
        return Window(tokens, "server")
    if str(entry.get("owned_by", "")).lower() in _SILENT_SERVERS:
        return Window(_SILENT_SERVERS[str(entry["owned_by"]).lower()], "the server's default")
    if (tokens := _from_litellm(litellm, model)) is not None:
        return Window(tokens, "litellm")
    return Window(ASSUMED_TOKENS, "assumed")


def input_chars(context: Window, fixed_chars: int, reply_tokens: int, cap: int = 0) -> int:
    """Characters of free text that fit beside the fixed part of the prompt and the reply; `cap` (if set) bounds it."""
    tokens = context.tokens - reply_tokens - _MARGIN_TOKENS - int(fixed_chars / CHARS_PER_TOKEN)
    chars = max(int(tokens * CHARS_PER_TOKEN), 0)
    return min(chars, cap) if cap > 0 else chars


def forget(api_base: str | None = None) -> None:
    """Forget what servers said: every one, or the server at `api_base` (tests; a changed server)."""
    with _lock:
        for key in [k for k in _servers if api_base is None or k[0] == api_base.rstrip("/")]:
            del _servers[key]
