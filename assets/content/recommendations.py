"""What `user_recommendations` computes: for users whose topics changed since their last
recommendations, a ranked list of library items from their recent topics (recency-weighted: a
message's weight halves every RECENCY_HALF_LIFE) and the popular topics (a small share), never an item
recommended to them within the last day; into `content_recommendation` and Redis
`recommendations:{user_id}` (30 min)."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import Engine, or_, select, update

from assets.content.cache import RECOMMENDATIONS_TTL, CacheReport, ContentCache, Entry, recommendations_key
from assets.content.popular import latest_popular
from assets.content.store import as_utc, chunks, dialect_insert
from assets.content.tables import chat_message, content_item, content_recommendation, content_user_state, message_topic

HISTORY = timedelta(days=7)
RECENCY_HALF_LIFE_H = 24.0
NO_REPEAT = timedelta(days=1)
POPULAR_SHARE = 0.2
USERS_PER_RUN = 5000


@dataclass
class RecommendationReport:
    users: int = 0
    users_left: int = 0  # due users beyond USERS_PER_RUN (the next run takes them)
    users_without_items: int = 0
    items: int = 0
    cache: CacheReport = field(default_factory=CacheReport)


def due_users(engine: Engine, limit: int) -> tuple[list[str], int]:
    s = content_user_state.c
    due = or_(s.recommended_at.is_(None), s.topics_changed_at > s.recommended_at)
    with engine.connect() as conn:
        users = [r.user_id for r in conn.execute(select(s.user_id).where(due).order_by(s.topics_changed_at, s.user_id).limit(limit + 1))]
    return users[:limit], max(0, len(users) - limit)


def topic_weights(engine: Engine, users: Sequence[str], now: datetime) -> dict[str, dict[str, float]]:
    weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    query = (
        select(chat_message.c.user_id, chat_message.c.created_at, message_topic.c.topic_slug)
        .join(message_topic, message_topic.c.message_id == chat_message.c.id)
        .where(chat_message.c.user_id.in_(users), chat_message.c.created_at >= now - HISTORY, message_topic.c.topic_slug.is_not(None))
    )
    with engine.connect() as conn:
        for r in conn.execute(query):
            age_h = max(0.0, (now - as_utc(r.created_at)).total_seconds() / 3600)
            weights[r.user_id][r.topic_slug] += math.pow(0.5, age_h / RECENCY_HALF_LIFE_H)
    return weights


def _tiebreak(user_id: str, item_id: int, day: str) -> str:
    return hashlib.sha256(f"{user_id}:{item_id}:{day}".encode()).hexdigest()


def rank_items(
    user_id: str, weights: dict[str, float], popular: dict[str, int], library: dict[str, list[dict]],
    recent: set[int], day: str, limit: int,
) -> list[dict]:
    """Score each topic (own topics normalized to 1, popular ones up to POPULAR_SHARE), then take
    items topic by topic: the k-th item of a topic scores topic_score / (1 + k)."""
    own_total = sum(weights.values()) or 1.0
    top_popular = max(popular.values(), default=0) or 1
    scores = defaultdict(float)
    for slug, w in weights.items():
        scores[slug] += w / own_total
    for slug, n in popular.items():
        scores[slug] += POPULAR_SHARE * n / top_popular
    candidates = []
    for slug, topic_score in scores.items():
        items = sorted((i for i in library.get(slug, []) if i["id"] not in recent), key=lambda i: _tiebreak(user_id, i["id"], day))
        for k, item in enumerate(items[:limit]):
            candidates.append((topic_score / (1 + k), item))
    candidates.sort(key=lambda c: (-c[0], _tiebreak(user_id, c[1]["id"], day)))
    return [{**item, "score": round(score, 4), "rank": n + 1} for n, (score, item) in enumerate(candidates[:limit])]


def load_library(engine: Engine) -> dict[str, list[dict]]:
    library: dict[str, list[dict]] = defaultdict(list)
    c = content_item.c
    with engine.connect() as conn:
        for r in conn.execute(select(c.id, c.kind, c.topic_slug, c.title, c.url)):
            library[r.topic_slug].append({"id": r.id, "kind": r.kind, "topic": r.topic_slug, "title": r.title, "url": r.url})
    return library


def recommend(engine: Engine, cache: ContentCache, now: datetime, *, limit: int = 10) -> RecommendationReport:
    report = RecommendationReport()
    users, report.users_left = due_users(engine, USERS_PER_RUN)
    if not users:
        report.cache = cache.write([])
        return report
    library, popular = load_library(engine), latest_popular(engine)
    day = now.date().isoformat()
    entries = []
    r = content_recommendation.c
    for batch in chunks(users, 500):
        weights = topic_weights(engine, batch, now)
        with engine.connect() as conn:
            recent_rows = conn.execute(select(r.user_id, r.content_id).where(r.user_id.in_(batch), r.recommended_at > now - NO_REPEAT))
            recent: dict[str, set[int]] = defaultdict(set)
            for row in recent_rows:
                recent[row.user_id].add(row.content_id)
        rows = []
        for user_id in batch:
            ranked = rank_items(user_id, weights.get(user_id, {}), popular, library, recent[user_id], day, limit)
            report.users += 1
            report.items += len(ranked)
            if not ranked:
                report.users_without_items += 1
            rows += [{"user_id": user_id, "content_id": i["id"], "rank": i["rank"], "score": i["score"], "recommended_at": now} for i in ranked]
            entries.append(Entry(recommendations_key(user_id), {"user_id": user_id, "generated_at": now.isoformat(), "items": ranked}, RECOMMENDATIONS_TTL))
        with engine.begin() as conn:
            if rows:
                statement = dialect_insert(conn, content_recommendation).values(rows)
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[r.user_id, r.content_id],
                        set_={k: statement.excluded[k] for k in ("rank", "score", "recommended_at")},
                    )
                )
            conn.execute(update(content_user_state).where(content_user_state.c.user_id.in_(batch)).values(recommended_at=now))
    report.cache = cache.write(entries)
    return report
