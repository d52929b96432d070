"""Schedules of the maintenance jobs (seed 000's Beat entries); find_merge_duplicates_job has none, as in the seed."""

import dagster as dg

from assets.maintenance.log_jobs import cleanup_ai_logs_job, cleanup_scraper_sessions_job
from assets.maintenance.media_jobs import cleanup_orphaned_media_job


def build_schedules(timezone: str) -> list[dg.ScheduleDefinition]:
    def schedule(name: str, cron: str, job, description: str) -> dg.ScheduleDefinition:
        return dg.ScheduleDefinition(
            name=name,
            cron_schedule=cron,
            job=job,
            execution_timezone=timezone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=description,
        )

    return [
        schedule("cleanup_scraper_sessions_schedule", "0 3 * * 0", cleanup_scraper_sessions_job, "Weekly, Sunday 03:00."),
        schedule("cleanup_ai_logs_schedule", "30 3 * * 0", cleanup_ai_logs_job, "Weekly, Sunday 03:30."),
        schedule("cleanup_orphaned_media_schedule", "0 4 * * *", cleanup_orphaned_media_job, "Daily, 04:00."),
    ]
