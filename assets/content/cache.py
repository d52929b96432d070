"""Writing the chat's Redis keys (JSON values, fixed TTLs), and owing the writes Redis refused.

Key names and TTLs are the seed's (DESIGN.md, seed 003). When Redis is unreachable the writes are
kept in `content_cache_pending` with their expiry; the next run of any content asset writes them
first, with the TTL they have left (a write whose TTL has run out is dropped: the key would be gone
by now anyway). REDIS_URL unset means "no cache": nothing is written or owed, and the run says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import Engine, delete, select

from assets.content.store import as_utc, dialect_insert
from assets.content.tables import content_cache_pending
from resources.cache import CacheResource

USER_TOPIC_TTL = 3600
RECOMMENDATIONS_TTL = 1800
DAILY_TTL = 86400


def user_topic_key(user_id: str) -> str:
    return f"user_topic:{user_id}"


def recommendations_key(user_id: str) -> str:
    return f"recommendations:{user_id}"


def article_key(topic: str, day: str) -> str:
    return f"article:{topic}:{day}"


def quote_key(topic: str, day: str) -> str:
    return f"quote:{topic}:{day}"


def daily_content_key(day: str) -> str:
    return f"daily_content:{day}"


@dataclass(frozen=True)
class Entry:
    key: str
    value: Any  # JSON-serializable
    ttl_s: int


@dataclass
class CacheReport:
    written: int = 0
    deferred: int = 0  # owed: kept in content_cache_pending for the next run
    pending_written: int = 0  # owed writes of earlier runs made now
    pending_expired: int = 0
    skipped_reason: str = ""
    deferred_keys: list[str] = field(default_factory=list)

    def metadata(self) -> dict:
        return {
            "cache_written": self.written,
            "cache_deferred": self.deferred,
            "cache_deferred_examples": ", ".join(self.deferred_keys[:10]) or "none",
            "cache_owed_written": self.pending_written,
            "cache_owed_expired": self.pending_expired,
            "cache_status": self.skipped_reason or "ok",
        }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class ContentCache:
    def __init__(self, cache: CacheResource, engine: Engine, now: datetime):
        self.cache = cache
        self.engine = engine
        self.now = now
        self.report = CacheReport()

    def write(self, entries: Iterable[Entry]) -> CacheReport:
        """Flush what earlier runs owe, then write `entries`; defer everything when Redis is down."""
        entries = list(entries)
        if not self.cache.enabled:
            self.report.skipped_reason = "skipped: REDIS_URL unset (no cache)"
            return self.report
        import redis

        try:
            self._flush_pending()
            self._set([(e.key, _dump(e.value), e.ttl_s) for e in entries])
            self.report.written += len(entries)
        except redis.RedisError as exc:
            reason = f"Redis unavailable: {exc.__class__.__name__}: {exc}"[:500]
            self.report.skipped_reason = reason
            self._defer(entries, reason)
        return self.report

    def _set(self, items: list[tuple[str, str, int]]) -> None:
        if not items:
            return
        client = self.cache.redis()
        try:
            for start in range(0, len(items), 1000):
                pipe = client.pipeline(transaction=False)
                for key, value, ttl in items[start : start + 1000]:
                    pipe.set(key, value, ex=ttl)
                pipe.execute()
        finally:
            client.close()

    def _flush_pending(self) -> None:
        c = content_cache_pending.c
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(select(content_cache_pending).order_by(c.cache_key).limit(1000)).all()
            if not rows:
                return
            live = [(r.cache_key, r.value, int((as_utc(r.expires_at) - self.now).total_seconds())) for r in rows]
            self._set([item for item in live if item[2] > 0])
            self.report.pending_written += sum(1 for item in live if item[2] > 0)
            self.report.pending_expired += sum(1 for item in live if item[2] <= 0)
            with self.engine.begin() as conn:
                conn.execute(delete(content_cache_pending).where(c.cache_key.in_([r.cache_key for r in rows])))

    def _defer(self, entries: list[Entry], reason: str) -> None:
        self.report.deferred += len(entries)
        self.report.deferred_keys += [e.key for e in entries[:10]]
        rows = [
            {"cache_key": e.key, "value": _dump(e.value), "expires_at": self.now + timedelta(seconds=e.ttl_s),
             "reason": reason, "created_at": self.now}
            for e in entries
        ]
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                statement = dialect_insert(conn, content_cache_pending).values(rows[start : start + 500])
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[c for c in content_cache_pending.primary_key.columns],
                        set_={k: statement.excluded[k] for k in ("value", "expires_at", "reason", "created_at")},
                    )
                )
