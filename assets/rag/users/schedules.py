"""Schedules of the users side: seed 004's Beat table, plus the archive and failed-run cleanups that the
seed ran by hand (daily here). Every schedule is RUNNING from deploy."""

from __future__ import annotations

import dagster as dg

from assets.rag.users.jobs import (
    RESET_JOB,
    TIERS_JOB,
    ResetConfig,
    archive_conversations_job,
    failed_runs_cleanup_job,
    query_cache_cleanup_job,
    rag_cache_cleanup_job,
)
from assets.rag.users.limits import local_day

RUNNING = dg.DefaultScheduleStatus.RUNNING


def build_reset_schedule(timezone: str) -> dg.ScheduleDefinition:
    """Hourly in RAG_TIMEZONE, each tick asking for today's reset under run key `reset:<day>`: the 00:00
    tick resets; a midnight missed while the daemon was down is caught up by the first tick after it;
    every other tick of the day finds the run key used (and the ledger would refuse a second reset)."""

    @dg.schedule(
        name="reset_daily_limits_schedule",
        cron_schedule="0 * * * *",
        job_name=RESET_JOB,
        execution_timezone=timezone,
        default_status=RUNNING,
        description="00:00 in RAG_TIMEZONE (hourly ticks catch up a missed midnight; one reset per day).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        day = local_day(context.scheduled_execution_time, timezone).isoformat()
        return dg.RunRequest(
            run_key=f"reset:{day}",
            run_config={"ops": {"reset_daily_limits_op": {"config": ResetConfig(day=day).model_dump()}}},
            tags={"rag/day": day},
        )

    return _schedule


def build_schedules(timezone: str, usage_statistics_job) -> list[dg.ScheduleDefinition]:
    def schedule(name: str, cron: str, job, description: str) -> dg.ScheduleDefinition:
        return dg.ScheduleDefinition(
            name=name, cron_schedule=cron, job=job, execution_timezone=timezone, default_status=RUNNING, description=description
        )

    return [
        build_reset_schedule(timezone),
        schedule("rag_cache_cleanup_schedule", "0 */6 * * *", rag_cache_cleanup_job, "Every 6 hours."),
        schedule("query_cache_cleanup_schedule", "0 2 * * *", query_cache_cleanup_job, "Daily, 02:00."),
        schedule("archive_conversations_schedule", "0 3 * * *", archive_conversations_job, "Daily, 03:00 (on demand in the seed)."),
        schedule("failed_runs_cleanup_schedule", "30 3 * * *", failed_runs_cleanup_job, "Daily, 03:30 (on demand in the seed)."),
        dg.ScheduleDefinition(
            name="rag_user_tiers_schedule", cron_schedule="15 0 * * *", job_name=TIERS_JOB, execution_timezone=timezone,
            default_status=RUNNING, description="Daily, 00:15: tiers and the checks.",
        ),
        dg.build_schedule_from_partitioned_job(
            usage_statistics_job, name="usage_statistics_schedule", minute_of_hour=5, default_status=RUNNING,
            description="Hourly at :05 (UTC), for the hour that just ended.",
        ),
    ]
