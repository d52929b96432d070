"""Content fixtures: the demo taxonomy and a small library in the database, messages, Redis db 5."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from assets.content.tables import chat_message, content_item, topic
from assets.content.taxonomy import demo_taxonomy
from resources.cache import CacheResource
from tests.support.http import Reply

# This engineer's Redis database (tests never touch another one).
REDIS_URL = os.environ.get("TEST_CONTENT_REDIS_URL", "redis://127.0.0.1:6379/5")
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=timezone.utc)


def seed_taxonomy(engine, items_per_kind: int = 3) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(topic),
            [{"slug": t.slug, "name": t.name, "description": t.description, "keywords": ", ".join(t.keywords)} for t in demo_taxonomy()],
        )
        rows = [
            {"kind": kind, "topic_slug": t.slug, "title": f"{kind} {t.slug} {i}", "body": "текст", "url": None, "created_at": NOW}
            for t in demo_taxonomy() for kind in ("article", "quote", "video") for i in range(items_per_kind)
        ]
        conn.execute(insert(content_item), rows)


def add_messages(engine, rows: list[tuple[str, str, datetime]]) -> list[int]:
    """rows: (user_id, text, created_at); returns the new ids in order."""
    ids = []
    with engine.begin() as conn:
        for user_id, text, at in rows:
            ids.append(conn.execute(insert(chat_message).values(user_id=user_id, text=text, created_at=at).returning(chat_message.c.id)).scalar_one())
    return ids


@pytest.fixture
def content_engine(engine):
    seed_taxonomy(engine)
    return engine


@pytest.fixture
def redis_cache():
    cache = CacheResource(url=REDIS_URL)
    client = cache.redis()
    client.ping()
    yield cache, client
    client.close()


@pytest.fixture
def user_prefix(redis_cache):
    """A unique user-id prefix: keys user_topic:{prefix}..., deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    yield prefix
    _, client = redis_cache
    for pattern in (f"user_topic:{prefix}*", f"recommendations:{prefix}*"):
        keys = list(set(client.scan_iter(match=pattern)))
        if keys:
            client.unlink(*keys)


def chat_answer(content: str) -> Reply:
    body = {
        "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55},
    }
    return Reply(200, json.dumps(body).encode(), "application/json")
