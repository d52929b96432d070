"""The page sync against the local ingest server, local Qdrant, and SQLite and PostgreSQL for the
cursor, tombstones and rejections: every item applied once, deletes, replays, bad items, faults."""

import math

import pytest
from sqlalchemy import select

from assets.rag.index import store
from assets.rag.index.collection import ensure_index
from assets.rag.index.items import chunk_point_id
from assets.rag.index.sync import ChunkSync
from assets.rag.index.tables import rag_ingest_cursor, rag_rejected_item
from resources.ingest import IngestUnavailable
from tests.rag_index.conftest import DIM, LetterEmbedder, fast_ingest, unit
from tests.support.ingest import delete_document, item

ALIAS = "rag_chunks"


def sync(engine, ingest, client, embedder=None):
    dimension = ensure_index(client, ALIAS, lambda: DIM, server=False)
    return ChunkSync(
        engine, ingest.source(), client, embedder or LetterEmbedder(), collection=ALIAS, dimension=dimension,
        cursor_key=ALIAS, rejections_key=ALIAS, batch=ingest.batch,
    ).run(store.read_cursor(engine, ALIAS))


def points(client) -> dict[tuple[str, str], dict]:
    records, _ = client.scroll(ALIAS, limit=10_000, with_payload=True)
    found = {(r.payload["document_id"], r.payload["chunk_id"]): r.payload for r in records}
    assert len(found) == len(records)
    return found


@pytest.fixture
def client(vectors):
    with vectors.client() as client:
        yield client


def test_first_sync_writes_every_chunk_with_its_payload_and_moves_the_cursor(engine, ingest_server, ingest, client):
    ingest_server.add(
        item("tax", "tax#0", "مهلت ارسال اظهارنامه مالیاتی تا پایان خرداد است", minute=1, metadata={"title": "مالیات"}),
        item("tax", "tax#1", "جریمه تأخیر", minute=2, embedding=unit(1, 2)),
        # Arabic yeh and kaf: stored (and embedded) as the Persian letters
        item("bank", "bank#0", "رمز كارت بانكي", minute=3),
        item("bank", "bank#1", "شعبه", minute=4, embedding=unit(0, 1)),
    )
    embedder = LetterEmbedder()
    report = sync(engine, ingest, client, embedder)
    assert (report.pages, report.items, report.points_written, report.points_created) == (2, 4, 4, 4)
    assert (report.from_item, report.embedded) == (2, 2)
    assert embedder.calls == [["مهلت ارسال اظهارنامه مالیاتی تا پایان خرداد است", "رمز کارت بانکی"]]
    found = points(client)
    assert found[("bank", "bank#0")]["text"] == "رمز کارت بانکی"
    assert found[("tax", "tax#0")]["metadata"] == {"title": "مالیات"}
    assert found[("tax", "tax#1")]["embedded_by"] == "ingest" and found[("tax", "tax#0")]["embedded_by"] == "letters-test"
    [record] = client.retrieve(ALIAS, [chunk_point_id("tax", "tax#1")], with_vectors=True)
    assert record.vector["text"][:2] == pytest.approx([1 / math.sqrt(5), 2 / math.sqrt(5)], rel=1e-5)
    assert store.read_cursor(engine, ALIAS) == "c4"

    again = sync(engine, ingest, client, embedder)  # nothing new: no page written, nothing embedded
    assert (again.pages, again.points_written) == (0, 0) and len(embedder.calls) == 1


def test_repeated_and_backward_pages_change_nothing(engine, ingest_server, ingest, client):
    new = item("doc", "doc#0", "نسخه جدید", minute=10)
    ingest_server.add(item("doc", "doc#1", "بخش دوم", minute=5), new)
    sync(engine, ingest, client)
    # The feed repeats the new version and then goes back to an older one of the same chunk.
    ingest_server.add(new, item("doc", "doc#0", "نسخه قدیمی", minute=1), item("doc", "doc#1", "بخش دوم", minute=5))
    report = sync(engine, ingest, client)
    assert (report.points_written, report.unchanged, report.superseded) == (0, 2, 1)  # the old one lost in its page
    ingest_server.add(item("doc", "doc#0", "نسخه قدیمی", minute=1))  # alone in a later page: older than the point
    report = sync(engine, ingest, client)
    assert (report.points_written, report.stale_skipped) == (0, 1)
    found = points(client)
    assert len(found) == 2 and found[("doc", "doc#0")]["text"] == "نسخه جدید"


def test_deletes_of_chunks_and_documents_and_no_resurrection(engine, ingest_server, ingest, client):
    ingest_server.add(
        item("a", "a#0", "الف صفر", minute=1), item("a", "a#1", "الف یک", minute=1),
        item("b", "b#0", "ب صفر", minute=1), item("b", "b#1", "ب یک", minute=1),
    )
    sync(engine, ingest, client)
    ingest_server.add(
        item("a", "a#1", None, minute=2, deleted=True),  # one chunk
        delete_document("b", minute=3),  # the whole document
        item("b", "b#0", "ب صفر", minute=1),  # a replay of an older version: must not come back
        item("a", "a#0", "الف صفر", minute=1),
    )
    report = sync(engine, ingest, client)
    assert (report.document_deletes, report.chunk_deletes, report.chunk_points_deleted) == (1, 1, 1)
    assert (report.superseded, report.deleted_later) == (1, 0)  # b#0 is older than b's delete in its page
    assert set(points(client)) == {("a", "a#0")}
    # In a later page, too (the delete is recorded as a tombstone).
    ingest_server.add(item("b", "b#1", "ب یک", minute=2), item("a", "a#1", "الف یک", minute=1))
    report = sync(engine, ingest, client)
    assert report.deleted_later == 2 and set(points(client)) == {("a", "a#0")}
    # A document re-created after its delete is live again.
    ingest_server.add(item("b", "b#5", "ب از نو", minute=9))
    sync(engine, ingest, client)
    assert set(points(client)) == {("a", "a#0"), ("b", "b#5")}


