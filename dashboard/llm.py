"""The one door to a language model: litellm, imported only when a model is used.

Everything that talks to a model goes through `complete` / `complete_json`, which

* refuse when no model is configured, when a provider outside this machine is forbidden
  (`AIMS_LLM_ALLOW_REMOTE=false`), or when it has not been confirmed for this session (`NeedsConfirmation`
  carries the redacted messages to show the person first);
* redact personal data from every message (unless `AIMS_LLM_REDACT=false`) and restore it in the answer;
* wait at most `timeout` seconds per attempt and retry a bounded number of times on timeouts, 429 and 5xx;
* raise `LLMError` with a message a person can act on, never with the key in it.

Replies in a JSON shape (`complete_json` with a Pydantic `reply_model`) are asked for with the model's JSON schema,
in the form the provider accepts (`llm_forms`); a streamed call reports progress and can be cancelled
(`llm_stream`); the input budget follows the model's context window (`context`, from `llm_context`).

Importing this module does not import litellm (it takes seconds, and would slow every page); `_litellm`
does, after setting `LITELLM_LOCAL_MODEL_COST_MAP=True` so that the import does not fetch a price list.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel

from dashboard import llm_context, llm_forms, settings
from dashboard.llm_context import Window
from dashboard.llm_stream import Cancelled, Interrupted, Progress, stream_text
from dashboard.redact import Redactor

__all__ = [
    "CONFIRMED_KEY",
    "OFFLINE_KEY",
    "Cancelled",
    "LLMConfig",
    "LLMError",
    "MalformedReply",
    "Message",
    "NeedsConfirmation",
    "Progress",
    "RemoteForbidden",
    "Reply",
    "as_text",
    "complete",
    "complete_json",
    "context",
    "key_status",
    "load_config",
    "preview",
    "session_config",
    "test_connection",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
Message = dict[str, str]

# providers whose default endpoint is this machine
_LOCAL_PROVIDERS = frozenset({"ollama", "ollama_chat", "llamafile", "lm_studio"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# the usual variables litellm reads for a provider's key (shown on the settings page: present or not)
KEY_VARIABLES: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY",),
}


class LLMError(RuntimeError):
    """The model could not give an answer; the message says why and what to do."""


class RemoteForbidden(LLMError):
    """The configured provider is outside this machine and AIMS_LLM_ALLOW_REMOTE is false."""


class MalformedReply(LLMError):
    """The model answered twice, but not in the JSON shape asked for."""


class NeedsConfirmation(LLMError):
    """A provider outside this machine, not yet confirmed in this session: show `messages`, then ask."""

    def __init__(self, config: LLMConfig, messages: list[Message]) -> None:
        super().__init__(f"{config.model} runs outside this machine: confirm before anything is sent to it.")
        self.messages = messages


@dataclass(frozen=True)
class LLMConfig:
    """What model to use and how; `api_key` is never shown (repr) nor compared."""

    model: str = ""
    api_base: str = ""
    timeout: float = 60.0
    retries: int = 1
    redact: bool = True
    allow_remote: bool = True
    max_input_chars: int = 0  # an upper bound on the free text of one request, if set; else the context decides
    context_tokens: int = 0  # the model's context window if set; else asked of the server or litellm
    remote_confirmed: bool = False
    backoff: float = 1.0
    api_key: str | None = field(default=None, repr=False, compare=False)

    @property
    def enabled(self) -> bool:
        return bool(self.model)

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0].lower() if "/" in self.model else "openai"

    @property
    def is_local(self) -> bool:
        """True for an endpoint on this machine (127.0.0.1, localhost, ::1) or ollama/ without an endpoint."""
        if not self.api_base:
            return self.provider in _LOCAL_PROVIDERS
        host = (urlparse(self.api_base if "//" in self.api_base else f"//{self.api_base}").hostname or "").lower()
        if host in _LOCAL_HOSTS:
            return True
        try:
            return ipaddress.ip_address(host) == ipaddress.ip_address("::1")
        except ValueError:
            return False

    def describe(self) -> str:
        if not self.enabled:
            return "no model (offline)"
        where = self.api_base or "the provider's endpoint"
        return f"{self.model} at {where} ({'this machine' if self.is_local else 'outside this machine'})"


def _flag(name: str) -> bool:
    return settings.get(name).strip().lower() not in {"0", "false", "no", "off"}


def load_config(*, remote_confirmed: bool = False) -> LLMConfig:
    """The configuration from the settings (environment; Streamlit puts top-level secrets there too)."""
    try:
        timeout, retries = float(settings.get("AIMS_LLM_TIMEOUT")), int(settings.get("AIMS_LLM_RETRIES"))
        max_chars = int(settings.get("AIMS_LLM_MAX_INPUT_CHARS") or 0)
        context_tokens = int(settings.get("AIMS_LLM_CONTEXT_TOKENS") or 0)
    except ValueError as exc:
        raise LLMError(f"An AIMS_LLM_ setting is not a number: {exc}") from exc
    return LLMConfig(
        model=settings.get("AIMS_LLM_MODEL").strip(), api_base=settings.get("AIMS_LLM_API_BASE").strip(),
        timeout=max(timeout, 0.1), retries=max(0, min(retries, 5)), redact=_flag("AIMS_LLM_REDACT"),
        allow_remote=_flag("AIMS_LLM_ALLOW_REMOTE"), max_input_chars=max(max_chars, 1000) if max_chars else 0,
        context_tokens=max(context_tokens, 0),
        remote_confirmed=remote_confirmed, api_key=settings.get("AIMS_LLM_API_KEY") or None,
    )


# per browser session (the pages keep these in st.session_state): remote use confirmed, or offline chosen
CONFIRMED_KEY, OFFLINE_KEY = "llm_remote_ok", "llm_offline"


def session_config(session: Mapping[str, Any]) -> LLMConfig:
    """The configuration for one browser session: offline if the person chose so, confirmed if they did."""
    if session.get(OFFLINE_KEY):
        return LLMConfig()
    return load_config(remote_confirmed=bool(session.get(CONFIRMED_KEY)))


def as_text(messages: Sequence[Message]) -> str:
    """Messages as plain text, for showing a person what would be sent."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


