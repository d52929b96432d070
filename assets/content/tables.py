"""The wellbeing chat's tables (seed 003, CONTENT_DATABASE_URL): what the chat app writes (`chat_message`,
`topic`, `content_item`), what the platform writes (`message_topic`, recommendations, popular topics,
daily choices), and their bookkeeping (change log, per-user state, cache writes still owed to Redis).

Registered on `appdb.base.metadata`; `appdb/schema.py` lists this module with CONTENT_DATABASE_URL.
"""

from pathlib import Path

from sqlalchemy import CheckConstraint, Column, Engine, Float, ForeignKey, Index, Integer, String, Table, Text, func

from appdb.base import Id, Timestamp, change_log_table, metadata
from appdb.engine import run_script

SQL_DIR = Path(__file__).resolve().parent / "sql"

# Written by the chat app.
chat_message = Table(
    "chat_message",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
    Index(None, "user_id", "created_at"),
    Index(None, "created_at"),
)

# The taxonomy: Russian names and descriptions, comma-separated keywords.
topic = Table(
    "topic",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("keywords", Text, nullable=False, server_default=""),
)

# The library of articles, quotes and videos per topic.
content_item = Table(
    "content_item",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("topic_slug", String(64), ForeignKey("topic.slug", ondelete="CASCADE"), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False, server_default=""),
    Column("url", String(2000)),
    Column("language", String(8), nullable=False, server_default="ru"),
    Column("created_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
    CheckConstraint("kind IN ('article', 'quote', 'video')", name="kind_known"),
    Index(None, "topic_slug", "kind"),
)

# The topic of each message (topic_slug NULL: "none", nothing in the taxonomy fits). A row exists for
# every classified message, so "without a topic yet" is an anti-join.
message_topic = Table(
    "message_topic",
    metadata,
    Column("message_id", Id, ForeignKey("chat_message.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("topic_slug", String(64)),
    Column("score", Float, nullable=False),
    Column("method", String(32), nullable=False),  # local, local+model, llm, local(llm_rejected)
    Column("created_at", Timestamp, nullable=False),
    Index(None, "created_at"),
    Index(None, "topic_slug", "created_at"),
)

# Users whose topics changed after their last recommendations (user_recommendations reads this).
content_user_state = Table(
    "content_user_state",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("topics_changed_at", Timestamp, nullable=False),
    Column("recommended_at", Timestamp),
    Index(None, "topics_changed_at"),
)

# What each user was last recommended, and when: nothing recommended within a day is recommended again.
content_recommendation = Table(
    "content_recommendation",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("content_id", Id, ForeignKey("content_item.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("recommended_at", Timestamp, nullable=False),
    Index(None, "recommended_at"),
)

# Topic counts over the sliding window ending at `window_end` (a 30-minute boundary), with the
# previous window's count.
popular_topic = Table(
    "popular_topic",
    metadata,
    Column("window_end", Timestamp, primary_key=True),
    Column("topic_slug", String(64), primary_key=True),
    Column("messages", Integer, nullable=False),
    Column("previous", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
)

# The article and quote of each topic for a day (daily_content's partition): chosen once, kept.
daily_content_choice = Table(
    "daily_content_choice",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("topic_slug", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("content_id", Id, ForeignKey("content_item.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(16), nullable=False),  # library or llm
    Column("chosen_at", Timestamp, nullable=False),
)

# Redis writes a run could not make (Redis down): the next run writes them with their remaining TTL.
content_cache_pending = Table(
    "content_cache_pending",
    metadata,
    Column("cache_key", String(500), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index(None, "expires_at"),
)

# Change capture for chat_messages_sensor (like post_change): triggers
# (sql/chat_message_change.<dialect>.sql) log every insert and text edit of a message.
chat_message_change = change_log_table(
    "chat_message_change",
    Column("message_id", Id, nullable=False),
)

CAPTURE_SCRIPTS = {
    "postgresql": SQL_DIR / "chat_message_change.postgresql.sql",
    "sqlite": SQL_DIR / "chat_message_change.sqlite.sql",
}


def install_triggers(engine: Engine) -> None:
    """(Re)create the chat message capture triggers; idempotent. The tables must exist."""
    run_script(engine, CAPTURE_SCRIPTS[engine.dialect.name].read_text())
