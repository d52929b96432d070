"""A tiny code location for the API tests: the webserver and the daemon load it instead of the whole
platform (fast), with the real health_alerts_sensor and alert resource."""

from datetime import timedelta

import dagster as dg

from resources.alerts import AlertWebhookResource
from sensors.health_alerts import build_health_alerts_sensor


class SleepConfig(dg.Config):
    seconds: float = 0.0


@dg.op
def sleep_op(config: SleepConfig) -> None:
    import time

    time.sleep(config.seconds)


@dg.job(description="Sleeps `seconds` (run config), then succeeds.")
def ops_api_sleep_job():
    sleep_op()


@dg.op
def broken_op() -> None:
    raise ValueError("the source table is empty")


@dg.job(description="Fails in its one step.")
def ops_api_failing_job():
    broken_op()


class DeleteDocumentConfig(dg.Config):
    document_id: str


@dg.op(name="rag_delete_document")
def rag_delete_document(context: dg.OpExecutionContext, config: DeleteDocumentConfig) -> None:
    context.log.info(f"deleting document {config.document_id}")


@dg.job(name="rag_delete_document_job", description="Stand-in with the run config contract of seed 004's delete job.")
def rag_delete_document_job():
    rag_delete_document()


# Never fires during a test (yearly); listed as the next scheduled task.
yearly_schedule = dg.ScheduleDefinition(
    name="ops_api_yearly_schedule", job=ops_api_sleep_job, cron_schedule="0 0 1 1 *", default_status=dg.DefaultScheduleStatus.RUNNING
)


@dg.asset(description="Always materializes; its ERROR check always fails.")
def checked_rows() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=checked_rows, name="rows_sane", description="Always fails, with ERROR severity.")
def rows_sane() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR)


@dg.asset(
    description="Goes stale one minute after each materialization (the shortest freshness window Dagster allows).",
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=1)),
)
def quickly_stale() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 1})


@dg.asset(name="post_tags", description="Stand-in that reports the metadata keys of assets/posts' post_tags.")
def post_tags_standin() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "posts_tagged": 5, "posts_unchanged": 2, "posts_failed": 1,
        "rows_inserted": 3, "rows_updated": 1, "rows_unchanged": 1, "tags_rejected": 4,
    })  # fmt: skip


posts_job = dg.define_asset_job("ops_api_posts_job", selection=[post_tags_standin])
checked_job = dg.define_asset_job("ops_api_checked_job", selection=[checked_rows])
stale_job = dg.define_asset_job("ops_api_stale_job", selection=[quickly_stale])

defs = dg.Definitions(
    assets=[checked_rows, quickly_stale, post_tags_standin],
    asset_checks=[rows_sane],
    jobs=[ops_api_sleep_job, ops_api_failing_job, checked_job, stale_job, posts_job, rag_delete_document_job],
    schedules=[yearly_schedule],
    sensors=[build_health_alerts_sensor(minimum_interval_seconds=2)],
    resources={"alerts": AlertWebhookResource(webhook_url=dg.EnvVar("ALERT_WEBHOOK_URL"))},
    executor=dg.in_process_executor,  # one process per run: quick on a busy machine
)
