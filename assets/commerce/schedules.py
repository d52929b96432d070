"""Jobs and schedules of the commerce domain (seed 000's currency Beat entries)."""


import dagster as dg

from assets.commerce import checks
from assets.commerce.currency_rates import currency_rates
from orchestration.partitions import RATES_PARTITIONS
from orchestration.policies import STEP_RETRY

currency_rates_job = dg.define_asset_job(
    "currency_rates_job",
    selection=dg.AssetSelection.assets(currency_rates),
    op_retry_policy=STEP_RETRY,
    tags={"dagster/max_runtime": 15 * 60},
    description="Fetch and store one 4-hour window of exchange rates.",
)

reprice_products_job = dg.define_asset_job(
    "reprice_products_job",
    # The blocking check runs first: a stale or incomplete rate set stops the run before any price moves.
    selection=dg.AssetSelection.assets("repriced_products")
    | dg.AssetSelection.checks(dg.AssetCheckKey(currency_rates.key, checks.RATE_SET_USABLE)),
    tags={"dagster/max_runtime": 60 * 60},
    description="Reprice every product from the newest usable rate set.",
)


def build_schedules(timezone: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="currency_rates_schedule",
        cron_schedule="0 */4 * * *",
        job=currency_rates_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every 4 hours: the window that just ended.",
    )
    def currency_rates_schedule(context: dg.ScheduleEvaluationContext):
        # The partition set as of the tick, not as of "now": a late or replayed tick asks for its own window.
        with dg.partition_loading_context(effective_dt=context.scheduled_execution_time):
            key = RATES_PARTITIONS.get_last_partition_key()
        if key is None:
            return dg.SkipReason("no completed rates window yet")
        return dg.RunRequest(run_key=key, partition_key=key)

    reprice_schedule = dg.ScheduleDefinition(
        name="reprice_products_schedule",
        cron_schedule="20 0 * * *",
        job=reprice_products_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily, 20 minutes after the midnight rates window is fetched.",
    )
    return [currency_rates_schedule, reprice_schedule]
