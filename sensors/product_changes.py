"""`product_changes_sensor`: product inserts, updates and deletes reach their vectors within seconds.

The capture triggers (appdb/changes.py) log every change in `product_change`; this sensor reads the
log in `seq` order, maps products to vector shards, debounces (sensors/debounce.py) and requests runs
of only the affected `product_vectors` partitions with the changed ids in the run config. It never
loads a model or opens Qdrant: a tick is a few indexed queries over the new rows.
"""

import time
from typing import Callable

import dagster as dg
from sqlalchemy import Engine

from appdb.changes import product_change
from orchestration.partitions import vector_shard_keys
from orchestration.policies import STEP_RETRY
from sensors.change_log import ChangeLogSource
from sensors.debounce import DebouncePolicy
from sensors.debounced_sensor import build_debounced_sensor

SENSOR_NAME = "product_changes_sensor"
CHANGES_JOB = "product_changes_job"
PRODUCT_VECTORS = dg.AssetKey("product_vectors")


class ProductChangeSource(ChangeLogSource):
    """The `product_change` log keyed by vector shard."""

    def __init__(self, engine: Engine, shards: int, retention_s: float, now: Callable[[], float] = time.time):
        keys = vector_shard_keys(shards)
        super().__init__(engine, product_change, lambda row: (keys[row.product_id % len(keys)], int(row.product_id)), retention_s, now)


def product_ids_of(run_config: dict) -> list | None:
    """The product ids a product_vectors run config names (None: the whole shard)."""
    config = run_config.get("ops", {}).get("product_vectors", {}).get("config", {}) or {}
    ids = set(config.get("changed_ids") or ()) | set(config.get("product_ids") or ())
    return sorted(ids) or None


def product_vectors_run_config(product_ids: list | None) -> dict:
    """The run config of one batch: the changed ids (`changed_ids`: by the usual rules, so a product
    made unavailable loses its point), or nothing (the whole shard)."""
    if product_ids is None:
        return {}
    return {"ops": {"product_vectors": {"config": {"changed_ids": product_ids}}}}


# The sensor's runs have one step: with a local executor it runs in the run's own process, which saves
# starting and tearing down a step process per run (seconds of latency). Steps sent elsewhere (celery)
# stay there: the code location's executor applies.
CHANGES_JOB_EXECUTOR = {"multiprocess": dg.in_process_executor, "in_process": dg.in_process_executor}


def build_product_changes_job(executor: str):
    return dg.define_asset_job(
        CHANGES_JOB,
        selection=dg.AssetSelection.assets(PRODUCT_VECTORS).without_checks(),
        executor_def=CHANGES_JOB_EXECUTOR.get(executor),
        # The asset only: the coverage check scans whole shards (product_vectors_job runs it).
        description="product_vectors for the products product_changes_sensor saw change, shard by shard.",
        # A restarting embeddings server or Qdrant server: the step runs again instead of leaving the
        # changes to the next full reconciliation (the sensor does not launch a run it already launched).
        op_retry_policy=STEP_RETRY,
        tags={"dagster/max_runtime": str(2 * 3600)},
    )


def build_product_changes_sensor(settings, clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    shards = settings.get_int("VECTOR_SHARDS")
    retention_s = settings.get_float("PRODUCT_CHANGES_RETENTION_HOURS") * 3600
    policy = DebouncePolicy(
        quiet_s=settings.get_float("PRODUCT_CHANGES_QUIET_SECONDS"),
        max_wait_s=settings.get_float("PRODUCT_CHANGES_MAX_WAIT_SECONDS"),
        leading_edge=settings.get_bool("PRODUCT_CHANGES_LEADING_EDGE"),
        max_items=settings.get_int("PRODUCT_CHANGES_MAX_IDS_PER_RUN"),
    )
    return build_debounced_sensor(
        name=SENSOR_NAME,
        job_name=CHANGES_JOB,
        source=lambda resources: ProductChangeSource(resources.database.engine, shards, retention_s),
        run_config=product_vectors_run_config,
        policy=policy,
        required_resource_keys={"database"},
        # Shards due together share one run over their range (product_vectors has a single-run
        # backfill policy): a burst over every shard loads the models once, not once per shard.
        partition_order=vector_shard_keys(shards),
        # Any successful product_vectors run (the schedule, a backfill, the UI) consumes the changes it
        # covered before it started: they are not launched again.
        processed_asset=PRODUCT_VECTORS,
        run_items=product_ids_of,
        clock=clock,
        description=(
            "Product inserts, updates and deletes (product_change, fed by triggers) → product_changes_job runs "
            "of only the affected product_vectors shards with the changed ids: "
            + ("an isolated change at once (leading edge), " if policy.leading_edge else "")
            + f"a burst after {policy.quiet_s:g} s without changes, at the latest {policy.max_wait_s:g} s after "
            "the first; neighbouring shards due together share a run; changes arriving while a shard's run is "
            "queued or running go into its next run; changes a successful run (anyone's) already covered are "
            "dropped. Replaces seed 000's reindex-on-save and seed 002's 30-second debounce."
        ),
    )