def test_malformed_items_are_rejected_with_reasons_and_the_rest_is_written(engine, ingest_server, client):
    nan = unit(1)
    nan[2] = float("nan")
    ingest_server.add(
        item(None, "x#0", "بدون سند", minute=1),
        item("d", "d#0", None, minute=1),  # neither text nor embedding
        item("d", "d#1", None, minute=1, embedding=nan),
        item("d", "d#2", None, minute=1, embedding=[0.1] * (DIM + 1)),
        item("d", "d#3", "متن سالم", minute=1, embedding=[0.1] * (DIM + 1)),  # wrong size, text embedded instead
        item("d", "d#4", "متن سالم دیگر", minute=1, embedding=nan),
        {**item("d", "d#5", "زمان بد"), "updated_at": "yesterday"},
    )
    report = sync(engine, fast_ingest(ingest_server.url, batch=100), client)
    assert dict(report.rejected) == {
        "no_document_id": 1, "no_text_no_embedding": 1, "embedding_not_finite": 1, "embedding_wrong_dimension": 1,
        "bad_updated_at": 1,
    }
    assert dict(report.item_embedding_unused) == {"embedding_wrong_dimension": 1, "embedding_not_finite": 1}
    assert set(points(client)) == {("d", "d#3"), ("d", "d#4")}
    with engine.connect() as conn:
        rows = conn.execute(select(rag_rejected_item.c.reason, rag_rejected_item.c.chunk_id, rag_rejected_item.c.item)
                            .order_by(rag_rejected_item.c.position)).all()
        cursor = conn.execute(select(rag_ingest_cursor.c.cursor)).scalar()
    assert [(r.reason, r.chunk_id) for r in rows] == [
        ("no_document_id", "x#0"), ("no_text_no_embedding", "d#0"), ("embedding_not_finite", "d#1"),
        ("embedding_wrong_dimension", "d#2"), ("bad_updated_at", "d#5"),
    ]
    assert rows[3].item["embedding"] == f"<{DIM + 1} values>"  # the item kept, without the long vector
    assert cursor == "c7"


def test_ingest_failure_keeps_the_cursor_at_the_last_written_page_and_a_rerun_completes(engine, ingest_server, client):
    ingest_server.add(*(item("doc", f"doc#{i}", f"بخش شماره {i}", minute=i) for i in range(9)))
    ingest = fast_ingest(ingest_server.url, batch=3, attempts=2)
    ingest_server.script(200, 200, 500, 500)  # pages 1 and 2 (the prefetch), then page 3 fails twice
    with pytest.raises(IngestUnavailable):
        sync(engine, ingest, client)
    assert store.read_cursor(engine, ALIAS) == "c6" and len(points(client)) == 6
    report = sync(engine, ingest, client)
    assert report.cursor_before == "c6" and report.points_written == 3
    assert len(points(client)) == 9


def test_a_crash_between_the_write_and_the_cursor_re_reads_the_page_without_duplicates(engine, ingest_server, ingest, client, monkeypatch):
    ingest_server.add(*(item("doc", f"doc#{i}", f"بخش {i}", minute=i) for i in range(5)))
    real_commit = store.commit_page
    calls = []

    def crash_on_second(engine, **kwargs):
        calls.append(kwargs["next_cursor"])
        if len(calls) == 2:
            raise RuntimeError("killed")
        real_commit(engine, **kwargs)

    monkeypatch.setattr("assets.rag.index.sync.commit_page", crash_on_second)
    with pytest.raises(RuntimeError, match="killed"):
        sync(engine, ingest, client)
    assert store.read_cursor(engine, ALIAS) == "c3" and len(points(client)) == 5  # page 2 written, not committed
    monkeypatch.setattr("assets.rag.index.sync.commit_page", real_commit)
    report = sync(engine, ingest, client)
    assert report.cursor_before == "c3" and report.unchanged == 2 and report.points_written == 0
    assert len(points(client)) == 5 and store.read_cursor(engine, ALIAS) == "c5"


def test_full_sync_that_fails_verification_leaves_the_alias_alone(engine, ingest_server, ingest, client):
    from qdrant_client import models

    from assets.rag.index.collection import alias_target
    from assets.rag.index.full_sync import VerificationError, full_sync

    ingest_server.add(*(item("doc", f"doc#{i}", f"بخش {i}", minute=i) for i in range(4)))
    sync(engine, ingest, client)
    serving = alias_target(client, ALIAS)

    def stray_writer(report) -> None:  # something else writes into the collection being built
        target = [c.name for c in client.get_collections().collections if c.name not in (serving,)][0]
        client.upsert(target, points=[models.PointStruct(id=chunk_point_id("ghost", "ghost#0"), vector={"text": unit(1)},
                                                         payload={"document_id": "ghost"})])

    with pytest.raises(VerificationError, match="holds 5 points, the ingest listing 4 live chunks"):
        full_sync(engine, ingest.source(), client, LetterEmbedder(), alias=ALIAS, dimension=DIM, batch=3, server=False,
                  run_id=None, on_page=stray_writer)
    assert alias_target(client, ALIAS) == serving and len(points(client)) == 4
    assert [c.name for c in client.get_collections().collections] == [serving]  # the failed build is gone
    assert store.read_cursor(engine, ALIAS) == "c4"
