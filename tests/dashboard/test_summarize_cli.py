"""`python -m etl summarize` in a real subprocess: offline by default, through the local server when configured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard import store
from dashboard.db import connect
from tests.llm_server import LLM_VARIABLES, ChatServer, Reply

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(demo_db_copy: Path) -> Path:
    return demo_db_copy


def run(db: Path, *args: str, stdin: int | None = subprocess.DEVNULL, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in LLM_VARIABLES} | {"AIMS_LOCK_WAIT_SECONDS": "5"} | env
    process = subprocess.Popen([sys.executable, "-m", "etl", "--db", str(db), "summarize", *args], cwd=ROOT, env=clean,
                               stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=90)  # stdin (when a pipe) is never closed: a prompt would hang here
    finally:
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_with_no_model_the_command_prints_the_offline_summary_and_its_citations(db: Path) -> None:
    result = run(db, "--item", "A.5.2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "A.5.2 AI system impact assessment process across units · Latest per unit"
    assert lines[1].startswith("Engine: offline extractive summariser")
    assert "Note: No model is configured" in result.stdout
    cites = [line for line in lines if line.startswith("cite: ")]
    assert cites and all(" | A.5.2 | assessment " in line for line in cites)
    assert "Citations dropped (not in the input): 0" in result.stdout


def test_unknown_choices_and_contradictory_options_exit_non_zero(db: Path) -> None:
    assert "No business unit named 'Atlantis'" in run(db, "--unit", "Atlantis").stderr
    assert run(db, "--executive", "--unit", "Retail Banking").returncode == 1
    assert run(db, "--section", "6", "--item", "6.1.2").returncode == 1


def test_with_a_model_it_prints_the_engine_checked_citations_and_uses_the_cache(db: Path) -> None:
    with ChatServer(host="127.0.0.2") as remote:  # outside 127.0.0.1: the command line needs no confirmation
        def answer(body: dict) -> Reply:
            return Reply(json={"paragraphs": ["Retail Banking is uneven.", "Support lags."], "points": [
                {"text": "Awareness training missing.", "group": "Weaknesses",
                 "citations": [{"unit": "Retail Banking", "item": "7.3"}, {"unit": "Retail Banking", "item": "9.9"}]}]})

        remote.respond = answer
        env = {"AIMS_LLM_MODEL": "openai/test-model", "AIMS_LLM_API_BASE": remote.url, "AIMS_LLM_API_KEY": "sk-cli",
               "AIMS_LLM_TIMEOUT": "30"}
        first = run(db, "--unit", "Retail Banking", stdin=subprocess.PIPE, **env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines()[1].startswith("Engine: openai/test-model")
        assert "- Awareness training missing. [Retail Banking · 7.3]" in first.stdout
        assert "Citations dropped (not in the input): 1" in first.stdout
        assert "sk-cli" not in first.stdout + first.stderr
        progress = first.stderr.splitlines()  # stderr is not a terminal: one line per stage
        assert progress[0].startswith("Summarising with openai/test-model")
        assert any(line.startswith("Sending ") and "context window 4,096 tokens (assumed)" in line for line in progress)
        assert progress[-1].startswith("Reply complete: ") and remote.received[0].body["stream"] is True
        second = run(db, "--unit", "Retail Banking", **env)
        assert "(from the cache)" in second.stdout and len(remote.received) == 1
        run(db, "--unit", "Retail Banking", "--regenerate", **env)
        assert len(remote.received) == 2
        offline = run(db, "--unit", "Retail Banking", "--offline", **env)
        assert "Engine: offline extractive summariser" in offline.stdout and len(remote.received) == 2


def test_a_failing_model_still_prints_the_offline_summary_with_the_reason(db: Path) -> None:
    with ChatServer() as server:
        server.respond = lambda body: Reply(status=503)
        result = run(db, "--section", "A.6", "--unit", "Group IT", AIMS_LLM_MODEL="openai/test-model",
                     AIMS_LLM_API_BASE=server.url, AIMS_LLM_RETRIES="0")
        assert len(server.received) == 1  # no hidden retries: AIMS_LLM_RETRIES=0 means one attempt
    assert result.returncode == 0, result.stderr
    assert "Engine: offline extractive summariser" in result.stdout
    assert "Note: The model openai/test-model failed after 1 attempt(s)" in result.stdout
    with connect(db) as con:
        assert con.execute("SELECT count(*) FROM summary_cache").fetchall() == [(0,)]
        assert not store.list_assessments(con).empty


def test_ctrl_c_during_a_slow_reply_cancels_with_exit_130_and_saves_nothing(db: Path) -> None:
    with ChatServer() as server:
        server.respond = lambda body: Reply(json={"paragraphs": ["x " * 400], "points": []}, chunk_delay=0.2)
        clean = {k: v for k, v in os.environ.items() if k not in LLM_VARIABLES} | {
            "AIMS_LOCK_WAIT_SECONDS": "5", "AIMS_LLM_MODEL": "openai/test-model", "AIMS_LLM_API_BASE": server.url,
            "AIMS_LLM_TIMEOUT": "120", "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen([sys.executable, "-m", "etl", "--db", str(db), "summarize", "--item", "A.5.2"],
                                   cwd=ROOT, env=clean, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            assert process.stderr is not None
            seen = []
            for line in process.stderr:  # progress arrives on stderr while the reply streams in
                seen.append(line)
                if line.startswith("Receiving the reply:"):
                    break
            assert seen and seen[-1].startswith("Receiving the reply:"), seen
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
        deadline = time.monotonic() + 10
        while not server.disconnected and time.monotonic() < deadline:  # the server notices at its next write
            time.sleep(0.05)
        assert server.disconnected == 1 and len(server.received) == 1
    assert process.returncode == 130, err
    assert "Cancelled: nothing was saved." in err and "Traceback" not in err
    assert out == ""  # neither the model's summary nor the offline one
    with connect(db) as con:
        assert con.execute("SELECT count(*) FROM summary_cache").fetchall() == [(0,)]
