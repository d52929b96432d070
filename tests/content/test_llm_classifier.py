"""TOPIC_CLASSIFIER=llm against a local chat-completions server: answers inside the taxonomy are used,
answers outside it (or broken, or failed calls) are rejected, counted, and the local answer used."""

import json

from assets.content.classifier import LocalClassifier, read_examples
from assets.content.llm_classifier import INVALID_JSON, OUTSIDE_TAXONOMY, LLMTopicClassifier
from assets.content.taxonomy import demo_taxonomy
from resources.llm import ChatCompletionsClient
from tests.content.conftest import chat_answer
from tests.support.http import Reply

PATH = "/v1/chat/completions"


def classifier(http_server, attempts=1):
    client = ChatCompletionsClient(http_server.url("/v1"), "test-model", "sk-test", read_timeout_s=5, attempts=attempts,
                                   retry_max_wait_s=0.05, retry_multiplier_s=0.01)
    return LLMTopicClassifier(client, LocalClassifier(demo_taxonomy(), read_examples()), threads=1)


def test_an_answer_inside_the_taxonomy_is_used_and_the_prompt_lists_the_taxonomy(http_server):
    http_server.route(PATH, chat_answer(json.dumps({"topic": "grief"})))
    verdict = classifier(http_server).classify_many(["Вчера не стало моей собаки"])[0]
    assert (verdict.topic, verdict.method) == ("grief", "llm")
    sent = json.loads(http_server.requests[0][2])
    assert sent["response_format"] == {"type": "json_object"}
    system = sent["messages"][0]["content"]
    assert all(t.slug in system for t in demo_taxonomy())
    assert sent["messages"][1]["content"] == "Вчера не стало моей собаки"


def test_none_is_an_answer(http_server):
    http_server.route(PATH, chat_answer('{"topic": "none"}'))
    verdict = classifier(http_server).classify_many(["Какая погода завтра?"])[0]
    assert (verdict.topic, verdict.method) == (None, "llm")


def test_answers_outside_the_taxonomy_or_broken_are_rejected_counted_and_local_used(http_server):
    c = classifier(http_server)
    http_server.route(PATH, chat_answer('{"topic": "work_life_balance"}'))
    outside = c.classify_many(["Не могу уснуть третью ночь"])[0]
    http_server.route(PATH, chat_answer("Тема: сон"))
    broken = c.classify_many(["Не могу уснуть третью ночь"])[0]
    http_server.route(PATH, Reply(500, b"upstream down"))
    failed = c.classify_many(["Не могу уснуть третью ночь", "Злюсь на всех"])
    assert outside.topic == broken.topic == failed[0].topic == "sleep" and failed[1].topic == "anger"
    assert outside.method == "local(llm_rejected)"
    # After the transport failure the second message is not sent.
    assert c.rejected == {OUTSIDE_TAXONOMY: 1, INVALID_JSON: 1, "transport": 1, "llm_down": 1}
    assert len(http_server.requests) == 3


def test_messages_without_words_spend_no_tokens(http_server):
    http_server.route(PATH, chat_answer('{"topic": "sleep"}'))
    verdicts = classifier(http_server).classify_many(["", "🙏🙏"])
    assert [v.topic for v in verdicts] == [None, None]
    assert http_server.requests == []


def test_daily_content_written_by_the_llm_falls_back_to_the_library(http_server, content_engine):
    from sqlalchemy import select

    from assets.content.cache import ContentCache
    from assets.content.daily import build_daily_content
    from assets.content.tables import content_item, daily_content_choice
    from assets.content.taxonomy import load_taxonomy
    from resources.cache import CacheResource
    from tests.content.conftest import NOW

    client = ChatCompletionsClient(http_server.url("/v1"), "test-model", attempts=1)
    topics = [t for t in load_taxonomy(content_engine) if t.slug in ("sleep", "anger")]
    http_server.route(PATH, chat_answer(json.dumps({"title": "Как уснуть", "body": "Ложитесь в одно время."})), chat_answer("not json"))
    report = build_daily_content(content_engine, ContentCache(CacheResource(url=""), content_engine, NOW), topics, "2026-05-20", NOW, client)
    assert report.chosen == {"llm": 1, "library": 3} and report.llm_failed == {"invalid_answer": 3}
    with content_engine.connect() as conn:
        written = conn.execute(
            select(content_item.c.title, daily_content_choice.c.topic_slug, daily_content_choice.c.kind)
            .join(content_item, content_item.c.id == daily_content_choice.c.content_id).where(daily_content_choice.c.source == "llm")
        ).one()
    assert written.title == "Как уснуть"


def test_an_unreachable_daily_writer_is_tried_once_then_the_library_is_used(content_engine):
    from assets.content.cache import ContentCache
    from assets.content.daily import build_daily_content
    from assets.content.taxonomy import load_taxonomy
    from resources.cache import CacheResource
    from tests.content.conftest import NOW

    client = ChatCompletionsClient("http://127.0.0.1:1/v1", "m", attempts=1, connect_timeout_s=1)
    topics = load_taxonomy(content_engine)
    report = build_daily_content(content_engine, ContentCache(CacheResource(url=""), content_engine, NOW), topics, "2026-05-21", NOW, client)
    assert report.llm_failed == {"transport": 1} and report.chosen == {"library": 24}
