"""rag_chunks, rag_full_sync_job, rag_delete_document_job and rag_index_consistent through Dagster, with
the real text model, local Qdrant, the local ingest server and SQLite (test_sync.py runs the bookkeeping on both)."""

import dagster as dg
import pytest
from sqlalchemy import select

from assets.rag.index.collection import alias_target
from assets.rag.index.jobs import build_delete_document_job, build_full_sync_job
from assets.rag.index.rag_chunks import build_rag_chunks
from assets.rag.index.search import search
from assets.rag.index.store import read_cursor
from assets.rag.index.tables import rag_tombstone
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.ingest import IngestResource
from resources.rag_index import RagIndexSettings
from tests.rag_index.conftest import fast_ingest
from tests.support.ingest import delete_document, item

ALIAS = "rag_chunks"
DOCS = {
    "passport": ["برای تمدید گذرنامه به دفاتر پلیس مراجعه کنید", "مدارک لازم: شناسنامه و کارت ملی و عکس"],
    "metro": ["متروی تهران از ساعت پنج و نیم صبح تا یازده شب کار می‌کند"],
    "tax": ["مهلت ارسال اظهارنامه مالیاتی تا پایان خرداد است", "جریمه تأخیر در ارسال اظهارنامه"],
}


def persian_items(minute: float = 1) -> list[dict]:
    return [item(doc, f"{doc}#{i}", text, minute=minute) for doc, texts in DOCS.items() for i, text in enumerate(texts)]


@pytest.fixture(scope="module")
def embedder():
    return TextEmbedderResource(device="cpu")


@pytest.fixture
def resources(sqlite_url, ingest_server, vectors, embedder):
    return {
        "rag_database": DatabaseResource(url=sqlite_url),  # PostgreSQL: test_sync.py
        "ingest": fast_ingest(ingest_server.url, batch=2),
        "vectors": vectors,
        "text_embedder": embedder,
        "rag_index": RagIndexSettings(collection=ALIAS),
    }


def materialize(resources, instance, *, with_check: bool = False, raise_on_error: bool = True):
    asset, check = build_rag_chunks(None)
    return dg.materialize([asset, *([check] if with_check else [])], resources=resources, instance=instance,
                          raise_on_error=raise_on_error)


def meta(result) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_sync_embeds_persian_chunks_and_search_finds_them(resources, instance, ingest_server, embedder):
    ingest_server.add(*persian_items())
    result = materialize(resources, instance, with_check=True)
    m = meta(result)
    assert (m["items"], m["points_written"], m["vectors_embedded"], m["points_total"], m["rejected"]) == (5, 5, 5, 5, 0)
    assert m["cursor_after"] == "c5" and m["physical_collection"].startswith("rag_chunks_v")
    [check] = result.get_asset_check_evaluations()
    assert check.passed, check.metadata
    with resources["vectors"].client() as client:
        # Any model ranks a chunk's own text first (e5 or MiniLM alike); Persian quality is in bench_09.
        for doc, texts in DOCS.items():
            hits = search(client, ALIAS, embedder, texts[0], limit=3)
            assert (hits[0].document_id, hits[0].chunk_id) == (doc, f"{doc}#0")
    assert read_cursor(resources["rag_database"].engine, ALIAS) == "c5"

    again = meta(materialize(resources, instance))  # nothing new
    assert (again["pages"], again["points_written"], again["points_total"]) == (0, 0, 5)