def key_status(config: LLMConfig) -> str:
    """Whether a key is available (never the key itself)."""
    if config.api_key:
        return "AIMS_LLM_API_KEY is set."
    names = KEY_VARIABLES.get(config.provider, ())
    present = [n for n in names if os.environ.get(n)]
    if present:
        return f"{present[0]} is set."
    if config.is_local:
        return "No key set; a server on this machine usually needs none."
    if names:
        return f"No key found: set {' or '.join(names)} (environment or Streamlit secrets)."
    return f"No key variable known for '{config.provider}': see litellm's documentation for that provider."


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    attempts: int
    form: str = ""  # the structured-output form that was accepted (llm_forms.FORMS), if one was asked for
    seconds: float = 0.0


def _litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before the import: no price list from the network
    # litellm's own streaming types make Pydantic warn the first time a stream is read: noise for the person
    warnings.filterwarnings("ignore", message=".*is using the `ReadOnly` qualifier", category=UserWarning)
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def _scrub(text: str, config: LLMConfig) -> str:
    """An error text without the key in it, on one line, not too long."""
    for secret in {config.api_key, *(os.environ.get(n) for n in KEY_VARIABLES.get(config.provider, ()))}:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "…"


def _check_allowed(config: LLMConfig, messages: list[Message]) -> None:
    if not config.enabled:
        raise LLMError("No model is configured (AIMS_LLM_MODEL is empty).")
    if not config.is_local and not config.allow_remote:
        raise RemoteForbidden(
            f"{config.model} runs outside this machine and AIMS_LLM_ALLOW_REMOTE is false: nothing was sent."
        )
    if not config.is_local and not config.remote_confirmed:
        raise NeedsConfirmation(config, messages)


def _redacted(config: LLMConfig, messages: Sequence[Message]) -> tuple[Redactor | None, list[Message]]:
    """The messages as they are sent (redacted when redaction is on), and the redactor that can restore them."""
    redactor = Redactor() if config.redact else None
    return redactor, [{"role": m["role"], "content": redactor.redact(m["content"]) if redactor else m["content"]}
                      for m in messages]


