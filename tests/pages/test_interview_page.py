"""The interview page end to end with AppTest: offline, against the local model server, and with a remote one."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import store
from dashboard.catalog import load_catalog
from dashboard.db import connect
from tests.llm_server import ChatServer, Reply, judge, use_server
from tests.pages.conftest import APP
from tests.principals import ADMIN

PAGE = "pages/interview.py"
UNIT, LABEL = "Interview Unit", "2026-I1"
RICH = "The scope statement was approved by the board in May and is published on the intranet for all staff."


@pytest.fixture
def nearly_done(empty_db: Path) -> Path:
    """A clauses assessment with every item but 4.1 and 4.2 answered: the interview asks just those two."""
    with connect(empty_db) as con:
        assessment = store.create_assessment(con, unit=UNIT, label=LABEL, scope="clauses", catalog_version="t",
                                             source="interview")
        for item in load_catalog().items_of("clause")[2:]:
            store.update_response(con, assessment.id, item.id, {"maturity": 3, "evidence": "In place."}, by="setup", principal=ADMIN)
    return empty_db


@pytest.fixture
def server(chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> ChatServer:
    monkeypatch.setenv("AIMS_LLM_RETRIES", "0")
    return chat_server


def _start(monkeypatch: pytest.MonkeyPatch | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    app.text_input(key="assessor_name_input").set_value("Ada Assessor").run()
    app.text_input(key="interview_unit").set_value(UNIT)
    app.text_input(key="interview_label").set_value(LABEL)
    next(b for b in app.button if b.label == "Start or resume").click().run()
    assert not app.exception, app.exception
    return app


def _answer(app: AppTest, text: str) -> None:
    app.chat_input(key="interview_answer").set_value(text).run()
    assert not app.exception, app.exception


def _said(app: AppTest) -> list[str]:
    return [m.markdown[0].value for m in app.get("chat_message")] if app.get("chat_message") else []


def _stored(db: Path) -> dict[str, tuple[int, str, str]]:
    with connect(db) as con:
        rows = store.responses(con, principal=ADMIN).set_index("item_id")
        sources = dict(con.execute("SELECT item_id, max(source) FROM change_log WHERE changed_by = 'Ada Assessor' "
                                   "GROUP BY item_id").fetchall())
    return {i: (int(rows.loc[i, "maturity"]), rows.loc[i, "evidence"], sources[i]) for i in sources}


def test_offline_interview_from_first_question_to_the_result(nearly_done: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_server(monkeypatch, None)
    app = _start()
    assert "Offline: no model configured" in app.caption[0].value
    assert any(m.startswith("Item 31 of 32 — 4\\.1 Understanding the organization") for m in _said(app))
    _answer(app, "Some notes.")  # thin: one follow-up of our own
    assert "who owns it" in _said(app)[-1]
    _answer(app, RICH)
    assert app.radio(key="level_1_4.1").value is None  # no proposal offline: the person picks
    app.radio(key="level_1_4.1").set_value(2).run()
    app.button(key="interview_save").click().run()
    assert any(m.startswith("Item 32 of 32 — 4\\.2") for m in _said(app))
    _answer(app, RICH)
    app.radio(key="level_1_4.2").set_value(3).run()
    app.button(key="interview_save").click().run()
    assert not app.exception, app.exception
    assert "That was the last item" in _said(app)[-1]
    assert {m.label for m in app.metric} >= {"Clause maturity", "Clause level", "Open gaps"}
    assert _stored(nearly_done) == {"4.1": (2, "Some notes.\n" + RICH, "interview"), "4.2": (3, RICH, "interview")}


def test_with_the_local_model_the_agent_proposes_asks_once_and_the_person_decides(
    nearly_done: Path, server: ChatServer
) -> None:
    server.script(
        judge(3, "Approved, published and reviewed."),
        Reply(json={"enough": False, "follow_up": "Which parties did you list, and who keeps the list?"}),
        judge(1, "Only informal knowledge."),
    )
    app = _start()
    assert "proposes levels with openai/test\\-model" in app.caption[0].value
    _answer(app, RICH)
    assert "I would say level 3 · Defined" in _said(app)[-1]
    assert app.radio(key="level_1_4.1").value == 3  # the proposal is preselected
    app.button(key="interview_save").click().run()
    _answer(app, "Customers.")
    assert _said(app)[-1] == "Which parties did you list, and who keeps the list?"
    _answer(app, "Nobody keeps a list, we just know them.")
    assert app.radio(key="level_1_4.2").value == 1
    app.radio(key="level_1_4.2").set_value(2).run()  # the person overrides the proposal
    app.button(key="interview_save").click().run()
    assert not app.exception, app.exception
    assert "That was the last item" in _said(app)[-1]
    assert len(server.received) == 3
    stored = _stored(nearly_done)
    assert stored["4.1"][0] == 3 and stored["4.2"] == (2, "Customers.\nNobody keeps a list, we just know them.",
                                                       "interview")
    with connect(nearly_done) as con:
        notes = store.responses(con, principal=ADMIN).set_index("item_id").loc["4.2", "notes"]
    assert notes == "Interview: openai/test-model proposed level 1 (Only informal knowledge.); Ada Assessor chose 2."


def test_a_failing_model_leaves_the_choice_to_the_person(nearly_done: Path, server: ChatServer) -> None:
    server.respond = lambda body: Reply(status=500)
    app = _start()
    _answer(app, RICH)
    warning = app.warning[0].value.replace("\\", "")  # shown as escaped Markdown
    assert "failed after 1 attempt(s)" in warning and warning.endswith("Pick the level yourself.")
    assert app.radio(key="level_1_4.1").value is None


def test_pausing_keeps_answers_and_starting_again_resumes(nearly_done: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_server(monkeypatch, None)
    app = _start()
    _answer(app, RICH)
    app.radio(key="level_1_4.1").set_value(1).run()
    app.button(key="interview_save").click().run()
    app.button(key="interview_pause").click().run()
    assert not app.get("chat_message")
    app.text_input(key="interview_unit").set_value(UNIT.upper())
    app.text_input(key="interview_label").set_value(LABEL)
    next(b for b in app.button if b.label == "Start or resume").click().run()
    said = _said(app)
    assert "31 item(s) are already answered and skipped" in said[0].replace("\\", "")
    assert said[-1].startswith("Item 32 of 32 — 4\\.2")


def test_a_remote_model_gets_nothing_until_the_person_has_seen_it_and_confirmed(
    nearly_done: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ChatServer(host="127.0.0.2") as remote:
        use_server(monkeypatch, remote, AIMS_LLM_API_KEY="sk-remote")
        remote.respond = judge(2, "Drafted, not approved.")
        app = _start()
        _answer(app, "Our scope draft is with jo@corp.example; it covers the retail unit and its three models.")
        assert remote.received == []
        assert "runs outside this machine" in app.warning[0].value
        preview = app.code[0].value
        assert "[EMAIL_1]" in preview and "jo@corp.example" not in preview and "ITEM: 4.1" in preview
        app.button(key="interview_confirm").click().run()
        assert not app.exception, app.exception
        assert len(remote.received) == 1 and remote.received[0].message("user") in preview
        assert "I would say level 2 · Managed" in _said(app)[-1]
        app.button(key="interview_save").click().run()
        _answer(app, RICH)  # confirmed once per session: no second question
        assert len(remote.received) == 2 and not app.code
