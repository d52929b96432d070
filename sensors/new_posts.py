"""`new_posts_sensor`: new, edited and deleted posts request their day partitions of posts_job.

The same mechanism as product_changes_sensor: capture triggers log every post change with its UTC
day in `post_change` (appdb/posts_tables.py), `ChangeLogSource` reads the log (late-commit-safe on
PostgreSQL), and the debounce core (sensors/debounce.py) turns a burst into one run per affected day
after a quiet period (an isolated change at once: the leading edge), at the latest after the max
wait, one run in flight per day; changes of a future day wait for that day. A run processes
its whole day, which is cheap: unchanged posts are skipped by hash in every asset.
"""

import logging
import time
from typing import Callable

import dagster as dg
from sqlalchemy import Engine

from appdb.posts_tables import post_change
from assets.posts.schedules import POST_ASSETS, POSTS_JOB
from orchestration.partitions import POSTS_PARTITIONS
from sensors.debounce import ChangeBatch, DebouncePolicy
from sensors.debounced_sensor import build_debounced_sensor
from sensors.change_log import ChangeLogSource

SENSOR_NAME = "new_posts_sensor"
# The first asset of posts_job: every post of the day passes through it (its run succeeded: the whole
# job did, since only successful runs count).
PROCESSED_ASSET = POST_ASSETS[0]
log = logging.getLogger(__name__)


class PostChangeSource(ChangeLogSource):
    """The `post_change` log keyed by day partition. Changes of days before the first partition can
    never run: they are dropped, and counted in `dropped`. Changes of days after today (a post with a
    future posted_at) are kept: the sensor holds them until their day's partition exists."""

    def __init__(self, engine: Engine, retention_s: float, first_day: str, now: Callable[[], float] = time.time):
        super().__init__(engine, post_change, lambda row: (row.day, int(row.post_id)), retention_s, now)
        self.first_day = first_day
        self.dropped: dict[str, int] = {}

    def read(self, position: dict | None, limit: int) -> ChangeBatch:
        batch = super().read(position, limit)
        kept = []
        for change in batch.changes:
            if self.first_day <= change.key:
                kept.append(change)
            else:
                self.dropped[change.key] = self.dropped.get(change.key, 0) + 1
        if len(kept) < len(batch.changes):
            log.warning(f"new_posts_sensor: changes of days before {self.first_day} dropped: {self.dropped}")
        return ChangeBatch(changes=kept, position=batch.position, more=batch.more)


def existing_days() -> Callable[[str], bool]:
    """Per tick: is a day a partition yet? Today (UTC) is the last one, so a future day becomes
    valid at its midnight, and its held changes run then (they are past their max wait by then)."""
    last_day = POSTS_PARTITIONS.get_last_partition_key()
    return lambda day: day <= last_day


def build_new_posts_sensor(settings, clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    retention_s = settings.get_float("NEW_POSTS_RETENTION_HOURS") * 3600
    policy = DebouncePolicy(
        quiet_s=settings.get_float("NEW_POSTS_QUIET_SECONDS"),
        max_wait_s=settings.get_float("NEW_POSTS_MAX_WAIT_SECONDS"),
        leading_edge=settings.get_bool("NEW_POSTS_LEADING_EDGE"),
    )
    first_day = POSTS_PARTITIONS.get_first_partition_key()

    def source(resources) -> PostChangeSource:
        return PostChangeSource(resources.database.engine, retention_s, first_day)

    return build_debounced_sensor(
        name=SENSOR_NAME,
        job_name=POSTS_JOB,
        source=source,
        run_config=lambda items: {},  # the whole day: every asset skips unchanged posts by hash
        policy=policy,
        required_resource_keys={"database"},
        # A successful posts_job run over a day (launched by anyone: `make demo`, a backfill, the UI)
        # consumes the day's changes made before it started: no run that would find nothing to do.
        processed_asset=dg.AssetKey(PROCESSED_ASSET),
        ready=existing_days,
        clock=clock,
        description=(
            "New, edited and deleted posts (post_change, fed by triggers) → posts_job runs of only their day "
            "partitions: " + ("an isolated change at once (leading edge), " if policy.leading_edge else "")
            + f"a burst in one run per day after {policy.quiet_s:g} s without changes, at the latest "
            f"{policy.max_wait_s:g} s after the first; changes arriving while a day's run is queued or running "
            "go into its next run; days a successful posts_job run (anyone's) already covered are not run again; "
            "a future day waits for its date. Replaces seed 001's posts.parsed stream consumers and their Redis dedup."
        ),
    )
