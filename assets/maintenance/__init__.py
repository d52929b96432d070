"""Maintenance (seed 000): scheduled cleanups and the manual duplicate merge. Operations, not data assets."""

from __future__ import annotations

import dagster as dg

from assets.maintenance.duplicates_job import find_merge_duplicates_job
from assets.maintenance.log_jobs import cleanup_ai_logs_job, cleanup_scraper_sessions_job
from assets.maintenance.media_jobs import cleanup_orphaned_media_job, restore_quarantined_media_job
from assets.maintenance.schedules import build_schedules


def build_defs(settings) -> dg.Definitions:
    return dg.Definitions(
        jobs=[
            cleanup_scraper_sessions_job,
            cleanup_ai_logs_job,
            cleanup_orphaned_media_job,
            restore_quarantined_media_job,
            find_merge_duplicates_job,
        ],
        schedules=build_schedules(settings.get("SCHEDULE_TIMEZONE")),
    )
