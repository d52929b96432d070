"""The Qdrant side on local mode with the bundled model: search quality, incremental writes and deletes,
drift healed by reconcile, rebuilds that switch the alias only when complete (SQLite database)."""

import shutil
import threading

import pytest
from sqlalchemy import text

from appdb.engine import build_engine
from appdb.schema import init_schema
from assets.assistant.demo_catalog import seed_catalog
from assets.assistant.documents import sync_documents
from assets.assistant.index import chunk_point_id, chunk_texts
from assets.assistant.search import search
from tests.assistant.conftest import ALIAS, consume_changes, documents, make_index

# Questions with the document that clearly answers them (robust to the model: names and words match).
QUESTIONS = {
    "Can I put the RTX 4080 Super in the compact mATX case?": "incompatibility_rule:14",
    "How much does the Budget Gamer preset cost?": "product:1",
    "Is the AMD Ryzen 9 7950X processor in stock?": "option:104",
    "Which options are in the Cooling category?": "category:8",
    "Is there a bundle discount for the liquid cooler with the Core i9-14900K?": "price_rule:1",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory, embedder):
    """The demo catalog rendered and indexed once (SQLite file + local Qdrant folder); tests get copies."""
    from qdrant_client import QdrantClient

    base = tmp_path_factory.mktemp("assistant-index")
    engine = build_engine(f"sqlite:///{base / 'app.db'}")
    init_schema(engine)
    seed_catalog(engine)
    consume_changes(engine)
    sync_documents(engine)
    client = QdrantClient(path=str(base / "qdrant"))
    try:
        report = make_index(engine, client, embedder).incremental()  # no alias yet: the first run builds
    finally:
        client.close()
        engine.dispose()
    assert report.mode == "rebuild" and report.documents_written == 60
    return base


