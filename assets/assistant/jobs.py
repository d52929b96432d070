"""Jobs and the schedule of the assistant domain (seed 002's three Celery tasks and its beat entry).

The seed's heavy and light queues are run-queue limits on tag `assistant/queue` (dagster.yaml):
one rebuild (`ai_heavy`) and one incremental run (`ai_light`) at a time. Steps that touch embedded
Qdrant also hold the `qdrant_local` pool (one process at a time). Transport errors are retried by
the steps themselves (3 × ASSISTANT_RETRY_DELAY_SECONDS, errors.py), not by a job retry policy, so a
bug fails at once instead of four times.
"""

from __future__ import annotations

import dagster as dg

from assets.assistant.knowledge_index import COVERAGE_CHECK, INDEX

DOCUMENTS = dg.AssetKey("assistant_documents")
INDEX_JOB = "assistant_index_job"
REBUILD_JOB = "assistant_rebuild_job"
CHANGES_JOB = "assistant_changes_job"
QUEUE_TAG = "assistant/queue"
MAX_RUNTIME = {"dagster/max_runtime": "1800"}  # the seed's CELERY_TASK_TIME_LIMIT, 30 minutes

# The sensor's runs: two short steps in the run's own process when the location's executor is local
# (no step process to start; seconds of latency). Celery steps stay on the workers.
LOCAL_EXECUTORS = {"multiprocess": dg.in_process_executor, "in_process": dg.in_process_executor}


def build_jobs(executor: str) -> list:
    everything = dg.AssetSelection.assets(DOCUMENTS, INDEX) | dg.AssetSelection.checks(COVERAGE_CHECK)
    return [
        dg.define_asset_job(
            INDEX_JOB,
            selection=everything,
            description="Re-render every document (unchanged ones cost a hash), reconcile the index with them "
            "(missing, stale and extra points healed) and check its coverage. The nightly schedule runs it.",
            tags={**MAX_RUNTIME, QUEUE_TAG: "ai_light"},
        ),
        dg.define_asset_job(
            REBUILD_JOB,
            selection=everything,
            config={"ops": {"assistant_knowledge_index": {"config": {"mode": "rebuild"}}}},
            description="Build the whole index from scratch into a new collection, check it, then switch the alias "
            "ASSISTANT_COLLECTION (searches keep answering from the old one until then). Launch by hand.",
            tags={**MAX_RUNTIME, QUEUE_TAG: "ai_heavy"},
        ),
        dg.define_asset_job(
            CHANGES_JOB,
            selection=dg.AssetSelection.assets(DOCUMENTS, INDEX).without_checks(),
            executor_def=LOCAL_EXECUTORS.get(executor),
            description="The documents assistant_changes_sensor saw change (and those stating them), re-rendered "
            "and indexed; the coverage check (a scan of the whole collection) is left to assistant_index_job.",
            tags={**MAX_RUNTIME, QUEUE_TAG: "ai_light"},
        ),
    ]


def build_schedules(index_job, timezone: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="assistant_nightly_schedule",
        cron_schedule="0 3 * * *",
        job=index_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily at 03:00 (the seed's scheduled_index_refresh): full re-render and reconciliation; "
        "unchanged documents cost a hash comparison, drift is healed.",
    )
    def assistant_nightly_schedule(context: dg.ScheduleEvaluationContext):
        return dg.RunRequest(run_key=f"nightly-{context.scheduled_execution_time:%Y-%m-%d}")

    return [assistant_nightly_schedule]
