"""The applications' Redis cache as a resource (REDIS_URL). Unset means "no cache": callers report a skip.

Invalidation walks the key space with SCAN in batches and UNLINKs each batch: never KEYS, which
blocks Redis for the whole scan on a large database.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from pydantic import Field


@dataclass(frozen=True)
class Invalidation:
    pattern: str
    deleted: int | None  # None: skipped
    reason: str = ""

    @property
    def summary(self) -> str:
        return self.reason if self.deleted is None else f"{self.deleted} keys matching {self.pattern} deleted"


class CacheResource(dg.ConfigurableResource):
    url: str = Field(default="", description="REDIS_URL (secret); empty = no cache, invalidation is skipped.")
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
            batch: list[bytes] = []
            for key in client.scan_iter(match=pattern, count=self.scan_batch):
                batch.append(key)
                if len(batch) >= self.scan_batch:
                    deleted += client.unlink(*batch)
                    batch = []
            if batch:
                deleted += client.unlink(*batch)
        finally:
            client.close()
        return Invalidation(pattern, deleted)
