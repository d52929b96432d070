"""Jobs and schedules of the posts domain."""

import dagster as dg

POSTS_JOB = "posts_job"
POST_ASSETS = ("post_tags", "post_link_enrichments", "post_vectors", "post_graph")


def build_posts_job():
    return dg.define_asset_job(
        POSTS_JOB,
        selection=dg.AssetSelection.assets(*POST_ASSETS),
        description="Tag, enrich links of, index and graph the posts of the run's days (new_posts_sensor launches "
        "it for days with new or edited posts; launch a range of days for a backfill).",
        tags={"dagster/max_runtime": str(4 * 3600)},
    )


def build_schedules(cleanup_job, timezone: str) -> list[dg.ScheduleDefinition]:
    return [
        dg.ScheduleDefinition(
            name="cleanup_expired_posts_schedule",
            cron_schedule="30 4 * * *",
            job=cleanup_job,
            execution_timezone=timezone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="Daily, 04:30.",
        )
    ]
