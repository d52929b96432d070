"""The Dagster side of sensors/debounce.py: a sensor factory over any ChangeSource.

The sensor reads its own runs back from the instance (by the `dagster/sensor_name` tag the daemon
puts on them) to know which partitions have a run in flight and to recover runs launched by a tick
whose cursor was lost, then returns one RunRequest per batch together with the new cursor. The
daemon stores the cursor with the run requests before it submits them and skips run keys it has
already used, so a tick interrupted part-way is finished, not repeated.
"""

import json
import time
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

import dagster as dg

from appdb.change_log import CHANGE_LOG_POINT
from sensors.debounce import (
    Batch,
    ChangeSource,
    DebouncePolicy,
    DebounceState,
    LaunchedRun,
    ProcessedRun,
    advance,
    parse_run_key,
)

SENSOR_NAME_TAG = "dagster/sensor_name"
RUN_KEY_TAG = "dagster/run_key"
POSITION_TAG = "debounce/position"
CHANGES_TAG = "debounce/changes"
ITEMS_TAG = "debounce/items"
REASON_TAG = "debounce/reason"
GENS_TAG = "debounce/gens"  # {partition: run number} of every partition the run covers
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# Not finished: the run still holds (or waits for) its partition. (Dagster's IN_PROGRESS_RUN_STATUSES
# leaves out QUEUED and NOT_STARTED.)
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
    dg.DagsterRunStatus.SUSPENDED,
    dg.DagsterRunStatus.MANAGED,
]
# Runs created this long before the saved cursor's tick are looked at for recovery (clock skew margin).
RECOVERY_MARGIN_S = 120.0
RUNS_LIMIT = 1000


def launched_runs(instance: dg.DagsterInstance, sensor_name: str, since: float | None) -> list[LaunchedRun]:
    """This sensor's unfinished runs, and every run it created since `since` (epoch seconds)."""
    records = list(
        instance.get_run_records(
            filters=dg.RunsFilter(tags={SENSOR_NAME_TAG: sensor_name}, statuses=UNFINISHED), limit=RUNS_LIMIT
        )
    )
    if since is not None:
        after = datetime.fromtimestamp(since - RECOVERY_MARGIN_S, tz=timezone.utc)
        records += instance.get_run_records(
            filters=dg.RunsFilter(tags={SENSOR_NAME_TAG: sensor_name}, created_after=after), limit=RUNS_LIMIT
        )
    runs: dict[str, LaunchedRun] = {}
    for record in records:
        run = record.dagster_run
        parsed = parse_run_key(run.tags.get(RUN_KEY_TAG, ""))
        if parsed is None:
            continue
        key, epoch, gen = parsed
        position, gens = run.tags.get(POSITION_TAG), run.tags.get(GENS_TAG)
        runs[run.run_id] = LaunchedRun(
            key=key,
            epoch=epoch,
            gen=gen,
            in_progress=run.status in UNFINISHED,
            position=json.loads(position) if position else None,
            gens=json.loads(gens) if gens else None,
        )
    return list(runs.values())


def processed_runs(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    partitions: Sequence[str],
    run_items: Callable[[dict], list | None],
    partitioned: bool = True,
) -> dict[str, list[ProcessedRun]]:
    """Per partition, the successful run that last materialized `asset_key` there, whoever launched it
    (this sensor, a schedule, a backfill, the UI, `make demo`): the run's start time, the items its
    run config names (`run_items(run_config)`, None: the whole partition) and the point it read the
    change log from (metadata `change_log_point`, when the asset records one)."""
    out: dict[str, list[ProcessedRun]] = {}
    for key in partitions:
        records_filter = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key] if partitioned else None)
        records = instance.fetch_materializations(records_filter, limit=1).records
        if not records:
            continue
        record = instance.get_run_record_by_id(records[0].run_id)
        if record is None or record.dagster_run.status != dg.DagsterRunStatus.SUCCESS or record.start_time is None:
            continue
        items = run_items(record.dagster_run.run_config or {})
        point = records[0].asset_materialization.metadata.get(CHANGE_LOG_POINT)
        out[key] = [
            ProcessedRun(
                record.dagster_run.run_id, started=record.start_time, items=items,
                point=point.value if isinstance(point, dg.JsonMetadataValue) else None,
            )
        ]
    return out


