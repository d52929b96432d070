"""What `popular_topics` computes: topic counts over the sliding window ending at the last 30-minute
boundary, with the previous window's counts, into `popular_topic` (replaced per window end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, delete, func, insert, select

from assets.content.store import as_utc
from assets.content.tables import chat_message, message_topic, popular_topic


def window_end_of(now: datetime) -> datetime:
    now = as_utc(now)
    return now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)


@dataclass(frozen=True)
class PopularTopic:
    topic: str
    messages: int
    previous: int
    rank: int

    @property
    def change(self) -> float | None:
        return None if not self.previous else round((self.messages - self.previous) / self.previous, 3)


def compute_popular_topics(engine: Engine, window_end: datetime, window: timedelta) -> list[PopularTopic]:
    start, previous_start = window_end - window, window_end - 2 * window
    at = chat_message.c.created_at
    current = func.sum(case((at > start, 1), else_=0))
    previous = func.sum(case((at <= start, 1), else_=0))
    query = (
        select(message_topic.c.topic_slug, current.label("messages"), previous.label("previous"))
        .join(chat_message, chat_message.c.id == message_topic.c.message_id)
        .where(message_topic.c.topic_slug.is_not(None), at > previous_start, at <= window_end)
        .group_by(message_topic.c.topic_slug)
    )
    with engine.connect() as conn:
        rows = sorted(conn.execute(query).all(), key=lambda r: (-int(r.messages), r.topic_slug))
    result = [PopularTopic(r.topic_slug, int(r.messages), int(r.previous), i + 1) for i, r in enumerate(rows)]
    with engine.begin() as conn:
        conn.execute(delete(popular_topic).where(popular_topic.c.window_end == window_end))
        if result:
            conn.execute(
                insert(popular_topic),
                [{"window_end": window_end, "topic_slug": p.topic, "messages": p.messages, "previous": p.previous, "rank": p.rank} for p in result],
            )
    return result


def latest_popular(engine: Engine) -> dict[str, int]:
    """{topic: messages} of the newest stored window (empty before the first run)."""
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(popular_topic.c.window_end))).scalar()
        if newest is None:
            return {}
        rows = conn.execute(select(popular_topic.c.topic_slug, popular_topic.c.messages).where(popular_topic.c.window_end == newest))
        return {r.topic_slug: int(r.messages) for r in rows if r.messages}
