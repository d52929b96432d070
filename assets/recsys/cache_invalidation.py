"""Invalidation of the applications' similar-products cache, crash-safe.

The collection is marked dirty before a run's first Qdrant write and clean once the cache keys are
gone, so a run that died in between (or a Redis outage) is caught up by the next run, even when
that run itself changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, delete, insert, select

from appdb.recsys_tables import product_vector_cache
from resources.cache import CacheResource, Invalidation


def mark_dirty(engine: Engine, collection: str) -> None:
    with engine.begin() as conn:
        dirty = conn.execute(
            select(product_vector_cache.c.dirty_since).where(product_vector_cache.c.collection == collection)
        ).scalar_one_or_none()
        if dirty is None:
            conn.execute(delete(product_vector_cache).where(product_vector_cache.c.collection == collection))
            conn.execute(insert(product_vector_cache), {"collection": collection, "dirty_since": datetime.now(timezone.utc)})


def invalidate_if_dirty(engine: Engine, cache: CacheResource, collection: str, pattern: str) -> Invalidation:
    if not cache.enabled:
        return Invalidation(pattern, None, "skipped: REDIS_URL unset")
    with engine.connect() as conn:
        dirty = conn.execute(
            select(product_vector_cache.c.dirty_since).where(product_vector_cache.c.collection == collection)
        ).scalar_one_or_none()
    if dirty is None:
        return Invalidation(pattern, None, "not needed: no point changed")
    result = cache.delete_matching(pattern)
    with engine.begin() as conn:
        conn.execute(delete(product_vector_cache).where(product_vector_cache.c.collection == collection))
    return result
