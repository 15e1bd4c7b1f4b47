"""Structured output (the reply's schema in the provider's form, the fallback from a refused form) and the context
window, over real HTTP to the local fake server."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from dashboard import llm, llm_context, llm_forms
from dashboard.replies import InterviewReply, SummaryReply, interview_schema_model
from tests.llm_server import ChatServer, Reply, form_of

GOOD = {"paragraphs": ["All fine."], "points": [{"text": "A point.", "group": "G", "citations": []}]}
ASK = [{"role": "user", "content": "Summarise."}]


@pytest.fixture
def server(chat_server: ChatServer) -> ChatServer:
    chat_server.respond = lambda body: Reply(json=GOOD)
    return chat_server


def _config(**changes: Any) -> llm.LLMConfig:
    return replace(llm.load_config(), backoff=0.01, **changes)


def _ask(config: llm.LLMConfig) -> tuple[SummaryReply, llm.Reply]:
    return llm.complete_json(config, ASK, SummaryReply.model_validate, reply_model=SummaryReply)


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(n for v in node.values() for n in _walk(v))]
    return [n for v in node for n in _walk(v)] if isinstance(node, list) else []


def test_the_schema_comes_from_the_reply_model_closed_and_inlined() -> None:
    strict = llm_forms.schema_of(SummaryReply, strict=True)
    assert set(strict["properties"]) == {"paragraphs", "points"} == set(strict["required"])
    objects = [n for n in _walk(strict) if n.get("type") == "object"]
    assert len(objects) == 3  # the reply, a point, a citation
    assert all(o["additionalProperties"] is False and set(o["required"]) == set(o["properties"]) for o in objects)
    text = json.dumps(strict)
    assert "$ref" not in text and "$defs" not in text and "maxLength" not in text  # strict mode refuses maxLength
    assert strict["properties"]["points"]["maxItems"] == 6
    loose = llm_forms.schema_of(SummaryReply)
    assert loose["properties"]["points"]["items"]["properties"]["text"]["maxLength"] == 200  # bounds generation
    assert loose["required"] == ["paragraphs", "points"]
    arrays = [n for n in _walk(loose) if n.get("type") == "array"]
    assert arrays and all(a["items"].get("type") in ("string", "object") for a in arrays)  # grammar builders need it


def test_the_interview_schema_only_admits_the_items_own_rubric_lines(catalog: Any) -> None:
    item = catalog.by_id["5.2"]
    schema = llm_forms.schema_of(interview_schema_model(item))
    [line_enum] = [n["enum"] for n in _walk(schema["properties"]["rubric_line"]) if "enum" in n]
    assert line_enum == [item.rubric[level] for level in range(6)]
    assert {"enough", "level", "rubric_line", "rationale", "follow_up"} == set(schema["properties"])
    assert InterviewReply.model_validate({"enough": True, "level": "3", "rubric_line": "x", "rationale": "y"}).level == 3
    with pytest.raises(ValueError, match="whole number"):
        InterviewReply.model_validate({"enough": True, "level": True})


@pytest.mark.parametrize(("owned_by", "form"), [("test", "json_schema"), ("vllm", "json_schema"),
                                                ("me", "json_object_schema")],
                         ids=["openai-compatible", "vllm", "llama-cpp-python"])
def test_each_server_gets_the_schema_in_its_form(server: ChatServer, owned_by: str, form: str) -> None:
    server.models = [{"id": "test-model", "object": "model", "owned_by": owned_by}]
    data, reply = _ask(_config())
    assert data.paragraphs == ["All fine."] and reply.form == form
    [received] = server.received
    assert form_of(received.body) == form
    sent = received.body["response_format"]
    if form == "json_schema":
        assert sent["json_schema"]["strict"] is True
        assert sent["json_schema"]["schema"] == llm_forms.schema_of(SummaryReply, strict=True)
    else:
        assert sent == {"type": "json_object", "schema": llm_forms.schema_of(SummaryReply)}


@pytest.mark.parametrize("status", [400, 422, 500])
def test_a_refused_form_falls_back_once_and_the_form_that_worked_is_remembered(server: ChatServer, status: int) -> None:
    server.refuse = {"json_schema": status}
    progress: list[llm.Progress] = []
    data, reply = llm.complete_json(_config(timeout=30), ASK, SummaryReply.model_validate, reply_model=SummaryReply,
                                    on_progress=progress.append)  # streamed (the first stream of a process is slow)
    assert reply.form == "json_object_schema" and data.points[0].text == "A point."
    assert [form_of(r.body) for r in server.received] == ["json_schema", "json_object_schema"]
    assert any(p.stage == "fallback" and "refused JSON schema" in p.note for p in progress)
    _ask(_config())  # the next request starts with the form that worked: no refused request again
    assert [form_of(r.body) for r in server.received][2:] == ["json_object_schema"]


def test_a_server_that_takes_no_schema_gets_plain_json_and_the_reply_is_still_validated(server: ChatServer) -> None:
    server.refuse = {"json_schema": 422, "json_object_schema": 400}
    server.script(Reply(json={"paragraphs": "One paragraph, not a list.", "points": [{"text": "P."}]}),
                  Reply(json={"summary": "not our fields"}), Reply(json={"summary": "still not"}))
    data, reply = _ask(_config())
    assert reply.form == "json_object" and data.paragraphs == ["One paragraph, not a list."]
    assert server.received[-1].body["response_format"] == {"type": "json_object"}
    with pytest.raises(llm.MalformedReply):  # JSON, but not our fields: asked once more, then a failure
        _ask(_config())
    assert [form_of(r.body) for r in server.received] == ["json_schema", "json_object_schema", "json_object",
                                                          "json_object", "json_object"]
    assert "That reply was not usable" in server.received[-1].text  # the corrective retry, in the remembered form


def test_when_every_form_is_refused_the_error_says_so(server: ChatServer) -> None:
    server.refuse = {"json_schema": 422, "json_object_schema": 422, "json_object": 422}
    with pytest.raises(llm.LLMError, match="No reply format is left to try"):
        _ask(_config())
    assert [form_of(r.body) for r in server.received] == ["json_schema", "json_object_schema", "json_object"]


def test_a_server_error_that_is_not_about_the_format_is_retried_not_a_fallback(server: ChatServer) -> None:
    server.script(Reply(status=500, error="CUDA out of memory"), Reply(json=GOOD))
    _, reply = _ask(_config())
    assert reply.form == "json_schema" and reply.attempts == 2
    assert [form_of(r.body) for r in server.received] == ["json_schema", "json_schema"]


def test_forms_follow_litellms_capability_information() -> None:
    litellm = llm._litellm()
    assert llm_forms.forms_for(litellm, "gpt-4o-mini") == llm_forms.FORMS  # supports_response_schema
    assert llm_forms.forms_for(litellm, "ollama/llama3.1") == llm_forms.FORMS  # litellm maps it to `format`
    assert llm_forms.forms_for(litellm, "openai/x", "http://127.0.0.1:1/v1", {"owned_by": "me"})[0] == "json_object_schema"
    assert llm_forms.forms_for(litellm, "huggingface/some-model") == ("json_object_schema", "json_object")
    assert llm_forms.forms_for(litellm, "replicate/some-model") == ("json_object",)  # takes no response_format


def test_ollama_receives_the_schema_as_its_format_through_litellm() -> None:
    llm._litellm()  # litellm imported through the seam (no price list fetched), then one of its modules
    from litellm.llms.ollama.chat.transformation import OllamaChatConfig

    asked = llm_forms.response_format("json_schema", SummaryReply)
    mapped = OllamaChatConfig().map_openai_params({"response_format": asked}, {}, "llama3.1", False)
    assert mapped["format"] == llm_forms.schema_of(SummaryReply, strict=True)


@pytest.mark.parametrize(("entry", "tokens"), [
    ({"id": "test-model", "max_model_len": 2048}, 2048),  # vLLM
    ({"id": "test-model", "context_length": 32768}, 32768),  # LM Studio, OpenRouter
    ({"id": "test-model", "owned_by": "llamacpp", "meta": {"n_ctx_train": 8192}}, 8192),  # llama-server
])
def test_the_context_window_comes_from_the_server(server: ChatServer, entry: dict[str, Any], tokens: int) -> None:
    server.models = [entry]
    assert llm.context(_config()) == llm_context.Window(tokens, "server")


def test_what_a_server_said_is_remembered_per_address_until_that_address_is_forgotten(server: ChatServer) -> None:
    server.models = [{"id": "test-model", "max_model_len": 3000}]
    assert llm.context(_config()).tokens == 3000
    llm_forms.remember("openai/test-model", server.url, "json_object")
    server.models = [{"id": "test-model", "max_model_len": 9000}]
    llm_context.forget("http://127.0.0.1:1/v1")  # another address: this server's answer stays
    llm_forms.forget("http://127.0.0.1:1/v1")
    key = ("openai/test-model", server.url)
    assert llm.context(_config()).tokens == 3000 and key in llm_forms._worked
    llm_context.forget(server.url + "/")  # a server started on a port an earlier one used asks again
    llm_forms.forget(server.url)
    assert llm.context(_config()).tokens == 9000 and key not in llm_forms._worked


def test_the_setting_wins_and_unknown_models_get_the_assumption(server: ChatServer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert llm.context(_config()) == llm_context.Window(llm_context.ASSUMED_TOKENS, "assumed")
    assert llm.context(llm.LLMConfig(model="gpt-4o-mini")) == llm_context.Window(128000, "litellm")
    monkeypatch.setenv("AIMS_LLM_CONTEXT_TOKENS", "1500")
    assert llm.context(llm.load_config()) == llm_context.Window(1500, "setting")


def test_the_input_budget_leaves_room_for_the_prompt_and_the_reply() -> None:
    window = llm_context.Window(4096, "server")
    assert llm_context.input_chars(window, 3000, 1200) == (4096 - 1200 - 64 - 1000) * 3
    assert llm_context.input_chars(window, 3000, 1200, cap=2000) == 2000
    assert llm_context.input_chars(llm_context.Window(1000, "setting"), 3000, 1200) == 0
