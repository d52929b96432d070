"""The content demo step on a fresh SQLite database: seeds the chat, classifies, recommends, shows."""

import dagster as dg

from assets.content.demo import demo_content
from assets.content.demo_data import build_demo
from orchestration.definitions import build_definitions
from orchestration.settings import Settings


def test_demo_data_is_deterministic_and_russian():
    a, b = build_demo(), build_demo()
    assert [m["text"] for m in a["chat_message"]] == [m["text"] for m in b["chat_message"]]
    assert (len(a["topic"]), len(a["content_item"]), len(a["chat_message"])) == (12, 300, 3000)
    assert len({m["user_id"] for m in a["chat_message"]}) >= 250


def test_the_demo_step_shows_topics_and_a_users_recommendations(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)  # secrets reach resources as EnvVar
    monkeypatch.setenv("REDIS_URL", "")
    defs = build_definitions(Settings({"DATABASE_URL": sqlite_url, "DATA_DIR": str(tmp_path)}))
    with dg.instance_for_test() as instance:
        lines = demo_content(instance, defs)
    text = "\n".join(lines)
    assert "seeded: 12 topic, 300 content_item, 3000 chat_message" in text
    assert "message_topics: 3000 messages" in text and "a second run finds 0 messages without a topic" in text
    assert "recommendations of u" in text and "  1. [" in text
    assert "daily_content[" in text and "'library': 24" in text