def preview(config: LLMConfig, messages: Sequence[Message]) -> list[Message]:
    """The messages exactly as they would be sent (redacted when redaction is on)."""
    return _redacted(config, messages)[1]


@dataclass(frozen=True)
class _Listen:
    """How a caller follows a call: retry notes, progress (a streamed call), cancellation."""

    on_retry: Callable[[str], None] | None = None
    on_progress: Callable[[Progress], None] | None = None
    cancel: Callable[[], bool] | None = None

    @property
    def streams(self) -> bool:
        return self.on_progress is not None or self.cancel is not None

    def note(self, stage: str, text: str) -> None:
        if self.on_retry:
            self.on_retry(text)
        if self.on_progress:
            self.on_progress(Progress(stage, note=text))


def _call(litellm: ModuleType, config: LLMConfig, kwargs: dict[str, Any], listen: _Listen) -> str:
    if not listen.streams:
        response = litellm.completion(**kwargs)
        return response.choices[0].message.content or ""
    try:
        return stream_text(lambda: litellm.completion(**kwargs, stream=True), timeout=config.timeout,
                           on_progress=listen.on_progress, cancel=listen.cancel)
    except TimeoutError as exc:  # the whole attempt took too long: like a timeout of the request itself
        raise litellm.Timeout(message=str(exc), model=config.model, llm_provider=config.provider) from None


def _send(config: LLMConfig, sent: list[Message], response_format: dict[str, Any] | None, listen: _Listen,
          max_tokens: int = 0) -> Reply:
    litellm = _litellm()
    retryable = (litellm.Timeout, litellm.RateLimitError, litellm.InternalServerError, litellm.ServiceUnavailableError,
                 litellm.BadGatewayError, litellm.APIConnectionError)
    kwargs: dict[str, Any] = {"model": config.model, "messages": sent, "timeout": config.timeout, "num_retries": 0,
                              "drop_params": True}
    if config.api_base:
        kwargs["api_base"] = config.api_base
    if config.api_key:
        kwargs["api_key"] = config.api_key
    elif config.is_local and config.provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
        kwargs["api_key"] = "no-key"  # local OpenAI-protocol servers ignore the key, but the client wants one
    if response_format:
        kwargs["response_format"] = response_format
    if max_tokens:
        kwargs["max_tokens"] = max_tokens
    attempts = 1 + config.retries
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        try:
            text = _call(litellm, config, kwargs, listen)
            return Reply(text=text, model=config.model, attempts=attempt, seconds=time.monotonic() - started)
        except Cancelled:
            raise
        except Interrupted as stop:  # the caller's own progress callback raised: its exception, untouched
            raise stop.original from None
        except Exception as exc:
            reason = _scrub(f"{type(exc).__name__}: {exc}", config)
            log.warning("model call failed (attempt %d of %d): %s", attempt, attempts, reason)
            if response_format and llm_forms.is_refusal(getattr(exc, "status_code", None),
                                                                llm_forms.error_text(exc)):
                raise llm_forms.FormRefused(f"The model {config.model} refused the reply format: {reason}") from None
            if not isinstance(exc, retryable):  # litellm maps provider errors to its own classes; these are final
                hint = " Check the key." if isinstance(exc, litellm.AuthenticationError) else ""
                raise LLMError(f"The model {config.model} refused the request: {reason}.{hint}") from None
            if "missing credentials" in reason.lower():  # the client found no key: retrying will not help
                raise LLMError(f"No key for {config.model}. {key_status(config)}") from None
            if attempt == attempts:
                what = "did not answer in time" if isinstance(exc, litellm.Timeout) else "failed"
                raise LLMError(f"The model {config.model} {what} after {attempts} attempt(s): {reason}") from None
            listen.note("retry", f"Attempt {attempt} failed ({type(exc).__name__}); trying again…")
            time.sleep(min(config.backoff * 2 ** (attempt - 1), 8.0))
    raise AssertionError("unreachable")


def context(config: LLMConfig) -> Window:
    """The model's context window (setting, server, litellm, or assumed): see `llm_context`."""
    if config.context_tokens:
        return Window(config.context_tokens, "setting")
    if not config.enabled:
        return Window(llm_context.ASSUMED_TOKENS, "assumed")
    entry = llm_context.server_entry(config.api_base, config.model, config.api_key) if (
        config.api_base and config.is_local) else {}
    return llm_context.window(0, entry, _litellm(), config.model)


