"""The applications' Redis cache as a resource (REDIS_URL). Unset means "no cache": callers report a skip.

Invalidation by pattern walks the key space with SCAN in batches and UNLINKs each batch: never KEYS,
which blocks Redis for the whole scan on a large database. `scan_batches` is that walk for every Redis
cleanup of the platform: SCAN may return a key twice (while Redis rehashes), and it yields each once. Targeted invalidation (`delete_similar`)
touches only the keys of the products named and of the neighbours their cached values list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from orchestration.settings import setting_field


@dataclass(frozen=True)
class Invalidation:
    pattern: str
    deleted: int | None  # None: skipped
    reason: str = ""  # why skipped; or, when keys were deleted, what was deleted (default: the pattern's keys)

    @property
    def summary(self) -> str:
        if self.deleted is None or self.reason:
            return self.reason
        return f"{self.deleted} keys matching {self.pattern} deleted"


def scan_batches(client, pattern: str, count: int) -> Iterator[list]:
    """The keys matching `pattern` (Redis glob), one list per SCAN reply (perhaps empty), each key once:
    SCAN may return a key more than once, e.g. while Redis rehashes after mass deletes."""
    seen: set = set()
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor=cursor, match=pattern, count=count)
        fresh = [key for key in dict.fromkeys(keys) if key not in seen]
        seen.update(fresh)
        yield fresh
        if cursor == 0:
            return


def neighbour_ids(value: bytes | None) -> set[int]:
    """The product ids a cached similar-products list names: a JSON list of ids, or of objects with
    `id` / `product_id` (also under a top-level `items` / `results` / `similar`). Anything else: none."""
    if not value:
        return set()
    try:
        data = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return set()
    if isinstance(data, dict):
        data = next((data[k] for k in ("items", "results", "similar") if isinstance(data.get(k), list)), [])
    ids = set()
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict):
            entry = entry.get("product_id", entry.get("id"))
        if isinstance(entry, int) and not isinstance(entry, bool):
            ids.add(entry)
        elif isinstance(entry, str) and entry.isdigit():
            ids.add(int(entry))
    return ids


class CacheResource(dg.ConfigurableResource):
    url: str = setting_field("REDIS_URL")
    socket_timeout_s: float = Field(default=5.0, description="Connect and read timeout, seconds.")
    scan_batch: int = Field(default=500, description="Keys asked for per SCAN call and deleted per UNLINK.")
    retries: int = Field(default=3, description="Attempts on a connection error or timeout.")

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def redis(self):
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        return redis.Redis.from_url(
            self.url,
            socket_timeout=self.socket_timeout_s,
            socket_connect_timeout=self.socket_timeout_s,
            retry=Retry(ExponentialBackoff(cap=5, base=0.2), self.retries),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )

    def delete_matching(self, pattern: str) -> Invalidation:
        """Delete every key matching `pattern` (Redis glob); the count, or a skip without REDIS_URL."""
        if not self.enabled:
            return Invalidation(pattern, None, "skipped: REDIS_URL unset")
        client = self.redis()
        deleted = 0
        try:
            for keys in scan_batches(client, pattern, self.scan_batch):
                if keys:
                    deleted += client.unlink(*keys)
        finally:
            client.close()
        return Invalidation(pattern, deleted)

    def delete_similar(self, prefix: str, product_ids: list[int]) -> tuple[int, int]:
        """Delete `<prefix><id>` of every product and of every neighbour its cached value names
        (MGET + UNLINK in batches of `scan_batch`). Returns (keys deleted, neighbours found)."""
        client = self.redis()
        try:
            changed = set(product_ids)
            neighbours: set[int] = set()
            ids = sorted(changed)
            for start in range(0, len(ids), self.scan_batch):
                values = client.mget([f"{prefix}{pid}" for pid in ids[start : start + self.scan_batch]])
                for value in values:
                    neighbours |= neighbour_ids(value)
            neighbours -= changed
            keys = [f"{prefix}{pid}" for pid in ids + sorted(neighbours)]
            deleted = 0
            for start in range(0, len(keys), self.scan_batch):
                deleted += client.unlink(*keys[start : start + self.scan_batch])
        finally:
            client.close()
        return deleted, len(neighbours)