def build_debounced_sensor(
    *,
    name: str,
    job_name: str,
    source: Callable[[object], ChangeSource],
    run_config: Callable[[list | None], dict],
    policy: DebouncePolicy,
    required_resource_keys: set[str],
    description: str,
    # The daemon looks at sensors every 5 s; with an interval of exactly 5 s, timing jitter skips every
    # other look (ticks 10 s apart). 4 s ticks at every look.
    minimum_interval_seconds: int = 4,
    partitioned: bool = True,
    asset_selection: Sequence[dg.AssetKey] | None = None,
    asset_check_keys: Sequence[dg.AssetCheckKey] | None = None,
    extra_tags: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    partition_order: Sequence[str] | None = None,
    processed_asset: dg.AssetKey | None = None,
    run_items: Callable[[dict], list | None] | None = None,
    ready: Callable[[], Callable[[str], bool]] | None = None,
) -> dg.SensorDefinition:
    """A sensor that requests `job_name` runs of the partitions whose changes are due.

    `source(context.resources)` builds the ChangeSource; `run_config(items)` the run config of one
    batch (items None: the whole partition). With `partition_order` (every partition key, in order),
    neighbouring due partitions share one run over their range (the job's assets need a
    BackfillPolicy.single_run and a run config that applies to every partition of the range).

    `processed_asset` (default: the one asset of `asset_selection`, if there is exactly one): pending
    changes of a partition that a successful run materializing this asset has already covered are
    dropped, whoever launched that run; `run_items(run_config)` says which items a run covered (None,
    the default: the whole partition). `ready()` gives, per tick, a test of whether a partition can run
    now (false: its changes stay pending, e.g. a day partition that does not exist yet).
    """
    if processed_asset is None and asset_selection is not None and len(asset_selection) == 1:
        processed_asset = asset_selection[0]
    items_of = run_items or (lambda run_config: None)

    def request(batch: Batch, position: dict | None) -> dg.RunRequest:
        partition_tags = {}
        if partitioned and len(batch.keys) > 1:
            partition_tags = {RANGE_START_TAG: batch.keys[0], RANGE_END_TAG: batch.keys[-1]}
        return dg.RunRequest(
            run_key=batch.run_key,
            partition_key=batch.keys[0] if partitioned and len(batch.keys) == 1 else None,
            run_config=run_config(batch.items),
            asset_selection=asset_selection,
            asset_check_keys=asset_check_keys,
            tags={
                **(extra_tags or {}),
                **partition_tags,
                GENS_TAG: json.dumps(batch.gens, separators=(",", ":")),
                POSITION_TAG: json.dumps(position, separators=(",", ":")),
                CHANGES_TAG: str(batch.changes),
                ITEMS_TAG: "all" if batch.items is None else str(len(batch.items)),
                REASON_TAG: f"{batch.reason} after {batch.waited_s:.1f} s",
            },
        )

    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        required_resource_keys=required_resource_keys,
        description=description,
    )
    def _sensor(context: dg.SensorEvaluationContext):
        saved = DebounceState.from_json(context.cursor) if context.cursor else None
        runs = launched_runs(context.instance, name, saved.saved_at if saved else None)
        processed = None
        if processed_asset is not None:
            def processed(keys: list[str]) -> dict[str, list[ProcessedRun]]:
                return processed_runs(context.instance, processed_asset, keys, items_of, partitioned)
        outcome = advance(
            context.cursor, source(context.resources), policy, runs, now=clock(), order=partition_order,
            processed=processed, ready=ready() if ready is not None else None,
        )
        summary = outcome.summary()
        if outcome.recovered:
            # Rare and worth a trace; routine ticks say everything in their skip reason (no log file per tick).
            context.log.warning(summary)
        requests = [request(batch, outcome.state.position) for batch in outcome.batches]
        return dg.SensorResult(
            run_requests=requests,
            cursor=outcome.state.to_json(),
            skip_reason=None if requests else summary,
        )

    return _sensor
