"""`rag_sync_sensor`: asks the ingest system whether anything is new since the cursor (one item) and
launches rag_sync_job when it is; a sync at least every RAG_SYNC_MAX_INTERVAL_SECONDS in any case
(seed 004's 5-minute process_sync_queue); never while a sync or a full sync is queued or running.
The sensor's own cursor is the time of its last launch."""


import time
from typing import Callable

import dagster as dg
from sqlalchemy.exc import SQLAlchemyError

from assets.rag.index.jobs import RAG_SYNC_JOB, SYNC_JOBS
from resources.database import DatabaseResource
from resources.ingest import IngestError, IngestResource
from resources.rag_index import RagIndexSettings

SENSOR_NAME = "rag_sync_sensor"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]
PROBE_ATTEMPTS = 2  # a tick must stay short; the next tick asks again


def recent_failure(instance: dg.DagsterInstance, now: float, wait_s: float) -> dg.DagsterRun | None:
    """The last rag_sync_job run, when it failed less than `wait_s` ago (a broken Qdrant or model is not
    hammered every tick; news that a run cannot write waits for the floor interval)."""
    records = instance.get_run_records(filters=dg.RunsFilter(job_name=RAG_SYNC_JOB), limit=1)
    if not records or records[0].dagster_run.status != dg.DagsterRunStatus.FAILURE or records[0].end_time is None:
        return None
    return records[0].dagster_run if now - records[0].end_time < wait_s else None


def sync_in_flight(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    for job in SYNC_JOBS:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=job, statuses=IN_FLIGHT), limit=1)
        if runs:
            return runs[0]
    return None


def build_rag_sync_sensor(settings, clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    interval = settings.get_int("RAG_SYNC_INTERVAL_SECONDS")
    max_interval = settings.get_float("RAG_SYNC_MAX_INTERVAL_SECONDS")

    @dg.sensor(
        name=SENSOR_NAME,
        job_name=RAG_SYNC_JOB,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Every {interval} s: one item since the ingest cursor → a rag_sync_job run when there is news, and at "
            f"least every {max_interval:g} s regardless (0 = only on news); skipped while a rag_sync_job or "
            f"rag_full_sync_job run is queued or running, and for {max_interval or interval:g} s after a failed sync. "
            "Replaces seed 004's process_sync_queue (every 5 minutes)."
        ),
    )
    def rag_sync_sensor(
        context: dg.SensorEvaluationContext,
        rag_database: DatabaseResource,
        ingest: IngestResource,
        rag_index: RagIndexSettings,
    ):
        from assets.rag.index.store import read_cursor

        if not ingest.configured:
            return dg.SkipReason("INGEST_URL is not set: no ingest system to follow")
        running = sync_in_flight(context.instance)
        if running is not None:
            return dg.SkipReason(f"{running.job_name} run {running.run_id[:8]} is {running.status.value}: one sync at a time")
        now = clock()
        failed = recent_failure(context.instance, now, max_interval or interval)
        if failed is not None:
            return dg.SkipReason(f"the last rag_sync_job run {failed.run_id[:8]} failed; next try after "
                                 f"{max_interval or interval:g} s (its error is in the UI)")
        due = max_interval > 0 and now - float(context.cursor or 0) >= max_interval
        try:
            cursor = read_cursor(rag_database.engine, rag_index.collection)
        except SQLAlchemyError as exc:  # e.g. `platformctl db init` not run yet
            return dg.SkipReason(f"cannot read the ingest cursor ({exc.__class__.__name__}: {str(exc)[:200]})")
        try:
            news = bool(ingest.source(attempts=PROBE_ATTEMPTS).page(cursor, 1).items)
        except IngestError as exc:
            return dg.SkipReason(f"ingest probe failed, asking again next tick: {exc}")
        if not news and not due:
            return dg.SkipReason(f"nothing new since cursor {cursor or '(beginning)'!r}")
        context.update_cursor(str(now))
        return dg.RunRequest(tags={"rag/trigger": "news" if news else "interval"})

    return rag_sync_sensor
