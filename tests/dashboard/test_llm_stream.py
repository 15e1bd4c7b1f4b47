"""Streamed calls over real HTTP: progress while the reply arrives, a deadline per attempt, and cancellation that
closes the connection."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from dashboard import llm
from dashboard.replies import SummaryReply
from tests.llm_server import ChatServer, Reply

LONG = {"paragraphs": ["A fairly long paragraph that takes a while to stream. " * 6],
        "points": [{"text": "A point.", "group": "G", "citations": []}]}
ASK = [{"role": "user", "content": "Summarise."}]


@pytest.fixture
def server(chat_server: ChatServer) -> ChatServer:
    return chat_server


def _config(**changes: Any) -> llm.LLMConfig:
    return replace(llm.load_config(), **{"backoff": 0.01, "timeout": 30.0, **changes})


def test_a_streamed_reply_reports_its_progress_and_arrives_whole(server: ChatServer) -> None:
    server.script(Reply(json=LONG, chunk_delay=0.01))
    progress: list[llm.Progress] = []
    data, _ = llm.complete_json(_config(), ASK, SummaryReply.model_validate, reply_model=SummaryReply,
                                on_progress=progress.append)
    assert data.paragraphs == [LONG["paragraphs"][0].strip()]
    assert server.received[0].body["stream"] is True
    receiving = [p.tokens for p in progress if p.stage == "receiving"]
    assert receiving and receiving == sorted(receiving)  # tokens only grow
    assert progress[-1].stage == "done" and progress[-1].tokens > max(receiving)
    assert "tokens in" in progress[-1].describe()


def test_cancel_stops_the_request_and_closes_the_connection(server: ChatServer) -> None:
    server.script(Reply(json=LONG, chunk_delay=0.1))  # about 40 s if read to the end
    seen: list[llm.Progress] = []
    started = time.monotonic()
    with pytest.raises(llm.Cancelled):
        llm.complete_json(_config(), ASK, SummaryReply.model_validate, reply_model=SummaryReply,
                          on_progress=seen.append, cancel=lambda: any(p.tokens >= 3 for p in seen))
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 5
    while not server.disconnected and time.monotonic() < deadline:  # the server notices at its next write
        time.sleep(0.05)
    assert server.disconnected == 1 and len(server.received) == 1  # no retry, no corrective request


def test_a_progress_callback_that_raises_interrupts_the_call(server: ChatServer) -> None:
    """How a Streamlit page is stopped by a click on Cancel: its next progress update raises."""
    server.script(Reply(json=LONG, chunk_delay=0.1))

    class Rerun(Exception):
        pass

    def interrupted(progress: llm.Progress) -> None:
        if progress.tokens >= 2:
            raise Rerun

    with pytest.raises(Rerun):
        llm.complete_json(_config(), ASK, SummaryReply.model_validate, reply_model=SummaryReply,
                          on_progress=interrupted)
    deadline = time.monotonic() + 5
    while not server.disconnected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.disconnected == 1


def test_a_stream_that_runs_past_the_deadline_is_a_timeout_and_retried(server: ChatServer) -> None:
    server.script(Reply(json=LONG, chunk_delay=0.2), Reply(json=LONG, chunk_delay=0.2))
    cancel = threading.Event()
    started = time.monotonic()
    with pytest.raises(llm.LLMError, match="did not answer in time after 2 attempt"):
        llm.complete_json(_config(timeout=1.5), ASK, SummaryReply.model_validate, reply_model=SummaryReply,
                          cancel=cancel.is_set)
    assert time.monotonic() - started < 10 and len(server.received) == 2
