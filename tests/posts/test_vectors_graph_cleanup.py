"""Post vectors in Qdrant local mode (the real default text model), the SQL graph, and the checkpointed expiry cleanup."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from appdb.posts_tables import post_cleanup_checkpoint, post_graph_channel, post_graph_edge, post_graph_post, post_graph_tag
from appdb.tables import post
from assets.posts.cleanup import GRAPH_POSTS, QDRANT_POINTS, ExpiredPostsCleanup, load_checkpoint
from assets.posts.graph import rebuild_graph, related_tags
from assets.posts.vectors import TEXT, PostVectorSync, post_point_id
from resources.embedders import TextEmbedderResource
from resources.vectors import VectorStoreResource, ensure_collection
from tests.posts.conftest import DAY, DAY_KEY, at, insert_posts, set_tags

START, END = DAY, DAY + timedelta(days=1)
COLLECTION = "posts"


@pytest.fixture(scope="module")
def text_embedder():
    return TextEmbedderResource(device="cpu")


@pytest.fixture
def store(tmp_path):
    return VectorStoreResource(path=str(tmp_path / "qdrant"))


def _sync(engine, store, embedder, now, **kwargs):
    def ensure(client):
        ensure_collection(client, COLLECTION, {TEXT: embedder.dimension})

    with store.client() as client:
        return PostVectorSync(engine, client, COLLECTION, embedder, 30, ensure_collection=ensure, now=now, **kwargs).run(
            START, END, [DAY_KEY]
        )


def _points(store) -> dict[int, dict]:
    with store.client() as client:
        records, _ = client.scroll(COLLECTION, limit=100, with_payload=True)
    return {r.payload["post_id"]: {"id": str(r.id), **r.payload} for r in records}


@pytest.mark.slow
def test_post_vectors_incremental_with_ttl_payload(sqlite_url, store, text_embedder):
    from appdb.engine import build_engine

    engine = build_engine(sqlite_url)
    insert_posts(engine, [(1, "dev", "Kubernetes autoscaling guide", at(8)), (2, "news", "Курс рубля вырос", at(9)),
                          (3, "dev", "Rust 2024 edition", at(10))])
    set_tags(engine, {1: ["autoscaling", "kubernetes"], 2: ["курс рубля"]})
    now = DAY + timedelta(days=2)

    report = _sync(engine, store, text_embedder, now)
    assert (report.posts, report.embedded, report.created, report.unchanged) == (3, 3, 3, 0)
    assert report.without_tags == 1
    points = _points(store)
    assert points[1]["id"] == post_point_id(1)
    assert points[1]["channel"] == "dev" and points[1]["tags"] == ["autoscaling", "kubernetes"]
    assert points[1]["posted_at"] == "2026-03-10T08:00:00+00:00" and points[1]["day"] == DAY_KEY
    assert points[1]["expires_at"] == int((at(8) + timedelta(days=30)).timestamp())

    again = _sync(engine, store, text_embedder, now)
    assert (again.embedded, again.unchanged, again.deleted.total()) == (0, 3, 0)

    set_tags(engine, {1: ["kubernetes"]})
    with engine.begin() as conn:
        conn.execute(delete(post).where(post.c.id == 3))
    changed = _sync(engine, store, text_embedder, now)
    assert (changed.embedded, changed.updated, changed.unchanged) == (1, 1, 1)
    assert changed.deleted.counts == {"post_gone": 1}
    assert _points(store)[1]["tags"] == ["kubernetes"] and 3 not in _points(store)

    # 30 days after 08:00 but before 09:00: post 1 has expired, post 2 not yet.
    later = _sync(engine, store, text_embedder, at(8, 30) + timedelta(days=30))
    assert (later.expired_skipped, later.unchanged) == (1, 1)
    assert later.deleted.counts == {"expired": 1}
    assert set(_points(store)) == {2}


def test_graph_rebuild_is_idempotent_and_answers_related_tags(engine):
    insert_posts(engine, [(1, "dev", "a", at(8)), (2, "dev", "b", at(9)), (3, "ops", "c", at(10)), (4, "dev", "old", at(11) - timedelta(days=40))])
    set_tags(engine, {1: ["kubernetes", "autoscaling", "go"], 2: ["kubernetes", "go"], 3: ["kubernetes", "autoscaling"], 4: ["go"]})
    now = DAY + timedelta(days=1)

    first = rebuild_graph(engine, START, END, [DAY_KEY], ttl_days=30, now=now)
    assert (first.posts, first.edges, first.edges_added, first.tags_distinct, first.channels_distinct) == (3, 7, 7, 3, 2)
    second = rebuild_graph(engine, START, END, [DAY_KEY], ttl_days=30, now=now)
    assert (second.posts, second.edges, second.changed) == (3, 7, False)

    assert related_tags(engine, "Kubernetes") == [("autoscaling", 2), ("go", 2)]
    assert related_tags(engine, "go", channel="dev") == [("kubernetes", 2), ("autoscaling", 1)]
    assert related_tags(engine, "nothing") == []

    set_tags(engine, {2: ["kubernetes"]})
    third = rebuild_graph(engine, START, END, [DAY_KEY], ttl_days=30, now=now)
    assert (third.edges_removed, third.edges_added, third.edges) == (1, 0, 6)
    assert related_tags(engine, "go") == [("autoscaling", 1), ("kubernetes", 1)]

    # A day whose posts all expired has no graph posts (the old day above was never in the window).
    old_day = DAY - timedelta(days=40)
    old = rebuild_graph(engine, old_day, old_day + timedelta(days=1), [old_day.date().isoformat()], ttl_days=30, now=now)
    assert (old.posts, old.expired_skipped) == (0, 1)


class Interrupted(Exception):
    pass


def _interrupt_after(phase: str, batches: int):
    seen = []

    def hook(current: str, n: int) -> None:
        if current == phase:
            seen.append(n)
            if len(seen) == batches:
                raise Interrupted(f"{phase} after {batches} batches")

    return hook


def _seed_points(store, live: range, expired: range, now: datetime) -> None:
    from qdrant_client import models

    with store.client() as client:
        ensure_collection(client, COLLECTION, {TEXT: 4})
        points = [
            models.PointStruct(
                id=post_point_id(pid), vector={TEXT: [1.0, 0.0, 0.0, float(pid)]},
                payload={"post_id": pid, "expires_at": int((now + timedelta(days=1 if pid in live else -1)).timestamp())},
            )
            for pid in [*live, *expired]
        ]
        client.upsert(COLLECTION, points=points)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_expiry_cleanup_resumes_where_an_interrupted_run_stopped(engine, store):
    now = DAY + timedelta(days=35)
    _seed_points(store, live=range(1, 6), expired=range(100, 125), now=now)
    # Graph: posts of the day (posted DAY, TTL 30: expired at `now`) and a live one; a tag only the
    # expired posts use; an edge whose post node is gone; a channel nobody posts in.
    insert_posts(engine, [(i, "dev", "x", at(9)) for i in range(200, 212)] + [(300, "ops", "y", now - timedelta(days=1))])
    set_tags(engine, {**{i: ["old-tag", "shared"] for i in range(200, 212)}, 300: ["shared"]})
    rebuild_graph(engine, START, END, [DAY_KEY], ttl_days=30, now=DAY)
    recent = (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rebuild_graph(engine, recent, recent + timedelta(days=1), [recent.date().isoformat()], ttl_days=30, now=now)
    with engine.begin() as conn:
        conn.execute(post_graph_edge.insert().values(post_id=999, tag="shared"))
        conn.execute(post_graph_channel.insert().values(channel="abandoned"))
    assert (_count(engine, post_graph_post), _count(engine, post_graph_tag)) == (13, 2)

    # Run 1 dies after its second batch of 10 points: 20 of the 25 expired points are gone.
    first = ExpiredPostsCleanup(engine, store.client, COLLECTION, batch=10, after_batch=_interrupt_after(QDRANT_POINTS, 2))
    with pytest.raises(Interrupted):
        first.run(now=now)
    checkpoint = load_checkpoint(engine)
    assert (checkpoint.phase, checkpoint.deleted[QDRANT_POINTS], checkpoint.cutoff) == (QDRANT_POINTS, 20, now)
    assert checkpoint.position is not None
    with store.client() as client:
        assert client.count(COLLECTION).count == 5 + 5

    # Run 2 dies in the middle of the graph phase, having resumed the Qdrant phase (5 points left).
    second = ExpiredPostsCleanup(engine, store.client, COLLECTION, batch=5, after_batch=_interrupt_after(GRAPH_POSTS, 1))
    with pytest.raises(Interrupted):
        second.run(now=now + timedelta(days=3))  # a later clock does not move the checkpoint's cutoff
    checkpoint = load_checkpoint(engine)
    assert (checkpoint.phase, checkpoint.position, checkpoint.cutoff) == (GRAPH_POSTS, "204", now)
    assert checkpoint.deleted[QDRANT_POINTS] == 25 and checkpoint.deleted[GRAPH_POSTS] == 5

    # Run 3 finishes: from post 205 on, then the orphaned edge, tag and channel.
    third = ExpiredPostsCleanup(engine, store.client, COLLECTION, batch=5)
    report = third.run(now=now + timedelta(days=3))
    assert report.resumed_from == "graph_posts@204"
    assert report.cutoff == now
    assert report.deleted == {"qdrant_points": 25, "graph_posts": 12, "graph_edges": 1, "graph_tags": 1, "graph_channels": 2}
    assert load_checkpoint(engine) is None
    with store.client() as client:
        records, _ = client.scroll(COLLECTION, limit=100, with_payload=["post_id"])
    assert sorted(r.payload["post_id"] for r in records) == [1, 2, 3, 4, 5]
    with engine.connect() as conn:
        assert conn.execute(select(post_graph_post.c.post_id)).scalars().all() == [300]
        assert conn.execute(select(post_graph_tag.c.tag)).scalars().all() == ["shared"]
        assert conn.execute(select(post_graph_channel.c.channel)).scalars().all() == ["ops"]
        assert conn.execute(select(func.count()).select_from(post_cleanup_checkpoint)).scalar_one() == 0

    # Nothing left: a fresh run removes nothing.
    assert sum(ExpiredPostsCleanup(engine, store.client, COLLECTION).run(now=now).deleted.values()) == 0


def test_dry_run_counts_without_removing_or_checkpointing(engine, store):
    now = DAY + timedelta(days=35)
    _seed_points(store, live=range(1, 3), expired=range(10, 17), now=now)
    report = ExpiredPostsCleanup(engine, store.client, COLLECTION, batch=3, dry_run=True).run(now=now)
    assert report.deleted[QDRANT_POINTS] == 7 and report.batches == 3
    assert load_checkpoint(engine) is None
    with store.client() as client:
        assert client.count(COLLECTION).count == 9
