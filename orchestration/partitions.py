"""Partition definitions shared by assets, jobs and schedules."""

import dagster as dg

# Every 4 hours, UTC: one partition per Celery Beat tick of the seed's currency-update-rates.
RATES_PARTITIONS = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 */4 * * *",
    start="2025-01-01-00:00",
    fmt="%Y-%m-%d-%H:%M",
    timezone="UTC",
)
