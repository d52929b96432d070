"""The time window(s) a posts run covers: one day partition, or a range of them (single-run backfill)."""

from __future__ import annotations

from datetime import datetime

from orchestration.partitions import POSTS_PARTITIONS


def window_of(context) -> tuple[datetime, datetime, list[str]]:
    """(start, end, day keys) of the partitions of an asset or op execution context."""
    keys = list(context.partition_keys)
    window = context.partition_time_window
    return window.start, window.end, keys


def day_window(key: str) -> tuple[datetime, datetime]:
    window = POSTS_PARTITIONS.time_window_for_partition_key(key)
    return window.start, window.end
