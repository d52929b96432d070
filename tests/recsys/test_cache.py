"""Similar-products cache invalidation against the real local Redis (database 9, keys of this test only)."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from sqlalchemy import select

from appdb.recsys_tables import product_vector_cache
from assets.recsys.cache_invalidation import invalidate_owed, key_prefix, mark_dirty, owe
from resources.cache import CacheResource

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


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
    # SCAN may return a key twice while Redis rehashes after the mass delete: compare the distinct keys
    assert sorted({k.decode() for k in client.scan_iter(match=f"{prefix}*")}) == [
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

    assert invalidate_owed(engine, cache, "products", pattern).summary == "not needed: no point changed"
    assert client.exists(f"{prefix}rec:similar:1")

    mark_dirty(engine, "products")
    unreachable = CacheResource(url="redis://127.0.0.1:1/0", retries=0, socket_timeout_s=1)
    with pytest.raises(Exception):
        invalidate_owed(engine, unreachable, "products", pattern)
    with engine.connect() as conn:  # still dirty: the next run retries
        assert conn.execute(select(product_vector_cache.c.dirty_since)).scalar_one() is not None

    assert invalidate_owed(engine, cache, "products", pattern).deleted == 1
    assert not client.exists(f"{prefix}rec:similar:1")
    assert invalidate_owed(engine, cache, "products", pattern).deleted is None


def test_targeted_invalidation_deletes_the_changed_keys_and_their_cached_neighbours(redis_prefix, engine):
    client, prefix = redis_prefix
    cache = CacheResource(url=REDIS_URL, scan_batch=2)
    pattern = f"{prefix}rec:similar:*"
    client.set(f"{prefix}rec:similar:1", json.dumps([2, "3", {"product_id": 4}, {"id": 5}, True, "x"]))
    client.set(f"{prefix}rec:similar:6", json.dumps({"items": [{"id": 7}]}))
    client.set(f"{prefix}rec:similar:8", b"\x80\x04pickled")  # not JSON: only its own key goes
    for pid in (2, 3, 4, 5, 7, 9, 10):
        client.set(f"{prefix}rec:similar:{pid}", "[]")
    owe(engine, "products", [1, 6, 8, 11])  # 11 has no cached list
    owe(engine, "products", [1])  # owed twice: once

    result = invalidate_owed(engine, cache, "products", pattern)

    left = sorted(int(k.decode().rsplit(":", 1)[1]) for k in client.scan_iter(match=pattern))
    assert left == [9, 10]
    assert result.deleted == 8 and "of 4 changed products and of 5 cached neighbours" in result.summary
    assert invalidate_owed(engine, cache, "products", pattern).summary == "not needed: no point changed"


def test_owed_keys_survive_a_redis_failure_and_the_next_run_deletes_them(redis_prefix, engine):
    client, prefix = redis_prefix
    pattern = f"{prefix}rec:similar:*"
    client.set(f"{prefix}rec:similar:1", "[]")
    owe(engine, "products", [1])
    unreachable = CacheResource(url="redis://127.0.0.1:1/0", retries=0, socket_timeout_s=1)
    with pytest.raises(Exception):
        invalidate_owed(engine, unreachable, "products", pattern)
    assert invalidate_owed(engine, CacheResource(url=REDIS_URL), "products", pattern).deleted == 1


def test_too_many_owed_products_or_an_odd_pattern_fall_back_to_the_pattern(redis_prefix, engine, monkeypatch):
    client, prefix = redis_prefix
    import assets.recsys.cache_invalidation as invalidation

    client.set(f"{prefix}rec:similar:1", "[]")
    client.set(f"{prefix}rec:similar:2", "[]")
    monkeypatch.setattr(invalidation, "TARGETED_MAX", 1)
    owe(engine, "products", [1, 3])
    result = invalidate_owed(engine, CacheResource(url=REDIS_URL), "products", f"{prefix}rec:similar:*")
    assert result.deleted == 2 and "> 1" in result.summary
    assert key_prefix("rec:similar:*") == "rec:similar:" and key_prefix("rec:*:similar") is None