def _send_structured(config: LLMConfig, sent: list[Message], reply_model: type[BaseModel] | None, listen: _Listen,
                     max_tokens: int) -> Reply:
    """Send with the reply model's schema in the form the provider takes (see `llm_forms.negotiate`)."""
    if reply_model is None:
        return _send(config, sent, {"type": "json_object"}, listen, max_tokens)
    entry = llm_context.server_entry(config.api_base, config.model, config.api_key) if (
        config.api_base and config.is_local) else {}
    try:
        return llm_forms.negotiate(
            llm_forms.forms_for(_litellm(), config.model, config.api_base, entry), reply_model,
            lambda response_format: _send(config, sent, response_format, listen, max_tokens),
            key=(config.model, config.api_base), on_fallback=lambda text: listen.note("fallback", text))
    except llm_forms.FormRefused as exc:
        raise LLMError(f"{exc} No reply format is left to try.") from None


def complete(
    config: LLMConfig, messages: Sequence[Message], *, json_mode: bool = False,
    on_retry: Callable[[str], None] | None = None, on_progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Reply:
    """The model's answer to `messages`, with redacted data restored in it."""
    redactor, sent = _redacted(config, messages)
    _check_allowed(config, sent)
    reply = _send(config, sent, {"type": "json_object"} if json_mode else None, _Listen(on_retry, on_progress, cancel))
    return replace(reply, text=redactor.restore(reply.text)) if redactor else reply


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


def _loads(text: str) -> Any:
    """The JSON object in a reply, tolerating a Markdown code fence around it."""
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text.strip()
    if not body.startswith("{"):
        start, end = body.find("{"), body.rfind("}")
        if start < 0 or end <= start:
            raise ValueError("the reply holds no JSON object")
        body = body[start:end + 1]
    return json.loads(body, strict=False)  # a raw newline inside a string (a grammar allows it) is still JSON to us


def _problem(exc: Exception) -> str:
    """A validation error in one line a model (and a person) can act on."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = [f"{'.'.join(str(p) for p in e.get('loc', ())) or 'reply'}: {e.get('msg', '')}" for e in errors()[:3]]
        return "; ".join(found)
    return str(exc)


def complete_json(
    config: LLMConfig, messages: Sequence[Message], parse: Callable[[Any], T], *,
    reply_model: type[BaseModel] | None = None, max_tokens: int = 0,
    on_retry: Callable[[str], None] | None = None, on_progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[T, Reply]:
    """Ask for JSON (in `reply_model`'s schema when given) and validate it with `parse` (which raises ValueError);
    one corrective retry, then give up. `Cancelled` passes through."""
    redactor, sent = _redacted(config, messages)
    _check_allowed(config, sent)
    listen, problem = _Listen(on_retry, on_progress, cancel), ""
    for _ in range(2):
        reply = _send_structured(config, sent, reply_model, listen, max_tokens)
        try:
            data = _loads(reply.text)
            return parse(redactor.restore_all(data) if redactor else data), reply
        except (ValueError, TypeError, KeyError) as exc:
            problem = _scrub(_problem(exc), config)
            log.warning("malformed reply from %s: %s", config.model, problem)
            listen.note("retry", f"The reply was not usable ({problem}); asking once more…")
            # the start of the bad reply is enough to correct it, and keeps a small context window from overflowing
            sent = [*sent, {"role": "assistant", "content": reply.text[:300]},
                    {"role": "user", "content": f"That reply was not usable ({problem}). Reply again with the JSON "
                                                "object only, in exactly the format asked for."}]
    raise MalformedReply(f"The model {config.model} answered twice in an unusable format ({problem}).")


def test_connection(config: LLMConfig) -> str:
    """Send a tiny prompt (no assessment data) and say how it went; raises LLMError on failure."""
    started = time.monotonic()
    reply = complete(replace(config, remote_confirmed=True, retries=0),
                     [{"role": "user", "content": "Reply with the single word OK."}])
    answer = " ".join(reply.text.split())[:60]
    return f"{config.model} answered in {time.monotonic() - started:.1f} s: {answer!r}"
