"""RAG core, users part (seed 004): notifications to the users system through an outbox, user statistics
and tiers, daily limits, cleanups. See assets/rag/users/README.md."""

from __future__ import annotations

import dagster as dg

from assets.rag.users.assets import RAG_QUERY_LOG, notification_outbox, rag_user_stats, rag_user_tiers, usage_statistics
from assets.rag.users.checks import CHECKS
from assets.rag.users.jobs import OP_JOBS, USAGE_JOB, build_asset_jobs
from assets.rag.users.schedules import build_schedules
from assets.rag.users.sensors import notifications_sensor


def build_defs(settings) -> dg.Definitions:
    asset_jobs = build_asset_jobs(settings.get("DAGSTER_EXECUTOR").strip().lower())
    [usage_job] = [job for job in asset_jobs if job.name == USAGE_JOB]
    return dg.Definitions(
        assets=[RAG_QUERY_LOG, notification_outbox, rag_user_stats, rag_user_tiers, usage_statistics],
        asset_checks=CHECKS,
        jobs=[*asset_jobs, *OP_JOBS],
        schedules=build_schedules(settings.get("RAG_TIMEZONE"), usage_job),
        sensors=[notifications_sensor],
    )
