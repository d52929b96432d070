"""`message_topics`: the topic of every chat message (message_topic, Redis user_topic:{user_id}), and
its `messages_classified` check."""

import time
from datetime import datetime, timedelta, timezone

import dagster as dg
from pydantic import Field

from assets.content.cache import ContentCache
from assets.content.config import ContentSettings
from assets.content.taxonomy import load_taxonomy
from assets.content.topics import classify_messages, count_untopiced
from assets.metadata import md_counts
from resources.cache import CacheResource
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.llm import LLMResource

CHAT_MESSAGES = dg.AssetSpec(
    "chat_messages",
    group_name="content",
    kinds={"sql"},
    description="Messages of the wellbeing chat (table chat_message, written by the chat app; CONTENT_DATABASE_URL).",
    metadata={"dagster/table_name": "chat_message"},
)
MESSAGES_CLASSIFIED = "messages_classified"


class MessageTopicsConfig(dg.Config):
    message_ids: list[int] | None = Field(
        default=None,
        description="Messages to classify (again), as chat_messages_sensor passes them; every message without a topic is classified in any case.",
    )


@dg.asset(
    name="message_topics",
    group_name="content",
    deps=[CHAT_MESSAGES],
    kinds={"python", "sql", "redis"},
    description=(
        "The topic of each chat message ('стресс', 'сон', ... or none) in message_topic, with score and method, and "
        "each affected user's current topic in Redis user_topic:{user_id} (1 h). TOPIC_CLASSIFIER=local (a linear "
        "model over Russian lemmas and character n-grams, trained on the taxonomy and TOPIC_EXAMPLES) or llm. chat_messages_sensor runs it in micro-batches; materialized by hand it "
        "classifies every message without a topic. Replaces seed 003's extract_topic_from_message task."
    ),
    metadata={"dagster/table_name": "message_topic"},
    tags={"dagster/max_runtime": str(3600)},
)
def message_topics(
    context: dg.AssetExecutionContext,
    config: MessageTopicsConfig,
    content_database: DatabaseResource,
    content: ContentSettings,
    cache: CacheResource,
    text_embedder: TextEmbedderResource,
    llm: LLMResource,
) -> dg.MaterializeResult:
    started = time.perf_counter()
    engine = content_database.engine
    now = datetime.now(timezone.utc)
    topics = load_taxonomy(engine)
    classifier = content.build_classifier(topics, text_embedder, llm)
    report = classify_messages(
        engine, classifier, ContentCache(cache, engine, now), {t.slug: t.name for t in topics},
        since=now - timedelta(days=content.retention_days), now=now, message_ids=config.message_ids, log=context.log.debug,
    )
    rejected = getattr(classifier, "rejected", None)
    local = getattr(classifier, "fallback", classifier)
    context.log.info(
        f"{report.messages} messages: {report.with_topic} with a topic, {report.none} none; rows {report.inserted} new, "
        f"{report.updated} changed, {report.unchanged} unchanged; {report.users} users; odd input {dict(report.flags)}; "
        f"cache: {report.cache.skipped_reason or 'ok'} ({report.cache.written} written, {report.cache.deferred} deferred)"
    )
    if report.cache.deferred:
        context.log.warning(f"{report.cache.deferred} user_topic writes deferred to the next run: {report.cache.skipped_reason}")
    return dg.MaterializeResult(
        metadata={
            "messages": report.messages,
            "messages_with_topic": report.with_topic,
            "messages_none": report.none,
            "by_topic": md_counts(report.by_topic),
            "odd_input": md_counts(report.flags),
            "methods": md_counts(report.methods),
            "examples_used": local.examples_used,
            "examples_skipped_unknown_topic": local.examples_skipped,
            "llm_answers_rejected": md_counts(rejected) if rejected is not None else "llm not used",
            "rows_inserted": report.inserted,
            "rows_updated": report.updated,
            "rows_unchanged": report.unchanged,
            "users_affected": report.users,
            **report.cache.metadata(),
            "seconds_classifying": round(report.seconds_classifying, 3),
            "seconds_writing": round(report.seconds_writing, 3),
            "seconds_total": round(time.perf_counter() - started, 3),
        }
    )


@dg.asset_check(
    asset=message_topics,
    name=MESSAGES_CLASSIFIED,
    description="No message older than 10 minutes (and within CONTENT_RETENTION_DAYS) is still without a topic: the sensor keeps up.",
)
def messages_classified(content_database: DatabaseResource, content: ContentSettings) -> dg.AssetCheckResult:
    now = datetime.now(timezone.utc)
    engine = content_database.engine
    stale = count_untopiced(engine, now - timedelta(days=content.retention_days)) - count_untopiced(engine, now - timedelta(minutes=10))
    return dg.AssetCheckResult(passed=stale == 0, severity=dg.AssetCheckSeverity.WARN, metadata={"messages_waiting_over_10_min": stale})
