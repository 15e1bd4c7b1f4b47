"""The litellm seam: configuration, locality, lazy import, retries, timeouts, errors, JSON — over real HTTP."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from dashboard import llm
from tests.llm_server import ChatServer, Reply, use_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(chat_server: ChatServer) -> ChatServer:
    return chat_server


def _config(server: ChatServer, **changes: object) -> llm.LLMConfig:
    return replace(llm.load_config(), backoff=0.01, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("model", "api_base", "local"), [
    ("openai/x", "http://127.0.0.1:8080/v1", True),
    ("openai/x", "http://localhost:11434/v1", True),
    ("openai/x", "http://[::1]:8000/v1", True),
    ("openai/x", "127.0.0.1:8000", True),
    ("ollama/llama3.1", "", True),
    ("ollama_chat/llama3.1", "", True),
    ("openai/gpt-4o-mini", "", False),
    ("gpt-4o-mini", "", False),
    ("anthropic/claude-x", "", False),
    ("openai/x", "https://llm.example.com/v1", False),
    ("openai/x", "http://127.0.0.2:8000/v1", False),
    ("ollama/llama3.1", "http://gpu-box.internal:11434", False),
])
def test_only_this_machine_counts_as_local(model: str, api_base: str, local: bool) -> None:
    assert llm.LLMConfig(model=model, api_base=api_base).is_local is local


def test_settings_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    use_server(monkeypatch, None, AIMS_LLM_MODEL="openai/m", AIMS_LLM_TIMEOUT="7.5", AIMS_LLM_RETRIES="9",
               AIMS_LLM_REDACT="false", AIMS_LLM_ALLOW_REMOTE="no", AIMS_LLM_API_KEY="sk-very-secret")
    config = llm.load_config()
    assert (config.model, config.timeout, config.retries, config.redact, config.allow_remote) == (
        "openai/m", 7.5, 5, False, False)
    assert "sk-very-secret" not in repr(config)
    assert config.api_key == "sk-very-secret"
    monkeypatch.setenv("AIMS_LLM_TIMEOUT", "soon")
    with pytest.raises(llm.LLMError, match="not a number"):
        llm.load_config()


def test_no_model_means_disabled_and_no_call(monkeypatch: pytest.MonkeyPatch) -> None:
    use_server(monkeypatch, None)
    config = llm.load_config()
    assert not config.enabled
    assert config.describe() == "no model (offline)"
    with pytest.raises(llm.LLMError, match="No model is configured"):
        llm.complete(config, [{"role": "user", "content": "hi"}])


def test_a_missing_key_is_reported_without_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    use_server(monkeypatch, None)
    with ChatServer(host="127.0.0.2") as remote:
        config = llm.LLMConfig(model="openai/m", api_base=remote.url, remote_confirmed=True, retries=3)
        with pytest.raises(llm.LLMError, match=re.escape("No key for openai/m. No key found: set OPENAI_API_KEY")):
            llm.complete(config, [{"role": "user", "content": "x"}])
        assert remote.received == []


def test_key_status_names_the_variable_never_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    use_server(monkeypatch, None)
    remote = llm.LLMConfig(model="openai/gpt-4o-mini")
    assert "No key found: set OPENAI_API_KEY" in llm.key_status(remote)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdef123456")
    status = llm.key_status(remote)
    assert status == "OPENAI_API_KEY is set."
    assert "sk-abc" not in llm.key_status(replace(remote, api_key="sk-zzz-999"))
    assert "usually needs none" in llm.key_status(llm.LLMConfig(model="ollama/llama3.1"))


def test_importing_the_core_does_not_import_litellm() -> None:
    code = ("import sys, dashboard.llm, dashboard.summarize, dashboard.interview, dashboard.redact, "
            "etl.commands_summarize, etl.cli; etl.cli.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('litellm', 'openai')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_litellm_through_the_seam_opens_no_connection() -> None:
    """With LITELLM_LOCAL_MODEL_COST_MAP set by `_litellm`, the import does not fetch the price list."""
    code = """
import os, socket
attempts = []
real = socket.socket.connect
def spy(self, address):
    attempts.append(address)
    raise OSError("network refused by the test")
socket.socket.connect = spy
socket.create_connection = lambda *a, **k: spy(None, a[0])
os.environ.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)
from dashboard import llm
llm._litellm()
print(os.environ["LITELLM_LOCAL_MODEL_COST_MAP"], attempts)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "True []"


def test_a_plain_answer_comes_back_through_litellm(server: ChatServer) -> None:
    server.script(Reply(content="Hello from the local model"))
    reply = llm.complete(_config(server), [{"role": "user", "content": "Say hello"}])
    assert reply.text == "Hello from the local model"
    assert reply.attempts == 1
    [received] = server.received
    assert received.path == "/v1/chat/completions"
    assert received.body["model"] == "test-model"
    assert received.message("user") == "Say hello"


