"""The content part of `make demo`: seed the chat's demo data when there is none, classify every
message and recommend (chat_messages_job), popular topics, today's daily content, a cleanup dry run;
show messages with their topics and one user's recommendations."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
from sqlalchemy import select

from assets.content.cleanup_job import CLEANUP_JOB
from assets.content.demo_data import has_demo, seed_content
from assets.content.schedules import CHAT_MESSAGES_JOB, DAILY_CONTENT_JOB, POPULAR_TOPICS_JOB
from assets.content.tables import chat_message, content_item, content_recommendation, message_topic, popular_topic, topic


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()} if events else {}


def demo_content(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    engine = defs.resources["content_database"].process_config_and_initialize().engine
    lines = []
    if not has_demo(engine):
        counts = seed_content(engine)
        lines.append("seeded: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    run = defs.resolve_job_def(CHAT_MESSAGES_JOB).execute_in_process(instance=instance)
    topics, recs = _metadata(run, "message_topics"), _metadata(run, "user_recommendations")
    lines.append(
        f"message_topics: {topics.get('messages')} messages, {topics.get('messages_with_topic')} with a topic, "
        f"{topics.get('messages_none')} none ({topics.get('seconds_classifying')} s classifying); cache: {topics.get('cache_status')}"
    )
    popular = defs.resolve_job_def(POPULAR_TOPICS_JOB).execute_in_process(instance=instance)
    run_again = defs.resolve_job_def(CHAT_MESSAGES_JOB).execute_in_process(instance=instance)
    lines.append(f"  a second run finds {_metadata(run_again, 'message_topics').get('messages')} messages without a topic")
    lines.append(f"user_recommendations: {recs.get('users')} users, {recs.get('items')} items")
    today = datetime.now(timezone.utc).date().isoformat()
    daily = defs.resolve_job_def(DAILY_CONTENT_JOB).execute_in_process(instance=instance, partition_key=today)
    meta = _metadata(daily, "daily_content")
    lines.append(f"daily_content[{today}]: {meta.get('topics')} topics, chosen {meta.get('chosen_now')}, kept {meta.get('kept_from_earlier_runs')}")
    with engine.connect() as conn:
        names = dict(conn.execute(select(topic.c.slug, topic.c.name)).all())
        examples = conn.execute(
            select(chat_message.c.user_id, chat_message.c.text, message_topic.c.topic_slug, message_topic.c.score)
            .join(message_topic, message_topic.c.message_id == chat_message.c.id)
            .order_by(chat_message.c.id.desc()).limit(8)
        ).all()
        window = conn.execute(select(popular_topic).order_by(popular_topic.c.window_end.desc(), popular_topic.c.rank).limit(5)).all()
        user = examples[0].user_id if examples else None
        picks = conn.execute(
            select(content_recommendation.c.rank, content_item.c.kind, content_item.c.topic_slug, content_item.c.title)
            .join(content_item, content_item.c.id == content_recommendation.c.content_id)
            .where(content_recommendation.c.user_id == user).order_by(content_recommendation.c.rank).limit(5)
        ).all()
    lines.append("messages and their topics:")
    for e in examples:
        lines.append(f"  {e.user_id}: {e.text[:70]!r} -> {names.get(e.topic_slug, 'none')} ({e.score:.2f})")
    lines.append(f"recommendations of {user}:")
    lines += [f"  {p.rank}. [{p.kind}, {names.get(p.topic_slug)}] {p.title}" for p in picks]
    lines.append("popular topics: " + ", ".join(f"{names.get(w.topic_slug)} {w.messages} (prev {w.previous})" for w in window))
    assert popular.success
    cleanup = defs.resolve_job_def(CLEANUP_JOB).execute_in_process(
        instance=instance, run_config={"ops": {"cleanup_old_content": {"config": {"dry_run": True}}}}
    )
    observed = [e for e in cleanup.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    meta = {k: v.value for k, v in observed[0].event_specific_data.asset_observation.metadata.items()} if observed else {}
    lines.append(f"cleanup_old_content_job (dry run): rows {meta.get('rows_deleted')}, keys {meta.get('keys_deleted')} ({meta.get('keys_status')})")
    return lines
