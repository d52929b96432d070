"""Invalidation of the applications' similar-products cache, crash-safe and targeted.

Assumed key layout (SIMILAR_CACHE_PATTERN, default `rec:similar:*`): the pattern's one trailing `*`
stands for a product id, so product 946's similar products are cached at exactly `rec:similar:946`,
and the value lists its neighbours as JSON: product ids, or objects with `id` / `product_id` (any
other value: only the key itself is deleted).

A run whose points changed owes the keys of those products: the ids are recorded
(`product_vector_cache_owed`) before the Qdrant write, and after the run their keys go, together with
the keys of the neighbours their cached lists name (those lists likely hold the changed product). The
rest of the cache is left alone. Everything matching the pattern is deleted (SCAN + UNLINK) only
for a full re-index: a `force` run (marked dirty before its first write), more than TARGETED_MAX owed
products, or a pattern that is not `<prefix>*`. Marks and owed ids stay until Redis said yes, so a
crashed run or a Redis outage is caught up by the next run, even when that run changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import Engine, delete, insert, select

from appdb.recsys_tables import product_vector_cache, product_vector_cache_owed
from resources.cache import CacheResource, Invalidation

TARGETED_MAX = 10_000  # owed products above which dropping the whole cache is cheaper and as right


def mark_dirty(engine: Engine, collection: str) -> None:
    """A full re-index: the whole pattern goes after the run."""
    with engine.begin() as conn:
        dirty = conn.execute(
            select(product_vector_cache.c.dirty_since).where(product_vector_cache.c.collection == collection)
        ).scalar_one_or_none()
        if dirty is None:
            conn.execute(delete(product_vector_cache).where(product_vector_cache.c.collection == collection))
            conn.execute(insert(product_vector_cache), {"collection": collection, "dirty_since": datetime.now(timezone.utc)})


def owe(engine: Engine, collection: str, product_ids: Iterable[int]) -> None:
    """Record the products whose points are about to change (before the write)."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    table = product_vector_cache_owed
    with engine.begin() as conn:
        known = set(conn.execute(
            select(table.c.product_id).where(table.c.collection == collection, table.c.product_id.in_(ids))
        ).scalars())
        rows = [{"collection": collection, "product_id": pid} for pid in ids if pid not in known]
        if rows:
            conn.execute(insert(table), rows)


def key_prefix(pattern: str) -> str | None:
    """`rec:similar:` for `rec:similar:*`; None when the pattern is not one prefix and a trailing `*`."""
    prefix = pattern[:-1]
    if not pattern.endswith("*") or any(ch in prefix for ch in "*?[]\\"):
        return None
    return prefix


def invalidate_owed(engine: Engine, cache: CacheResource, collection: str, pattern: str) -> Invalidation:
    """Delete what the runs so far owe: the whole pattern after a full re-index, else the changed
    products' keys and their cached neighbours'."""
    if not cache.enabled:
        return Invalidation(pattern, None, "skipped: REDIS_URL unset")
    owed_table = product_vector_cache_owed
    with engine.connect() as conn:
        dirty = conn.execute(
            select(product_vector_cache.c.dirty_since).where(product_vector_cache.c.collection == collection)
        ).scalar_one_or_none()
        owed = sorted(conn.execute(select(owed_table.c.product_id).where(owed_table.c.collection == collection)).scalars())
    prefix = key_prefix(pattern)
    if dirty is not None or len(owed) > TARGETED_MAX or (owed and prefix is None):
        why = ("full re-index" if dirty is not None else
               f"{len(owed)} changed products > {TARGETED_MAX}" if len(owed) > TARGETED_MAX else "pattern is not <prefix>*")
        result = cache.delete_matching(pattern)
        with engine.begin() as conn:
            conn.execute(delete(product_vector_cache).where(product_vector_cache.c.collection == collection))
            conn.execute(delete(owed_table).where(owed_table.c.collection == collection))
        return Invalidation(pattern, result.deleted, f"{result.summary} ({why})")
    if not owed:
        return Invalidation(pattern, None, "not needed: no point changed")
    deleted, neighbours = cache.delete_similar(prefix, owed)
    with engine.begin() as conn:
        for start in range(0, len(owed), 1000):
            conn.execute(delete(owed_table).where(
                owed_table.c.collection == collection, owed_table.c.product_id.in_(owed[start : start + 1000])))
    return Invalidation(
        pattern, deleted,
        f"{deleted} keys deleted: the cached similar lists of {len(owed)} changed products and of {neighbours} "
        f"cached neighbours ({prefix}<id>; the whole {pattern} only for full re-indexes)",
    )

