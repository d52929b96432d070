"""What cleanup_old_content_job removes: cached daily keys (`article:*`, `quote:*`, `daily_content:*`)
whose date is before today, walked with SCAN (never KEYS) and UNLINKed in batches; message topics,
recommendations, popular-topic windows and daily choices older than CONTENT_RETENTION_DAYS; owed
cache writes that have expired. Dry-run counts without deleting."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from assets.content.tables import content_cache_pending, content_recommendation, daily_content_choice, message_topic, popular_topic
from resources.cache import CacheResource, scan_batches

DATED_PATTERNS = ("article:*", "quote:*", "daily_content:*")
DATE_AT_END = re.compile(r":(\d{4}-\d{2}-\d{2})$")
BATCH = 1000


@dataclass
class CleanupReport:
    dry_run: bool
    keys: dict[str, int] = field(default_factory=dict)  # pattern -> keys (to be) deleted
    keys_status: str = "ok"
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows (to be) deleted


def clean_cache(cache: CacheResource, today: date, dry_run: bool, report: CleanupReport) -> None:
    if not cache.enabled:
        report.keys_status = "skipped: REDIS_URL unset"
        return
    client = cache.redis()
    try:
        for pattern in DATED_PATTERNS:
            found = 0
            for keys in scan_batches(client, pattern, cache.scan_batch):
                past = [raw for raw in keys if _dated_before(raw, today)]
                found += len(past)
                if past and not dry_run:
                    client.unlink(*past)
            report.keys[pattern] = found
    finally:
        client.close()


def _dated_before(raw: bytes | str, today: date) -> bool:
    m = DATE_AT_END.search(raw.decode() if isinstance(raw, bytes) else raw)
    return bool(m) and m.group(1) < today.isoformat()


def _delete(engine: Engine, table, key, condition, dry_run: bool) -> int:
    if dry_run:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
    total = 0
    while True:
        batch = select(key).where(condition).limit(BATCH)
        with engine.begin() as conn:
            removed = conn.execute(delete(table).where(key.in_(batch.scalar_subquery()))).rowcount
        total += removed
        if removed < BATCH:
            return total


def clean_rows(engine: Engine, now: datetime, retention_days: int, dry_run: bool, report: CleanupReport) -> None:
    cutoff = now - timedelta(days=retention_days)
    report.rows["message_topic"] = _delete(engine, message_topic, message_topic.c.message_id, message_topic.c.created_at < cutoff, dry_run)
    report.rows["popular_topic"] = _delete(engine, popular_topic, popular_topic.c.window_end, popular_topic.c.window_end < cutoff, dry_run)
    report.rows["daily_content_choice"] = _delete(
        engine, daily_content_choice, daily_content_choice.c.day, daily_content_choice.c.day < cutoff.date().isoformat(), dry_run
    )
    # Recommendations only matter for the no-repeat day; two days of them are kept for inspection.
    report.rows["content_recommendation"] = _delete(
        engine, content_recommendation, content_recommendation.c.recommended_at,
        content_recommendation.c.recommended_at < now - timedelta(days=2), dry_run,
    )
    report.rows["content_cache_pending"] = _delete(
        engine, content_cache_pending, content_cache_pending.c.cache_key, content_cache_pending.c.expires_at < now, dry_run
    )
