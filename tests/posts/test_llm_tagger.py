"""The chat-completions wire format against a real local HTTP server: what is sent, and every kind of
answer (good, malformed, refused, truncated, 5xx, 4xx)."""

import json

from resources.llm import ChatCompletionsClient
from resources.tagging.llm import BAD_SCHEMA, INVALID_JSON, LLM_UNAVAILABLE, LLMTagger
from tests.posts.conftest import chat_answer, tags_answer
from tests.support.http import Reply

PATH = "/v1/chat/completions"


def test_request_is_an_openai_chat_completion_with_strict_json(http_server, llm_client):
    http_server.route(PATH, tags_answer("Kubernetes", "autoscaling"))
    outcome = LLMTagger(llm_client, max_tags=5).tag(["A practical guide to Kubernetes autoscaling."])[0]

    assert outcome.ok and outcome.tags == ["Kubernetes", "autoscaling"]
    assert outcome.usage == {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
    method, path, body, headers = http_server.requests[0]
    assert (method, path) == ("POST", PATH)
    assert headers["Authorization"] == "Bearer sk-test"
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert sent["model"] == "test-model"
    assert sent["temperature"] == 0
    assert sent["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["messages"][1]["content"] == "A practical guide to Kubernetes autoscaling."
    assert "at most 5 tags" in sent["messages"][0]["content"]
    assert "verbatim" in sent["messages"][0]["content"]


def test_no_key_no_authorization_header(http_server):
    http_server.route(PATH, tags_answer("x"))
    client = ChatCompletionsClient(http_server.url("/v1/"), "m", "", attempts=1)
    LLMTagger(client, 3).tag(["x"])
    assert "Authorization" not in http_server.requests[0][3]


def test_malformed_answers_fail_the_post_with_the_reason(http_server, llm_client):
    cases = {
        "/a": (chat_answer('{"tags": ["a", "b"'), INVALID_JSON),  # cut JSON
        "/b": (chat_answer("Sure! Here are the tags: a, b"), INVALID_JSON),  # prose
        "/c": (chat_answer('["a", "b"]'), BAD_SCHEMA),  # a list, not {"tags": [...]}
        "/d": (chat_answer('{"labels": ["a"]}'), BAD_SCHEMA),
        "/e": (Reply(200, b"<html>gateway</html>", "text/html"), "invalid_response"),  # not a chat answer
        "/f": (Reply(200, b'{"choices": []}', "application/json"), "invalid_response"),
    }
    for route, (reply, reason) in cases.items():
        http_server.route(route + "/chat/completions", reply)
        client = ChatCompletionsClient(http_server.url(route + "/"), "m", attempts=1)
        outcome = LLMTagger(client, 3).tag(["a b"])[0]
        assert (outcome.ok, outcome.failure) == (False, reason), route
        assert outcome.tags is None


def test_refused_and_truncated_answers_fail_the_post(http_server, llm_client):
    http_server.route(
        PATH,
        chat_answer(None, refusal="I can't help with that."),
        chat_answer('{"tags": ["a"', finish_reason="length"),
        chat_answer("", finish_reason="stop"),
        chat_answer('{"tags": []}', finish_reason="content_filter"),
    )
    tagger = LLMTagger(llm_client, 3, concurrency=1)
    outcomes = tagger.tag(["one", "two", "three", "four"])
    assert [o.failure for o in outcomes] == ["refused", "truncated", "refused", "refused"]
    assert "I can't help" in outcomes[0].detail
    assert "finish_reason=length" in outcomes[1].detail


def test_5xx_is_retried_with_backoff_then_succeeds(http_server, llm_client):
    http_server.route(PATH, Reply(500, b"oops"), Reply(503, b"busy"), tags_answer("ok"))
    outcome = LLMTagger(llm_client, 3).tag(["ok then"])[0]
    assert outcome.ok and outcome.tags == ["ok"]
    assert http_server.hits(PATH) == 3


def test_5xx_that_persists_fails_the_post_as_transport_after_the_retries(http_server, llm_client):
    http_server.route(PATH, Reply(500, b"down"))
    outcome = LLMTagger(llm_client, 3).tag(["x"])[0]
    assert outcome.failure == "transport"
    assert "HTTP 500" in outcome.detail
    assert http_server.hits(PATH) == 3  # attempts=3


def test_4xx_is_not_retried(http_server, llm_client):
    http_server.route(PATH, Reply(401, b'{"error": "bad key"}', "application/json"))
    outcome = LLMTagger(llm_client, 3).tag(["x"])[0]
    assert outcome.failure == "http_error"
    assert "HTTP 401" in outcome.detail and "bad key" in outcome.detail
    assert http_server.hits(PATH) == 1


def test_one_bad_answer_does_not_stop_the_others(http_server, llm_client):
    http_server.route(PATH, tags_answer("alpha"), chat_answer("not json"), tags_answer("gamma"))
    outcomes = LLMTagger(llm_client, 3, concurrency=1).tag(["alpha", "beta", "gamma"])
    assert [(o.tags, o.failure) for o in outcomes] == [(["alpha"], None), (None, INVALID_JSON), (["gamma"], None)]


def test_a_dead_endpoint_trips_the_breaker_instead_of_retrying_every_post(http_server):
    http_server.route(PATH, Reply(502, b"bad gateway"))
    client = ChatCompletionsClient(http_server.url("/v1"), "m", attempts=2, retry_max_wait_s=0.01, retry_multiplier_s=0.001)
    outcomes = LLMTagger(client, 3, concurrency=1, breaker=2).tag(["a", "b", "c", "d"])
    assert [o.failure for o in outcomes] == ["transport", "transport", LLM_UNAVAILABLE, LLM_UNAVAILABLE]
    assert http_server.hits(PATH) == 4  # two posts x two attempts, then no more calls


def test_connection_refused_is_a_transport_failure():
    client = ChatCompletionsClient("http://127.0.0.1:9/v1", "m", attempts=2, connect_timeout_s=1,
                                   retry_max_wait_s=0.01, retry_multiplier_s=0.001)
    outcome = LLMTagger(client, 3).tag(["x"])[0]
    assert outcome.failure == "transport"
    assert "ConnectionError" in outcome.detail
