"""Jobs and schedules of the posts domain."""

from datetime import datetime, timedelta, timezone

import dagster as dg

from orchestration.policies import STEP_RETRY

POSTS_JOB = "posts_job"
POST_ASSETS = ("post_tags", "post_link_enrichments", "post_vectors", "post_graph")

# When a day's posts are late (issue 11): the day that ended at 00:00 UTC is closed by a posts_job run
# at 00:15 (close_posts_day_schedule; the sensor did the rest during the day), so by 02:00 UTC the
# tags and link enrichments must have been materialized since midnight. FreshnessPolicy is asset-level
# in Dagster 1.13 (it looks at the last materialization of any partition, DAGSTER_NOTES §1), so this
# is the one daily deadline an asset-level policy can state for daily partitions.
CLOSE_DAY_CRON = "15 0 * * *"
DAY_CLOSED_BY = dg.FreshnessPolicy.cron(deadline_cron="0 2 * * *", lower_bound_delta=timedelta(hours=2), timezone="UTC")


def build_posts_job():
    return dg.define_asset_job(
        POSTS_JOB,
        selection=dg.AssetSelection.assets(*POST_ASSETS),
        # The steps call the LLM, the web and Qdrant and are idempotent (hash-guarded writes): transient
        # trouble gets another try instead of leaving the day to the next change.
        op_retry_policy=STEP_RETRY,
        description="Tag, enrich links of, index and graph the posts of the run's days (new_posts_sensor launches "
        "it for days with new or edited posts, close_posts_day_schedule for the day just ended; launch a range "
        "of days for a backfill).",
        tags={"dagster/max_runtime": str(4 * 3600)},
    )


def build_schedules(cleanup_job, timezone_name: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="close_posts_day_schedule",
        cron_schedule=CLOSE_DAY_CRON,
        job_name=POSTS_JOB,
        execution_timezone="UTC",  # partitions are UTC days, whatever SCHEDULE_TIMEZONE is
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily, 00:15 UTC: posts_job for the UTC day that just ended (whatever the sensor missed; "
        "the freshness deadline of post_tags and post_link_enrichments is 02:00 UTC).",
    )
    def close_posts_day_schedule(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time or datetime.now(timezone.utc)
        day = (tick.astimezone(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=f"close-{day}", partition_key=day)

    return [
        close_posts_day_schedule,
        dg.ScheduleDefinition(
            name="cleanup_expired_posts_schedule",
            cron_schedule="30 4 * * *",
            job=cleanup_job,
            execution_timezone=timezone_name,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="Daily, 04:30.",
        ),
    ]
