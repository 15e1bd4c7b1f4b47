"""Structured output: the JSON schema of a reply model, sent in the form the provider accepts.

Providers accept a schema in different forms; the first one tried is chosen from litellm's own capability
information and the server, the next is tried once if a provider refuses one, and the form that worked is
remembered per model (and endpoint) while the process runs:

* ``json_schema`` — ``{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}``: OpenAI and
  Azure OpenAI (strict structured outputs), Anthropic, Gemini, Mistral (litellm translates it), Ollama (litellm
  turns it into Ollama's ``format``), vLLM, LM Studio and llama.cpp's own ``llama-server``.
* ``json_object_schema`` — ``{"type": "json_object", "schema": {...}}``: llama-cpp-python's server, which refuses
  ``json_schema`` and turns this schema into a grammar that constrains decoding.
* ``json_object`` — ``{"type": "json_object"}``: JSON, but not our fields; the last resort.

A refusal is an answer 400, 422 or 500 whose text names ``response_format``, ``json_schema`` or ``schema``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["FORMS", "FormRefused", "forget", "forms_for", "is_refusal", "negotiate", "remember", "response_format",
           "schema_of"]

log = logging.getLogger(__name__)
FORMS = ("json_schema", "json_object_schema", "json_object")
# keywords strict structured outputs (OpenAI) reject; the other forms keep them as bounds on generation
_NOT_STRICT = frozenset({"maxLength", "minLength", "default", "title"})
_REFUSED_STATUS = frozenset({400, 422, 500})
_REFUSAL_WORDS = ("response_format", "json_schema", "schema", "grammar")
# providers whose litellm route accepts a json_schema even when the model is not in litellm's price list
_SCHEMA_PROVIDERS = frozenset({"openai", "azure", "azure_ai", "anthropic", "gemini", "vertex_ai", "mistral", "ollama",
                               "ollama_chat", "hosted_vllm", "vllm", "lm_studio", "fireworks_ai", "databricks",
                               "openrouter", "groq", "deepseek", "together_ai", "bedrock", "xai", "cerebras"})
# what `GET {api_base}/models` says the server is (owned_by), where it says so
_LLAMA_CPP_PYTHON = frozenset({"me", "llama-cpp-python"})

R = TypeVar("R")


class FormRefused(Exception):
    """The provider refused the structured-output form asked for (`is_refusal`)."""


_worked: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _closed(node: Any, strict: bool) -> Any:
    """Every object closed (no extra properties) with every property required: strict mode demands it, and a
    grammar built from the schema then always writes every field (citations included)."""
    if isinstance(node, dict):
        node = {k: _closed(v, strict) for k, v in node.items() if not (strict and k in _NOT_STRICT)}
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
        return node
    if isinstance(node, list):
        return [_closed(v, strict) for v in node]
    return node


def schema_of(model: type[BaseModel], *, strict: bool = False) -> dict[str, Any]:
    """The reply model's JSON schema, references inlined (some servers' grammar builders do not follow them)."""
    raw = model.model_json_schema()
    return _closed(_inline(copy.deepcopy(raw), raw.get("$defs", {})), strict)


def response_format(form: str, model: type[BaseModel]) -> dict[str, Any]:
    """The `response_format` argument for `form`."""
    if form == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": model.__name__.split("_")[0], "schema": schema_of(model, strict=True),
                                "strict": True}}
    if form == "json_object_schema":
        return {"type": "json_object", "schema": schema_of(model)}
    if form == "json_object":
        return {"type": "json_object"}
    raise ValueError(f"unknown form {form!r}")


def _key(model: str, api_base: str) -> tuple[str, str]:
    return model, api_base.rstrip("/")


def remember(model: str, api_base: str, form: str) -> None:
    with _lock:
        _worked[_key(model, api_base)] = form


def forget(api_base: str | None = None) -> None:
    """Forget the remembered forms: every one, or those of the server at `api_base` (tests; a changed server)."""
    with _lock:
        for key in [k for k in _worked if api_base is None or k[1] == api_base.rstrip("/")]:
            del _worked[key]


def _litellm_says(litellm: Any, model: str) -> tuple[bool, bool]:
    """(response_format supported at all, a json schema known to be supported), from litellm's model data."""
    try:
        params = litellm.get_supported_openai_params(model=model) or []
    except Exception:  # an unknown provider: litellm does not know, so try
        params = ["response_format"]
    try:
        schema = bool(litellm.supports_response_schema(model=model))
    except Exception:
        schema = False
    return "response_format" in params, schema


def forms_for(litellm: Any, model: str, api_base: str = "", server: dict[str, Any] | None = None) -> tuple[str, ...]:
    """The forms to try for `model`, best first: the remembered one if any, else from litellm's capability
    information and what the server said about itself (`server`, one entry of `GET /models`)."""
    with _lock:
        known = _worked.get(_key(model, api_base))
    if known:
        return FORMS[FORMS.index(known):]
    accepts_format, knows_schema = _litellm_says(litellm, model)
    if not accepts_format:
        return ("json_object",)  # dropped by litellm (drop_params) if the provider takes no response_format
    provider = model.split("/", 1)[0].lower() if "/" in model else "openai"
    owned_by = str((server or {}).get("owned_by", "")).lower()
    if owned_by in _LLAMA_CPP_PYTHON:
        return FORMS[1:]
    if knows_schema or provider in _SCHEMA_PROVIDERS:
        return FORMS
    return FORMS[1:]


def error_text(exc: BaseException) -> str:
    """An error's message with the body the server sent (litellm's message may hold only the status code)."""
    parts = [str(exc), str(getattr(exc, "body", "") or "")]
    response = getattr(exc, "response", None)
    with contextlib.suppress(Exception):  # a response that was never read, or has no text
        parts.append(str(response.text) if response is not None else "")
    return " ".join(parts)


def is_refusal(status: int | None, message: str) -> bool:
    """Whether an error answer refuses the structured-output form (rather than failing for another reason)."""
    text = message.lower()
    return status in _REFUSED_STATUS and any(word in text for word in _REFUSAL_WORDS)


def negotiate(forms: tuple[str, ...], model: type[BaseModel], send: Callable[[dict[str, Any]], R], *,
              key: tuple[str, str], on_fallback: Callable[[str], None]) -> R:
    """`send(response_format)` in the first form; when one is refused (`FormRefused`), once in the next; the form
    that was accepted is remembered for `key` (model, endpoint) and set on the reply. Each form is tried once."""
    for position, form in enumerate(forms):
        try:
            reply = send(response_format(form, model))
        except FormRefused:
            if position == len(forms) - 1:
                raise
            on_fallback(f"The server refused {describe(form)}; trying {describe(forms[position + 1])}…")
            log.info("%s refused %s; falling back to %s", key[0], form, forms[position + 1])
            continue
        remember(*key, form)
        return replace(reply, form=form)  # type: ignore[type-var]
    raise FormRefused("no form to try")


def describe(form: str) -> str:
    return {"json_schema": "JSON schema (json_schema, strict)", "json_object_schema": "JSON object with schema",
            "json_object": "JSON object (no schema)"}.get(form, form)


def preview(form: str, model: type[BaseModel]) -> str:
    """The response_format as JSON text (for logs and the settings page)."""
    return json.dumps(response_format(form, model))
