"""Cleanups: the RAG cache in the real Redis (db 4), the query cache, conversation archiving with a
crash half-way, failed Dagster runs."""

import time
import uuid
from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import func, insert, select

from assets.rag.users.cleanups import archive_conversations, cleanup_failed_runs, cleanup_query_cache, cleanup_rag_cache
from assets.rag.users.sqlutil import utcnow
from assets.rag.users.tables import conversation, conversation_archive, query_cache

REDIS_URL = "redis://127.0.0.1:6379/4"


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    prefix = f"test-i15-{uuid.uuid4().hex[:8]}:"
    yield client, prefix
    for key in client.scan_iter(match=prefix + "*", count=500):
        client.delete(key)
    client.close()


def test_rag_cache_cleanup_scans_in_batches_and_keeps_fresh_keys(redis_client):
    client, base = redis_client
    prefix = base + "rag:cache:"
    for i in range(120):
        client.set(f"{prefix}nottl:{i}", "x")  # no TTL: goes
    for i in range(30):
        client.set(f"{prefix}fresh:{i}", "x", ex=3600)  # TTL, just used: stays
    client.set(f"{base}other:nottl", "x")  # outside the prefix: never touched
    client.set(f"{prefix}idle", "x", ex=3600)
    time.sleep(2.1)
    for i in range(30):
        client.get(f"{prefix}fresh:{i}")  # touched again: idle 0 s
    dry = cleanup_rag_cache(client, prefix, max_idle_s=1, batch=25, dry_run=True)
    assert (dry.scanned, dry.deleted_no_ttl, dry.deleted_idle, dry.kept) == (151, 120, 1, 30)
    assert dry.scan_calls > 1 and client.exists(f"{prefix}nottl:0")
    report = cleanup_rag_cache(client, prefix, max_idle_s=1, batch=25, dry_run=False)
    assert (report.deleted_no_ttl, report.deleted_idle, report.kept) == (120, 1, 30)
    remaining = sorted({k.decode() for k in client.scan_iter(match=base + "*", count=500)})  # SCAN may repeat a key
    assert remaining == sorted([f"{base}other:nottl", *(f"{prefix}fresh:{i}" for i in range(30))])
    with pytest.raises(ValueError, match="RAG_CACHE_PREFIX"):
        cleanup_rag_cache(client, "", 1)


class RepeatingScan:
    """The real client, except that each SCAN reply also repeats the keys of the reply before: Redis may
    return a key more than once (while its hash table rehashes), and a report must count it once."""

    def __init__(self, client):
        self.client, self.last = client, []

    def scan(self, **kwargs):
        cursor, keys = self.client.scan(**kwargs)
        repeated, self.last = self.last + keys, keys
        return cursor, repeated

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_rag_cache_cleanup_counts_a_key_scan_repeats_once(redis_client):
    client, base = redis_client
    prefix = base + "rag:cache:"
    for i in range(60):
        client.set(f"{prefix}nottl:{i}", "x")
    for i in range(20):
        client.set(f"{prefix}fresh:{i}", "x", ex=3600)
    dry = cleanup_rag_cache(RepeatingScan(client), prefix, max_idle_s=3600, batch=10, dry_run=True)
    assert (dry.scanned, dry.deleted_no_ttl, dry.kept, dry.gone_meanwhile) == (80, 60, 20, 0)
    done = cleanup_rag_cache(RepeatingScan(client), prefix, max_idle_s=3600, batch=10, dry_run=False)
    assert (done.scanned, done.deleted_no_ttl, done.kept, done.gone_meanwhile) == (80, 60, 20, 0)
    assert not client.exists(f"{prefix}nottl:0") and client.exists(f"{prefix}fresh:0")


def test_query_cache_cleanup_in_bounded_batches(engine):
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(query_cache), [{"query_hash": f"h{i}", "answer": "a", "created_at": now - timedelta(days=40 if i < 25 else 5)} for i in range(40)])
    dry = cleanup_query_cache(engine, now - timedelta(days=30), batch_rows=10, dry_run=True)
    assert (dry.removed, dry.kept) == (25, 15)
    report = cleanup_query_cache(engine, now - timedelta(days=30), batch_rows=10, dry_run=False)
    assert (report.removed, report.kept, report.statements) == (25, 15, 3)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(query_cache)).scalar() == 15


def _conversations(engine):
    with engine.connect() as conn:
        live = set(conn.execute(select(conversation.c.id)).scalars())
        archived = conn.execute(select(conversation_archive.c.id)).scalars().all()
    return live, archived


def test_archive_survives_a_crash_half_way_and_resumes(engine):
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(conversation), [
            {"id": f"c{i:03}", "user_id": "u", "created_at": now - timedelta(days=200),
             "last_message_at": now - timedelta(days=120 if i < 50 else 10)}
            for i in range(70)
        ] + [{"id": "never-used", "user_id": "u", "created_at": now - timedelta(days=100), "last_message_at": None}])

    def crash_in_third_batch(batch: int) -> None:
        if batch == 3:
            raise RuntimeError("killed between copy and delete")

    cutoff = now - timedelta(days=90)
    assert archive_conversations(engine, cutoff, 10, dry_run=True).removed == 51
    with pytest.raises(RuntimeError, match="killed"):
        archive_conversations(engine, cutoff, 10, dry_run=False, between_copy_and_delete=crash_in_third_batch)
    live, archived = _conversations(engine)
    assert len(archived) == 20 and len(live) == 71 - 20 and not live & set(archived)  # third batch rolled back whole
    report = archive_conversations(engine, cutoff, 10, dry_run=False)
    live, archived = _conversations(engine)
    assert report.removed == 31 and report.kept == 20
    assert len(archived) == len(set(archived)) == 51 and "never-used" in archived
    assert live == {f"c{i:03}" for i in range(50, 70)}
    with engine.connect() as conn:
        row = conn.execute(select(conversation_archive).where(conversation_archive.c.id == "c001")).mappings().one()
    assert row["user_id"] == "u" and row["archived_at"] is not None


def test_failed_runs_cleanup_keeps_the_newest_failure_of_each_job(instance):
    @dg.op
    def boom():
        raise RuntimeError("boom")

    @dg.op
    def fine():
        return 1

    @dg.job
    def flaky_job():
        boom()

    @dg.job
    def other_job():
        boom()

    @dg.job
    def good_job():
        fine()

    ids = {name: [] for name in ("flaky", "other", "good")}
    for _ in range(3):
        ids["flaky"].append(flaky_job.execute_in_process(instance=instance, raise_on_error=False).run_id)
    ids["other"].append(other_job.execute_in_process(instance=instance, raise_on_error=False).run_id)
    ids["good"].append(good_job.execute_in_process(instance=instance).run_id)
    future = utcnow() + timedelta(days=1)  # every run counts as older than the retention
    dry = cleanup_failed_runs(instance, future, dry_run=True)
    assert sorted(dry.deleted) == sorted(ids["flaky"][:2]) and len(instance.get_runs()) == 5
    assert dry.kept_newest_of_job == {"flaky_job": ids["flaky"][2], "other_job": ids["other"][0]}
    assert cleanup_failed_runs(instance, utcnow() - timedelta(days=30), dry_run=True).deleted == []  # all recent
    report = cleanup_failed_runs(instance, future, dry_run=False)
    assert len(report.deleted) == 2
    assert {r.run_id for r in instance.get_runs()} == {ids["flaky"][2], ids["other"][0], ids["good"][0]}
