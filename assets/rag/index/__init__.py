"""Seed 004's document index: `rag_chunks` synced from the ingest system (assets/rag/README.md)."""

from __future__ import annotations

import dagster as dg

from assets.rag.index.jobs import build_check_job, build_delete_document_job, build_full_sync_job, build_sync_job
from assets.rag.index.rag_chunks import build_rag_chunks
from assets.rag.index.sensor import build_rag_sync_sensor
from orchestration.policies import vector_pool


def build_defs(settings) -> dg.Definitions:
    qdrant_embedded = not settings.is_set("QDRANT_URL")
    # Every step that writes rag_chunks holds the same exclusive pool, so two syncs never overlap.
    pool = vector_pool(qdrant_embedded, embeds=True)
    rag_chunks, consistent = build_rag_chunks(pool)
    check_job = build_check_job()
    return dg.Definitions(
        assets=[rag_chunks],
        asset_checks=[consistent],
        jobs=[build_sync_job(), build_full_sync_job(pool), build_delete_document_job(vector_pool(qdrant_embedded, embeds=False)), check_job],
        schedules=[
            dg.ScheduleDefinition(
                name="rag_index_check_schedule",
                cron_schedule="17 * * * *",
                job=check_job,
                execution_timezone=settings.get("SCHEDULE_TIMEZONE"),
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description="Hourly at :17: rag_index_consistent (rag_chunks against the ingest listing).",
            )
        ],
        sensors=[build_rag_sync_sensor(settings)],
    )