@pytest.fixture
def catalog(template, tmp_path):
    shutil.copy(template / "app.db", tmp_path / "app.db")
    engine = build_engine(f"sqlite:///{tmp_path / 'app.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def qdrant(template, tmp_path):
    from qdrant_client import QdrantClient

    shutil.copytree(template / "qdrant", tmp_path / "qdrant")
    client = QdrantClient(path=str(tmp_path / "qdrant"), force_disable_check_same_thread=True)
    yield client
    client.close()


@pytest.fixture
def built(catalog, qdrant, embedder):
    return make_index(catalog, qdrant, embedder)


def alias_target(client) -> str:
    [alias] = [a for a in client.get_aliases().aliases if a.alias_name == ALIAS]
    return alias.collection_name


def test_questions_find_their_documents(built, qdrant, embedder):
    for question, expected in QUESTIONS.items():
        hits = search(qdrant, ALIAS, embedder, question, limit=3)
        assert expected in [hit.doc_key for hit in hits], (question, [(h.doc_key, round(h.score, 3)) for h in hits])
    [hit] = search(qdrant, ALIAS, embedder, "Budget Gamer total price", limit=1)
    assert (hit.entity_type, hit.entity_id, hit.title) == ("product", 1, "Preset: Budget Gamer")


def test_incremental_embeds_only_changed_documents_and_deletes_retired_ones(built, catalog, qdrant):
    with catalog.begin() as conn:
        conn.execute(text("UPDATE part_option SET price = 479 WHERE id = 104"))
        conn.execute(text("DELETE FROM part_option WHERE id = 803"))
    before = documents(catalog)
    sync_documents(catalog, consume_changes(catalog))
    changed = {k for k, row in documents(catalog).items() if row.active and row.content_hash != before[k].content_hash}
    # 104: its own document, its category and preset 2; 803: its category, presets 2 and 3, rule 1's
    # document and option 102 state it missing now.
    assert changed == {"option:104", "category:1", "product:2", "category:8", "product:3", "price_rule:1", "option:102"}
    report = built.incremental()
    assert report.mode == "incremental"
    assert report.documents_written == 7 and report.documents_removed == 1 and report.points_deleted == 1
    assert qdrant.retrieve(ALIAS, [chunk_point_id("option:803", 0)]) == []
    [point] = qdrant.retrieve(ALIAS, [chunk_point_id("option:104", 0)], with_payload=True)
    assert "Price: $479.00." in point.payload["text"]
    assert point.payload["content_hash"] == documents(catalog)["option:104"].content_hash
    assert "option:803" not in documents(catalog)  # the tombstone is cleared once its points are gone
    again = built.incremental()
    assert (again.documents_written, again.points_deleted) == (0, 0)


def test_reconcile_heals_missing_stale_and_extra_points(built, catalog, qdrant, embedder):
    from qdrant_client import models

    live = alias_target(qdrant)
    qdrant.delete(live, points_selector=models.PointIdsList(points=[chunk_point_id("product:1", 0)]))
    qdrant.set_payload(live, payload={"content_hash": "old"}, points=[chunk_point_id("option:101", 0)])
    qdrant.upsert(live, points=[models.PointStruct(
        id=chunk_point_id("option:999", 0), vector={"text": [0.1] * embedder.dimension},
        payload={"doc_key": "option:999", "chunk": 0, "chunks": 1})])
    coverage = built.coverage()
    assert (coverage.missing, coverage.stale, coverage.extra) == (["product:1"], ["option:101"], ["option:999"])
    report = built.reconcile()
    assert report.documents_written == 2 and report.points_deleted == 1 and report.unchanged == 58
    assert built.coverage().ok
    noop = built.reconcile()
    assert (noop.documents_written, noop.points_deleted, noop.unchanged) == (0, 0, 60)


def test_long_documents_are_chunked_and_shrinking_removes_surplus_chunks(catalog, qdrant, embedder):
    index = make_index(catalog, qdrant, embedder, chunk_chars=200)
    index.rebuild()
    body = documents(catalog)["option:102"].body
    chunks = chunk_texts("t", body, 200)
    assert len(chunks) >= 3 and all(len(c) <= 202 for c in chunks)
    points = index._points(ALIAS, ["option:102"])["option:102"]
    assert sorted(points) == list(range(len(chunks)))
    with catalog.begin() as conn:
        conn.execute(text("DELETE FROM incompatibility_rule WHERE option_id = 102"))
        conn.execute(text("DELETE FROM price_adjustment_rule WHERE depends_on_option_id = 102"))
    sync_documents(catalog, consume_changes(catalog))
    index.incremental()
    left = index._points(ALIAS, ["option:102"])["option:102"]
    assert sorted(left) == list(range(len(chunk_texts("t", documents(catalog)["option:102"].body, 200)))) and len(left) < len(points)
    assert index.coverage().ok


class FailingEmbedder:
    """The bundled model until `after` batches were embedded, then a refused connection (the server died)."""

    def __init__(self, embedder, after: int):
        self.embedder, self.after, self.model_name = embedder, after, embedder.model_name
        self.dimension = embedder.dimension

    def encode(self, texts):
        if self.after <= 0:
            raise ConnectionError("embeddings server refused the connection")
        self.after -= 1
        return self.embedder.encode(texts)


def test_a_rebuild_failing_midway_leaves_the_alias_on_the_old_collection(built, catalog, qdrant, embedder):
    old = alias_target(qdrant)
    broken = make_index(catalog, qdrant, FailingEmbedder(embedder, after=1), embed_batch=16)
    with pytest.raises(ConnectionError):
        broken.rebuild()
    assert alias_target(qdrant) == old
    assert [c.name for c in qdrant.get_collections().collections] == [old]  # the half-built one is dropped
    assert qdrant.count(ALIAS).count == 60
    assert search(qdrant, ALIAS, embedder, "Budget Gamer preset", limit=1)[0].doc_key == "product:1"


def test_searches_keep_answering_while_a_rebuild_switches_the_alias(built, catalog, qdrant, embedder):
    old = alias_target(qdrant)
    answered, failed, seen = [], [], set()
    stop = threading.Event()
    vector = embedder.encode_queries(["Which case fits a long graphics card?"])[0].tolist()

    def searcher():
        while not stop.is_set():
            try:
                target = alias_target(qdrant)
                hits = qdrant.query_points(ALIAS, query=vector, using="text", limit=3).points
                answered.append(len(hits))
                seen.add((target, qdrant.count(target).count))
            except Exception as exc:  # noqa: BLE001 - every failed search is counted
                failed.append(repr(exc))
            stop.wait(0.02)

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        report = make_index(catalog, qdrant, embedder, embed_batch=8).rebuild()
    finally:
        stop.set()
        thread.join()
    assert not failed and answered and all(n == 3 for n in answered)
    assert report.previous_collection == old and alias_target(qdrant) == report.collection != old
    # Whatever the alias pointed at was complete: the old collection or the finished new one.
    assert {count for _, count in seen} == {60}
    assert [c.name for c in qdrant.get_collections().collections] == [report.collection]


def test_the_index_bookkeeping_on_postgresql(pg_url, qdrant, embedder):
    """The same catalog rendered on PostgreSQL has the same hashes as the indexed one: reconcile finds every
    point in place; an edit is then embedded alone."""
    engine = build_engine(pg_url)
    try:
        seed_catalog(engine)
        consume_changes(engine)
        sync_documents(engine)
        index = make_index(engine, qdrant, embedder)
        first = index.reconcile()
        assert (first.mode, first.unchanged, first.documents_written) == ("reconcile", 60, 0)
        assert all(row.indexed_hash == row.content_hash for row in documents(engine).values())
        with engine.begin() as conn:
            conn.execute(text("UPDATE part_option SET in_stock = true WHERE id = 104"))
        sync_documents(engine, consume_changes(engine))
        report = index.incremental()
        assert report.documents_written == 3 and index.coverage().ok  # option, category, preset 2
    finally:
        engine.dispose()
