"""Posts fixtures: posts in the database, a chat-completions endpoint on the local HTTP server."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from appdb.tables import post
from assets.posts.store import upsert_enrichments
from resources.llm import ChatCompletionsClient
from tests.support.http import Reply

DAY = datetime(2026, 3, 10, tzinfo=timezone.utc)
DAY_KEY = "2026-03-10"


def at(hour: int, minute: int = 0, day: datetime = DAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


def insert_posts(engine, rows: list[tuple[int, str, str, datetime]]) -> None:
    """rows: (id, channel, text, posted_at)."""
    with engine.begin() as conn:
        conn.execute(post.insert(), [{"id": i, "channel": c, "text": t, "posted_at": p, "updated_at": p} for i, c, t, p in rows])


def set_tags(engine, tags: dict[int, list[str]]) -> None:
    """Persist tags as post_tags would (post_enrichment kind='tags')."""
    with engine.begin() as conn:
        upsert_enrichments(conn, "tags", {pid: {"tags": t} for pid, t in tags.items()}, datetime.now(timezone.utc))


def chat_answer(content: str | None, finish_reason: str = "stop", refusal: str | None = None) -> Reply:
    """A chat-completions response as OpenAI-compatible APIs send it."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }
    return Reply(200, json.dumps(body).encode(), "application/json")


def tags_answer(*tags: str) -> Reply:
    return chat_answer(json.dumps({"tags": list(tags)}))


@pytest.fixture
def llm_client(http_server):
    """A client of the local server's /v1/chat/completions, with fast retries."""
    return ChatCompletionsClient(
        http_server.url("/v1"), "test-model", "sk-test", read_timeout_s=5, attempts=3,
        retry_max_wait_s=0.05, retry_multiplier_s=0.01,
    )
