"""Jobs and schedules of the content domain (seed 003's Celery beat: hourly, every 30 min, daily)."""

from __future__ import annotations

from datetime import timezone as tz

import dagster as dg

from assets.content.daily_content import daily_content

CHAT_MESSAGES_JOB = "chat_messages_job"
POPULAR_TOPICS_JOB = "popular_topics_job"
DAILY_CONTENT_JOB = "daily_content_job"

# One step per run, in the run's own process: no step process to start (latency of the sensor path).
IN_PROCESS = {"multiprocess": dg.in_process_executor, "in_process": dg.in_process_executor}


def build_jobs(executor: str) -> list:
    return [
        dg.define_asset_job(
            CHAT_MESSAGES_JOB,
            selection=dg.AssetSelection.assets("message_topics", "user_recommendations").without_checks(),
            executor_def=IN_PROCESS.get(executor),
            description="Topics of new chat messages, then recommendations of their users (chat_messages_sensor launches it).",
            tags={"dagster/max_runtime": str(3600)},
        ),
        dg.define_asset_job(POPULAR_TOPICS_JOB, selection=dg.AssetSelection.assets("popular_topics"), executor_def=IN_PROCESS.get(executor)),
        dg.define_asset_job(
            DAILY_CONTENT_JOB, selection=dg.AssetSelection.assets(daily_content), partitions_def=daily_content.partitions_def,
            executor_def=IN_PROCESS.get(executor),
        ),
    ]


def build_schedules(cleanup_job, timezone: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="daily_content_schedule",
        cron_schedule="5 * * * *",
        job_name=DAILY_CONTENT_JOB,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Hourly at :05 (UTC): today's daily_content partition (new topics and library items, fresh TTLs).",
    )
    def daily_content_schedule(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.astimezone(tz.utc).date().isoformat()
        return dg.RunRequest(run_key=f"{day}:{context.scheduled_execution_time.hour:02d}", partition_key=day)

    return [
        daily_content_schedule,
        dg.ScheduleDefinition(
            name="popular_topics_schedule", cron_schedule="*/30 * * * *", job_name=POPULAR_TOPICS_JOB,
            execution_timezone=timezone, default_status=dg.DefaultScheduleStatus.RUNNING, description="Every 30 minutes.",
        ),
        dg.ScheduleDefinition(
            name="cleanup_old_content_schedule", cron_schedule="15 3 * * *", job=cleanup_job,
            execution_timezone=timezone, default_status=dg.DefaultScheduleStatus.RUNNING, description="Daily, 03:15.",
        ),
    ]
