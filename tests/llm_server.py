"""A real HTTP server on the loopback interface speaking OpenAI's chat-completions protocol, for the tests.

The code under test reaches it through litellm's real code path (model "openai/<name>", api_base = `url`).
Each request is recorded (`received`), so tests can read exactly what left the application; the answer
comes from a script of `Reply` values (first in, first out) or, when the script is empty, from `respond`.

Like the servers it stands for, it also
* answers `stream: true` with server-sent events, a few characters per chunk (`Reply.chunk_delay` between
  chunks), and counts the streams the client closed before the end (`disconnected`);
* lists its models at `GET /v1/models` (`models`: say a context window there, or an `owned_by`);
* refuses the structured-output forms named in `refuse` ({form: status}) as llama-cpp-python refuses
  `json_schema`, with a validation error naming `response_format` (`form_of` tells a request's form).

    with ChatServer() as server:
        server.script(Reply(status=500), Reply(json={"paragraphs": ["…"], "points": []}))
        …
        assert len(server.received) == 2
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dashboard import llm_context, llm_forms

__all__ = ["LLM_VARIABLES", "ChatServer", "Received", "Reply", "form_of", "judge", "quotations", "rubric_line",
           "use_server"]


@dataclass(frozen=True)
class Reply:
    """One answer: `content` (or `json`, serialised) with status 200, or an error `status`; `delay` first."""

    content: str = "OK"
    json: Any = None
    status: int = 200
    delay: float = 0.0
    error: str = "simulated failure"
    chunk_delay: float = 0.0  # between streamed chunks

    def text(self) -> str:
        return json.dumps(self.json) if self.json is not None else self.content


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.body.get("messages", [])

    @property
    def text(self) -> str:
        """Every message's content, joined: what the model got to read."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)

    def message(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)


def form_of(body: dict[str, Any]) -> str:
    """The structured-output form of a request: json_schema, json_object_schema, json_object or none."""
    asked = body.get("response_format") or {}
    if asked.get("type") == "json_schema":
        return "json_schema"
    if asked.get("type") == "json_object":
        return "json_object_schema" if "schema" in asked else "json_object"
    return "none"


def rubric_line(body: dict[str, Any], level: int) -> str:
    """The rubric line for `level` in an interview request (the "N: line" lines after "RUBRIC:")."""
    user = "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")
    lines = user.split("RUBRIC:\n", 1)[1].splitlines()
    return next(line.split(": ", 1)[1] for line in lines if line.startswith(f"{level}: "))


def judge(level: int, rationale: str, *, quote: int | None = None) -> Callable[[dict[str, Any]], Reply]:
    """An interview model that proposes `level`, quoting the rubric line of `quote` (default: the same level)."""
    return lambda body: Reply(json={"enough": True, "follow_up": None, "rubric_line": rubric_line(
        body, level if quote is None else quote), "level": level, "rationale": rationale})


def quotations(received: Received) -> list[dict[str, Any]]:
    """The JSON quotation lines of a summary request (between the <<<QUOTATIONS and QUOTATIONS>>> lines)."""
    lines = received.message("user").splitlines()
    start, end = lines.index("<<<QUOTATIONS"), lines.index("QUOTATIONS>>>")
    return [json.loads(line) for line in lines[start + 1:end]]


@dataclass
class ChatServer:
    host: str = "127.0.0.1"
    respond: Callable[[dict[str, Any]], Reply] = lambda body: Reply()
    received: list[Received] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=lambda: [{"id": "test-model", "object": "model",
                                                                     "owned_by": "test"}])
    refuse: dict[str, int] = field(default_factory=dict)
    disconnected: int = 0
    _script: list[Reply | Callable[[dict[str, Any]], Reply]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not started"
        return f"http://{self.host}:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply | Callable[[dict[str, Any]], Reply]) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        with self._lock:
            self.received.append(Received(path, headers, body))
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None:
            return scripted(body) if callable(scripted) else scripted
        return self.respond(body)

    def __enter__(self) -> ChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": server.models})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                text, created = reply.text(), int(time.time())
                pieces = [text[i:i + 4] for i in range(0, len(text), 4)]
                try:
                    for n, piece in enumerate([*pieces, None]):
                        delta = {"content": piece} if piece is not None else {}
                        chunk = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": created,
                                 "model": body.get("model", "test"), "choices": [{
                                     "index": 0, "delta": {"role": "assistant", **delta} if n == 0 else delta,
                                     "finish_reason": None if piece is not None else "stop"}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        if reply.chunk_delay and piece is not None and server._stop.wait(reply.chunk_delay):
                            return
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except OSError:  # the client closed the stream: a cancelled request
                    with server._lock:
                        server.disconnected += 1

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                refused = server.refuse.get(form_of(body))
                if refused:
                    with server._lock:
                        server.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                        body))
                    self._send(refused, {"detail": [{"type": "literal_error", "loc": ["body", "response_format", "type"],
                                                     "msg": "Input should be 'text' or 'json_object'"}]})
                    return
                try:
                    reply = server._next(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                except Exception as exc:  # a test's responder failed: answer 500 so that the test sees it
                    reply = Reply(status=500, error=f"test responder failed: {exc!r}")
                if reply.delay and server._stop.wait(reply.delay):
                    return
                if reply.status != 200:
                    self._send(reply.status, {"error": {"message": reply.error, "type": "server_error", "code": None}})
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                    return
                self._send(200, {
                    "id": f"chatcmpl-{len(server.received)}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "test"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text()},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                })

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        # a new server may get the port of one an earlier test closed: what that one said is not this one's
        llm_context.forget(self.url)
        llm_forms.forget(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wake up handlers that are sleeping to simulate a slow model
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


LLM_VARIABLES = ("AIMS_LLM_MODEL", "AIMS_LLM_API_BASE", "AIMS_LLM_API_KEY", "AIMS_LLM_TIMEOUT", "AIMS_LLM_RETRIES",
                 "AIMS_LLM_REDACT", "AIMS_LLM_ALLOW_REMOTE", "AIMS_LLM_MAX_INPUT_CHARS", "AIMS_LLM_CONTEXT_TOKENS",
                 "OPENAI_API_KEY",
                 "ANTHROPIC_API_KEY", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY")


def use_server(monkeypatch: Any, server: ChatServer | None, **settings: str) -> None:
    """Clear every LLM setting, then point the AIMS_LLM_ settings at `server` (None: offline)."""
    for name in LLM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if server is not None:
        monkeypatch.setenv("AIMS_LLM_MODEL", "openai/test-model")
        monkeypatch.setenv("AIMS_LLM_API_BASE", server.url)
        monkeypatch.setenv("AIMS_LLM_TIMEOUT", "2")
        monkeypatch.setenv("AIMS_LLM_RETRIES", "1")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
