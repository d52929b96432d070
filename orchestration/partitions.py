"""Partition definitions shared by assets, jobs and schedules."""

import dagster as dg

# Every 4 hours, UTC: one partition per Celery Beat tick of the seed's currency-update-rates.
RATES_PARTITIONS = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 */4 * * *",
    start="2025-01-01-00:00",
    fmt="%Y-%m-%d-%H:%M",
    timezone="UTC",
)

# One partition per UTC day of post.posted_at. end_offset=1: today's partition exists, so posts are
# processed the day they arrive (the partition is re-run as more come in).
POSTS_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=1)


def vector_shard_keys(shards: int) -> list[str]:
    """Partition keys of the product-vector shards: shard-00 .. shard-{N-1}."""
    width = max(2, len(str(shards - 1)))
    return [f"shard-{i:0{width}d}" for i in range(shards)]


def vector_shard_partitions(shards: int) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(vector_shard_keys(shards))


def shard_of(product_id: int, shards: int) -> int:
    """The shard of a product: its id modulo the shard count (the same expression works in SQL: id % N)."""
    return product_id % shards


def shard_key_of(product_id: int, shards: int) -> str:
    return vector_shard_keys(shards)[shard_of(product_id, shards)]


def shard_index(key: str) -> int:
    return int(key.rsplit("-", 1)[1])
