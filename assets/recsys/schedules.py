"""Job and schedule of the recsys domain (seed 000's `recsys-sync-all` every 3 days)."""

import dagster as dg

from assets.recsys import checks
from orchestration.policies import STEP_RETRY

PRODUCT_VECTORS_JOB = "product_vectors_job"


def build_product_vectors_job(product_vectors: dg.AssetsDefinition):
    return dg.define_asset_job(
        PRODUCT_VECTORS_JOB,
        selection=dg.AssetSelection.assets(product_vectors)
        | dg.AssetSelection.checks(dg.AssetCheckKey(product_vectors.key, checks.VECTOR_COVERAGE)),
        description="Bring the product vectors of the run's shards up to date, then check their coverage.",
        # A restarting embeddings server or Qdrant server: the step runs again (it is idempotent).
        op_retry_policy=STEP_RETRY,
        tags={"dagster/max_runtime": str(6 * 3600)},
    )


def build_schedules(job, shard_keys: list[str], timezone: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="product_vectors_schedule",
        cron_schedule="0 3 */3 * *",
        job=job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            "Every 3 days at 03:00 (days 1, 4, 7, ... of the month): full reconciliation of every shard in one "
            "run (models load once); unchanged products cost a hash comparison."
        ),
    )
    def product_vectors_schedule(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return dg.RunRequest(
            run_key=f"full-{tick}",
            tags={
                "dagster/asset_partition_range_start": shard_keys[0],
                "dagster/asset_partition_range_end": shard_keys[-1],
            },
        )

    return [product_vectors_schedule]