def test_server_errors_are_retried_a_bounded_number_of_times(server: ChatServer) -> None:
    server.script(Reply(status=500), Reply(content="second time lucky"))
    retries: list[str] = []
    reply = llm.complete(_config(server), [{"role": "user", "content": "x"}], on_retry=retries.append)
    assert (reply.text, reply.attempts, len(server.received)) == ("second time lucky", 2, 2)
    assert "InternalServerError" in retries[0]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_persistent_failures_give_a_clear_error_after_the_last_attempt(server: ChatServer, status: int) -> None:
    server.script(*[Reply(status=status)] * 5)
    with pytest.raises(llm.LLMError, match=r"failed after 3 attempt\(s\)"):
        llm.complete(_config(server, retries=2), [{"role": "user", "content": "x"}])
    assert len(server.received) == 3


def test_a_slow_model_times_out_instead_of_hanging(server: ChatServer) -> None:
    server.script(Reply(delay=5), Reply(delay=5))
    started = time.monotonic()
    with pytest.raises(llm.LLMError, match="did not answer in time after 2 attempt"):
        llm.complete(_config(server, timeout=0.5), [{"role": "user", "content": "x"}])
    assert time.monotonic() - started < 4
    assert len(server.received) == 2


def test_client_errors_are_not_retried_and_never_show_the_key(server: ChatServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(Reply(status=401, error="Incorrect API key provided: sk-secret-key-42"))
    config = _config(server, api_key="sk-secret-key-42")
    with pytest.raises(llm.LLMError) as raised:
        llm.complete(config, [{"role": "user", "content": "x"}])
    assert len(server.received) == 1
    assert server.received[0].headers["authorization"] == "Bearer sk-secret-key-42"  # the key was used…
    assert "sk-secret-key-42" not in str(raised.value)  # …but is in no message or log line
    assert "Check the key" in str(raised.value)
    assert "sk-secret-key-42" not in caplog.text


def test_nothing_is_sent_to_a_forbidden_or_unconfirmed_remote_provider() -> None:
    with ChatServer(host="127.0.0.2") as remote:
        config = llm.LLMConfig(model="openai/m", api_base=remote.url, backoff=0.01, api_key="sk-test")
        assert not config.is_local
        with pytest.raises(llm.RemoteForbidden):
            llm.complete(replace(config, allow_remote=False, remote_confirmed=True), [{"role": "user", "content": "x"}])
        with pytest.raises(llm.NeedsConfirmation) as asked:
            llm.complete(config, [{"role": "user", "content": "mail ann@example.com"}])
        assert asked.value.messages == [{"role": "user", "content": "mail [EMAIL_1]"}]
        assert remote.received == []
        assert llm.complete(replace(config, remote_confirmed=True), [{"role": "user", "content": "x"}]).text == "OK"
        assert len(remote.received) == 1


def test_messages_are_redacted_on_the_wire_and_restored_in_the_answer(server: ChatServer) -> None:
    server.respond = lambda body: Reply(content="Write to [EMAIL_1] or call [PHONE_1].")
    reply = llm.complete(_config(server), [{"role": "user", "content": "Owner: jo@corp.example, +44 20 7946 0958"}])
    assert server.received[0].message("user") == "Owner: [EMAIL_1], [PHONE_1]"
    assert reply.text == "Write to jo@corp.example or call +44 20 7946 0958."


def test_redaction_can_be_turned_off(server: ChatServer) -> None:
    llm.complete(_config(server, redact=False), [{"role": "user", "content": "Owner: jo@corp.example"}])
    assert server.received[0].message("user") == "Owner: jo@corp.example"


def test_json_replies_are_validated_with_one_corrective_retry(server: ChatServer) -> None:
    server.script(Reply(content="Sure! Here it is: not json"), Reply(content='```json\n{"n": 3}\n```'))
    data, reply = llm.complete_json(_config(server), [{"role": "user", "content": "x"}], lambda d: int(d["n"]))
    assert reply.attempts == 1  # the corrective retry is a new request, not a transport retry
    assert data == 3
    assert server.received[0].body["response_format"] == {"type": "json_object"}
    assert "not usable" in server.received[1].messages[-1]["content"]
    server.script(Reply(content="{}"), Reply(content="[1, 2]"))
    with pytest.raises(llm.MalformedReply, match="twice"):
        llm.complete_json(_config(server), [{"role": "user", "content": "x"}], lambda d: int(d["n"]))
    assert len(server.received) == 4


def test_the_connection_test_reports_the_answer(server: ChatServer) -> None:
    server.script(Reply(content="OK"))
    message = llm.test_connection(_config(server))
    assert message.startswith("openai/test-model answered in") and message.endswith("'OK'")
    assert "single word OK" in server.received[-1].message("user")
