"""Similar-products cache invalidation against the real local Redis (database 13, keys of this test only)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select

from appdb.recsys_tables import product_vector_cache
from assets.recsys.cache_invalidation import invalidate_if_dirty, mark_dirty
from resources.cache import CacheResource

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def redis_prefix():
    """A unique key prefix in the test database; everything under it is removed afterwards."""
    cache = CacheResource(url=REDIS_URL, retries=0, socket_timeout_s=2)
    try:
        client = cache.redis()
        client.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Redis unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def test_matching_keys_are_deleted_in_scan_batches_and_others_kept(redis_prefix):
    client, prefix = redis_prefix
    for i in range(1203):
        client.set(f"{prefix}rec:similar:{i}", "x")
    client.set(f"{prefix}rec:other:1", "keep")
    client.set(f"{prefix}session:1", "keep")
    client.set(f"{prefix}rec:similarity", "keep")  # does not match rec:similar:*

    result = CacheResource(url=REDIS_URL, scan_batch=100).delete_matching(f"{prefix}rec:similar:*")

    assert result.deleted == 1203 and result.summary == f"1203 keys matching {prefix}rec:similar:* deleted"
    assert sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*")) == [
        f"{prefix}rec:other:1", f"{prefix}rec:similarity", f"{prefix}session:1",
    ]


def test_without_redis_url_invalidation_is_reported_as_skipped():
    result = CacheResource(url="").delete_matching("rec:similar:*")
    assert result.deleted is None and result.summary == "skipped: REDIS_URL unset"


def test_invalidation_happens_once_after_a_change_and_again_after_a_failed_attempt(redis_prefix, engine):
    client, prefix = redis_prefix
    cache = CacheResource(url=REDIS_URL)
    pattern = f"{prefix}rec:similar:*"
    client.set(f"{prefix}rec:similar:1", "x")

    assert invalidate_if_dirty(engine, cache, "products", pattern).summary == "not needed: no point changed"
    assert client.exists(f"{prefix}rec:similar:1")

    mark_dirty(engine, "products")
    unreachable = CacheResource(url="redis://127.0.0.1:1/0", retries=0, socket_timeout_s=1)
    with pytest.raises(Exception):
        invalidate_if_dirty(engine, unreachable, "products", pattern)
    with engine.connect() as conn:  # still dirty: the next run retries
        assert conn.execute(select(product_vector_cache.c.dirty_since)).scalar_one() is not None

    assert invalidate_if_dirty(engine, cache, "products", pattern).deleted == 1
    assert not client.exists(f"{prefix}rec:similar:1")
    assert invalidate_if_dirty(engine, cache, "products", pattern).deleted is None
