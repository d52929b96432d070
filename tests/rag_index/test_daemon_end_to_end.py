"""rag_sync_sensor through a real dagster-daemon (with the embeddings server beside it, as `make dev`
runs them): a Persian document added to the ingest system, then a delete and an edit, reach Qdrant
through sensor-launched rag_sync_job runs, one at a time."""

import time

import dagster as dg
import pytest

from appdb.engine import build_engine
from appdb.schema import init_schema
from assets.rag.index.sensor import SENSOR_NAME
from assets.rag.index.store import read_cursor
from tests.support.daemon import DagsterDaemon, EmbeddingServer, embedded_env, prepare_home, wait_for
from tests.support.ingest import IngestServer, delete_document, item

KEY = "daemon-key"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ingest_changes_reach_qdrant_through_the_sensor(tmp_path):
    with IngestServer(KEY) as ingest:
        env = embedded_env(tmp_path, INGEST_URL=ingest.url, INGEST_API_KEY=KEY, RAG_SYNC_INTERVAL_SECONDS="1",
                           RAG_SYNC_MAX_INTERVAL_SECONDS="0")
        prepare_home(env)
        engine = build_engine(env["DATABASE_URL"])
        init_schema(engine)
        embedder = EmbeddingServer(env, tmp_path / "embedder.log")
        daemon = DagsterDaemon({**env, "TEXT_EMBED_URL": embedder.url}, tmp_path / "daemon.log")
        try:
            with embedder, daemon:
                ingest.add(item("passport", "passport#0", "برای تمدید گذرنامه به دفاتر پلیس مراجعه کنید", minute=1),
                           item("passport", "passport#1", "مدارک لازم: شناسنامه و کارت ملی", minute=1),
                           item("metro", "metro#0", "متروی تهران تا یازده شب کار می‌کند", minute=1))
                wait_for(lambda: read_cursor(engine, "rag_chunks") == "c3", timeout=300, interval=0.5, what="the first sync")
                started = time.monotonic()
                ingest.add(delete_document("metro", minute=2), item("passport", "passport#1", "مدارک: کارت ملی", minute=3))
                wait_for(lambda: read_cursor(engine, "rag_chunks") == "c5", timeout=120, interval=0.5, what="the change")
                latency = time.monotonic() - started
                with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                    runs = wait_for(lambda: [r for r in instance.get_runs() if r.is_finished] == instance.get_runs()
                                    and instance.get_runs(), timeout=120, interval=0.5, what="the runs to finish")
                    records = instance.get_run_records()
        except Exception:
            print(daemon.log()[-6000:], embedder.log()[-2000:])
            raise

    from qdrant_client import QdrantClient

    client = QdrantClient(path=env["QDRANT_PATH"])  # the daemon is stopped: the lock is free
    try:
        points = client.scroll("rag_chunks", limit=100, with_payload=True)[0]
    finally:
        client.close()
    assert sorted((r.payload["document_id"], r.payload["chunk_id"], r.payload["text"]) for r in points) == [
        ("passport", "passport#0", "برای تمدید گذرنامه به دفاتر پلیس مراجعه کنید"),
        ("passport", "passport#1", "مدارک: کارت ملی"),
    ]
    assert len(runs) >= 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [(r.job_name, r.status) for r in runs]
    assert all(r.job_name == "rag_sync_job" and r.tags["dagster/sensor_name"] == SENSOR_NAME for r in runs)
    spans = sorted((rec.start_time, rec.end_time) for rec in records)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:])), "two syncs overlapped"
    print(f"ingest change searchable after {latency:.1f} s")