def test_wrong_key_fails_the_run_at_once(resources, instance, ingest_server):
    ingest_server.add(*persian_items())
    resources["ingest"] = fast_ingest(ingest_server.url, key="wrong-key")
    result = materialize(resources, instance, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "ingest refused the key" in failure.event_specific_data.error.message
    assert ingest_server.requests == 1  # neither the client nor the step retried
    assert read_cursor(resources["rag_database"].engine, ALIAS) == ""


def test_unset_ingest_url_fails_the_run_at_once_and_never_syncs_demo_documents(resources, instance):
    resources["ingest"] = IngestResource(url="")
    result = materialize(resources, instance, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1 and "INGEST_URL is not set" in failures[0].event_specific_data.error.message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # a setting, not a fault
    assert read_cursor(resources["rag_database"].engine, ALIAS) == ""


def test_full_sync_rebuilds_verifies_and_swaps_the_alias(resources, instance, ingest_server, embedder):
    ingest_server.add(*persian_items())
    materialize(resources, instance)
    with resources["vectors"].client() as client:
        first = alias_target(client, ALIAS)
    ingest_server.add(delete_document("tax", minute=5), item("metro", "metro#1", "بلیت مترو با کارت", minute=6))
    job = build_full_sync_job(None)
    result = job.execute_in_process(resources=resources, instance=instance)
    [event] = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    m = {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
    assert (m["points_total"], m["live_chunks_in_listing"], m["documents"], m["previous_collection"]) == (4, 4, 2, first)
    with resources["vectors"].client() as client:
        second = alias_target(client, ALIAS)
        assert second == m["physical_collection"] != first
        assert client.count(ALIAS, exact=True).count == 4 and client.collection_exists(first)  # kept for a rollback
        assert search(client, ALIAS, embedder, DOCS["passport"][1], limit=1)[0].chunk_id == "passport#1"
    assert read_cursor(resources["rag_database"].engine, ALIAS) == "c7"
    assert read_cursor(resources["rag_database"].engine, second) == ""  # the rebuild's own cursor is gone

    job.execute_in_process(resources=resources, instance=instance)  # a third generation drops the first
    with resources["vectors"].client() as client:
        assert not client.collection_exists(first) and client.collection_exists(second)
    assert job.tags["dagster/max_runtime"] == "3600" and job.tags["dagster/max_retries"] == "1"


def test_delete_document_job_removes_it_now_and_the_feed_cannot_bring_it_back(resources, instance, ingest_server):
    ingest_server.add(*persian_items())
    materialize(resources, instance)
    job = build_delete_document_job(None)
    result = job.execute_in_process(
        resources=resources, instance=instance,
        run_config={"ops": {"rag_delete_document": {"config": {"document_id": "passport"}}}},
    )
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert output.event_specific_data.metadata["points_removed"].value == 2
    with resources["rag_database"].connect() as conn:
        assert conn.execute(select(rag_tombstone.c.document_id, rag_tombstone.c.chunk_id)).all() == [("passport", "")]
    ingest_server.add(item("passport", "passport#0", DOCS["passport"][0], minute=2))  # an old version replayed
    m = meta(materialize(resources, instance, with_check=True))
    assert (m["deleted_later_skipped"], m["points_total"]) == (1, 3)


def test_consistency_check_fails_on_a_point_of_a_deleted_document_and_warns_on_lag(resources, instance, ingest_server):
    from qdrant_client import models

    ingest_server.add(*persian_items(), delete_document("metro", minute=5))
    materialize(resources, instance)
    _, check = build_rag_chunks(None)
    asset_job = dg.define_asset_job("check_only", selection=dg.AssetSelection.checks(check))
    defs = dg.Definitions(assets=[build_rag_chunks(None)[0]], asset_checks=[check], jobs=[asset_job], resources=resources)
    with resources["vectors"].client() as client:  # a stray point of the deleted document
        client.upsert(ALIAS, points=[models.PointStruct(
            id="00000000-0000-0000-0000-000000000001", vector={"text": [0.1] * client.get_collection(ALIAS).config.params.vectors["text"].size},
            payload={"document_id": "metro", "chunk_id": "metro#9", "updated_ts": 0.0})])
    [evaluation] = defs.resolve_job_def("check_only").execute_in_process(instance=instance).get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["deleted_documents_with_points"].value == {"metro": 1}
    with resources["vectors"].client() as client:
        client.delete(ALIAS, points_selector=models.PointIdsList(points=["00000000-0000-0000-0000-000000000001"]))
    ingest_server.add(item("tax", "tax#2", "بخش تازه", minute=9))  # not synced yet: a lag, not a loss
    [evaluation] = defs.resolve_job_def("check_only").execute_in_process(instance=instance).get_asset_check_evaluations()
    assert evaluation.metadata["ingest_has_unsynced_items"].value is True
    # Every document is sampled (fewer than the sample size): tax differs only by the unsynced chunk.
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["mismatches (points, live chunks)"].value == {"tax": [2, 3]}
