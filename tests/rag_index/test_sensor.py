"""rag_sync_sensor's ticks against the local ingest server: news, nothing new, the 5-minute floor, one
sync at a time, the ingest down or refusing the key."""

import uuid

import dagster as dg
import pytest

from assets.rag.index.sensor import build_rag_sync_sensor
from assets.rag.index.store import set_cursor
from orchestration.settings import Settings
from resources.database import DatabaseResource
from resources.rag_index import RagIndexSettings
from tests.rag_index.conftest import fast_ingest
from tests.support.ingest import item


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tick(sqlite_url, ingest_server, instance):
    clock = Clock()
    sensor = build_rag_sync_sensor(Settings({"RAG_SYNC_INTERVAL_SECONDS": "30", "RAG_SYNC_MAX_INTERVAL_SECONDS": "300"}), clock)
    state = {"cursor": None}
    resources = {"rag_database": DatabaseResource(url=sqlite_url), "ingest": fast_ingest(ingest_server.url),
                 "rag_index": RagIndexSettings(collection="rag_chunks")}

    def run(advance: float = 0.0, **overrides):
        clock.now += advance
        context = dg.build_sensor_context(instance=instance, cursor=state["cursor"], resources={**resources, **overrides})
        data = sensor.evaluate_tick(context)
        state["cursor"] = data.cursor
        return data

    run.resources, run.clock = resources, clock
    return run


def reason(data) -> str:
    return data.skip_message or ""


def test_news_launches_a_sync_and_quiet_ticks_skip_until_the_floor(tick, ingest_server):
    first = tick()  # never launched before: the 5-minute floor is due
    assert [r.tags["rag/trigger"] for r in first.run_requests] == ["interval"]
    quiet = tick(30)
    assert not quiet.run_requests and "nothing new since cursor '(beginning)'" in reason(quiet)

    ingest_server.add(item("doc", "doc#0", "سند تازه"))
    requests_before = ingest_server.requests
    news = tick(30)
    assert [r.tags["rag/trigger"] for r in news.run_requests] == ["news"]
    assert ingest_server.requests == requests_before + 1  # one cheap probe

    set_cursor(tick.resources["rag_database"].engine, "rag_chunks", "c1", None)  # the run synced it
    assert not tick(30).run_requests
    assert [r.tags["rag/trigger"] for r in tick(300).run_requests] == ["interval"]


@pytest.mark.parametrize("job", ["rag_sync_job", "rag_full_sync_job"])
def test_never_two_syncs_at_once(tick, ingest_server, instance, job):
    ingest_server.add(item("doc", "doc#0", "سند تازه"))
    run = dg.DagsterRun(job_name=job, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED)
    instance.add_run(run)
    data = tick()
    assert not data.run_requests and f"{job} run {run.run_id[:8]} is STARTED" in reason(data)
    instance.report_run_canceled(run, message="test: finished")
    assert tick().run_requests


def test_a_failed_sync_is_not_relaunched_every_tick(tick, ingest_server, instance):
    import time

    ingest_server.add(item("doc", "doc#0", "سند تازه"))
    run = dg.DagsterRun(job_name="rag_sync_job", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED)
    instance.add_run(run)
    instance.report_run_failed(run, message="test: Qdrant down")
    tick.clock.now = time.time()
    data = tick()
    assert not data.run_requests and f"the last rag_sync_job run {run.run_id[:8]} failed; next try after 300 s" in reason(data)
    assert [r.tags["rag/trigger"] for r in tick(301).run_requests] == ["news"]


def test_ingest_down_or_refusing_the_key_skips_with_the_reason(tick, ingest_server):
    ingest_server.script(500, 500)
    data = tick()
    assert not data.run_requests and "ingest probe failed" in reason(data) and "HTTP 500" in reason(data)
    data = tick(ingest=fast_ingest(ingest_server.url, key="wrong"))
    assert "ingest refused the key" in reason(data)
