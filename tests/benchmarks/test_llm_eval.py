"""benchmarks/llm_eval.py against the local fake server: a deterministic model whose faults the table must count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import llm_eval
from dashboard import llm, summarize
from tests.llm_server import ChatServer, Received, Reply, form_of, judge, quotations
from tests.principals import ADMIN


def scripted_model(body: dict[str, Any]) -> Reply:
    """Summaries: one real and one invented citation, one sentence with a number from the facts and one with a
    number of its own, and the weakest section of the facts named. The interview: always level 2, its own line."""
    if form_of(body) in ("json_schema", "json_object_schema") and "RUBRIC:" in json.dumps(body["messages"]):
        return judge(2, "Drafted and piloted.")(body)
    received = Received("", {}, body)
    first = quotations(received)[0]
    facts = [line[2:] for line in received.message("user").splitlines() if line.startswith("- ")]
    number = sorted(llm_eval.numbers_in(" ".join(facts)))[0]
    return Reply(json={"paragraphs": [f"The figure {number} comes from the facts. Coverage is 97.3% everywhere."],
                       "points": [{"text": "Support is the weakest area.", "group": "Gaps", "citations": [
                           {"unit": first["unit"], "item": first["item"]}, {"unit": "Nowhere", "item": "4.1"}]}]})


@pytest.fixture
def server(chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> ChatServer:
    chat_server.respond = scripted_model
    monkeypatch.setenv("AIMS_LLM_TIMEOUT", "30")
    return chat_server


def test_the_evaluation_counts_what_the_model_got_right_and_wrong(server: ChatServer, demo_db_copy: Path) -> None:
    rows, details = llm_eval.run(demo_db_copy, llm.load_config(), interview_count=5)
    summaries, [interview_row] = rows[:4], rows[4:]
    assert [r.what for r in summaries] == ["summary: executive", "summary: unit Retail Banking", "summary: section A.6",
                                           "summary: item A.5.2"]
    for row in summaries:
        assert (row.engine, row.shape, row.citations, row.numbers) == ("openai/test-model", "yes", "1/2", "1/2")
    executive, unit = summaries[0], summaries[1]
    weakest_exec = [sid for sid, _ in llm_eval._weakest(_request(demo_db_copy, llm_eval.SCOPES[0]), llm_eval.load_catalog())]
    assert executive.weakest == f"{int('7' in weakest_exec)}/3"  # "Support" is section 7's title
    assert unit.weakest.endswith("/3") and summaries[2].weakest == summaries[3].weakest == "-"
    levels = [level for _, _, level in llm_eval.interview_sample(demo_db_copy, 5)]
    assert interview_row.shape == "5/5" and interview_row.citations == "line of the level: 5/5"
    assert interview_row.numbers == f"exact: {levels.count(2)}/5"
    assert interview_row.weakest == f"within one: {sum(abs(v - 2) <= 1 for v in levels)}/5"
    assert len(details) == 5 and all("proposed 2" in line for line in details)
    table = llm_eval.table(rows)
    assert table.splitlines()[0].startswith("| what | engine | shape |") and len(table.splitlines()) == 7


def test_the_interview_sample_is_fixed_and_written_to_match_levels(demo_db_copy: Path) -> None:
    sample = llm_eval.interview_sample(demo_db_copy, 8)
    assert sample == llm_eval.interview_sample(demo_db_copy, 8)
    assert all(len(text.split()) >= 6 and 0 <= level <= 5 for _, text, level in sample)
    assert len({level for _, _, level in sample}) >= 3  # several levels, not one


def test_numbers_are_read_as_written() -> None:
    assert llm_eval.numbers_in("Maturity 2.78 in 2026, 81% compliant; A.5.2 and 3.") == {"2.78", "2026", "81%", "3"}


def _request(db: Path, scope: summarize.Scope) -> summarize.Request:
    from dashboard.db import connect

    with connect(db) as con:
        return summarize.prepare(con, scope, principal=ADMIN)
