"""`product_changes_sensor`: product inserts, updates and deletes reach their vectors within seconds.

The capture triggers (appdb/changes.py) log every change in `product_change`; this sensor reads the
log in `seq` order, maps products to vector shards, debounces (sensors/debounce.py) and requests runs
of only the affected `product_vectors` partitions with the changed ids in the run config. It never
loads a model or opens Qdrant: a tick is a few indexed queries over the new rows.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import dagster as dg
from sqlalchemy import Connection, Engine, Table, delete, or_, select

from appdb.changes import product_change
from orchestration.partitions import vector_shard_keys
from orchestration.policies import STEP_RETRY
from sensors.debounce import Change, ChangeBatch, DebouncePolicy
from sensors.debounced_sensor import build_debounced_sensor

SENSOR_NAME = "product_changes_sensor"
CHANGES_JOB = "product_changes_job"
PRODUCT_VECTORS = dg.AssetKey("product_vectors")
PRUNE_BATCH = 5000


class _SerialWriter:
    """SQLite: one writer at a time, so rows commit in seq order; nothing is ever in flight."""

    options: dict = {}

    def in_progress(self, conn: Connection) -> set[int]:
        return set()


class _PostgresSnapshot:
    """PostgreSQL: the transactions in progress in the reading snapshot. Their change rows are
    invisible now but may carry a seq below the rows read; they are read once those commit."""

    # One snapshot for the whole read: the in-progress list and the rows read agree.
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}

    def in_progress(self, conn: Connection) -> set[int]:
        snapshot = conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar_one()
        xip = snapshot.split(":")[2]  # "xmin:xmax:xip1,xip2,..."
        return {int(x) for x in xip.split(",") if x}


SNAPSHOTS = {"sqlite": _SerialWriter(), "postgresql": _PostgresSnapshot()}


@dataclass
class Position:
    """Where the log has been read to: every row with seq <= hwm, except the rows of the `inflight`
    transactions (in progress at the last read) and the unread ranges of `draining` ones (committed
    since; their rows with after < seq <= upto are read next)."""

    hwm: int = 0
    inflight: list[int] | None = None
    draining: dict[int, list[int]] | None = None

    @classmethod
    def from_json(cls, data: dict | None) -> "Position":
        data = data or {}
        return cls(
            hwm=int(data.get("hwm", 0)),
            inflight=[int(t) for t in data.get("inflight", [])],
            draining={int(t): [int(a), int(b)] for t, (a, b) in data.get("draining", {}).items()},
        )

    def to_json(self) -> dict:
        return {
            "hwm": self.hwm,
            "inflight": sorted(self.inflight or []),
            "draining": {str(t): r for t, r in sorted((self.draining or {}).items())},
        }


def _rows(conn: Connection, table: Table, where, limit: int):
    return conn.execute(select(table).where(*where).order_by(table.c.seq).limit(limit)).all()


class ChangeLogSource:
    """A change-log table filled by capture triggers (columns seq, op, changed_at, txid and the entity's),
    as a ChangeSource. `to_change(row)` gives the row's (partition key, item); the mark is (seq, txid)."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        to_change: Callable[[Any], tuple[str, Any]],
        retention_s: float,
        now: Callable[[], float] = time.time,
    ):
        self._engine = engine
        self._table = table
        self._to_change = to_change
        self._retention_s = retention_s
        self._now = now
        self._snapshots = SNAPSHOTS[engine.dialect.name]

    def _change(self, row) -> Change:
        key, item = self._to_change(row)
        at = row.changed_at
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)  # stored as UTC (SQLite keeps no zone)
        return Change(
            key=key, item=item, op=row.op, mark=(int(row.seq), None if row.txid is None else int(row.txid)),
            at=None if at is None else at.timestamp(),
        )

    def read(self, position: dict | None, limit: int) -> ChangeBatch:
        pos = Position.from_json(position)
        c = self._table.c
        rows = []
        with self._engine.connect().execution_options(**self._snapshots.options) as conn, conn.begin():
            running = self._snapshots.in_progress(conn)
            # Transactions in flight at the last read that have finished since: read their rows up
            # to the old high-water mark (their later rows come with the main read).
            for txid in pos.inflight:
                if txid not in running:
                    pos.draining[txid] = [0, pos.hwm]
            for txid in sorted(pos.draining):
                after, upto = pos.draining[txid]
                budget = limit - len(rows)
                if budget <= 0:
                    break
                got = _rows(conn, self._table, (c.txid == txid, c.seq > after, c.seq <= upto), budget)
                rows += got
                if len(got) < budget:
                    del pos.draining[txid]
                else:
                    pos.draining[txid] = [got[-1].seq, upto]
            budget = limit - len(rows)
            more = budget <= 0
            if budget > 0:
                got = _rows(conn, self._table, (c.seq > pos.hwm,), budget)
                rows += got
                if got:
                    pos.hwm = int(got[-1].seq)
                more = len(got) == budget
            # Everything in progress now may commit rows with seq <= the new hwm later.
            pos.inflight = sorted(running)
        return ChangeBatch(
            changes=[self._change(row) for row in rows], position=pos.to_json(), more=more or bool(pos.draining)
        )

    def within(self, position: dict, change: Change) -> bool:
        pos = Position.from_json(position)
        seq, txid = change.mark
        if seq > pos.hwm or txid in pos.inflight:
            return False
        after, upto = pos.draining.get(txid, (0, 0))
        return not (after < seq <= upto)

    def acknowledge(self, position: dict) -> int:
        """Delete consumed rows older than the retention (bounded per call); keep the rows of
        transactions the position has not finished reading."""
        if self._retention_s < 0:
            return 0
        pos = Position.from_json(position)
        c = self._table.c
        keep = sorted(set(pos.inflight) | set(pos.draining))
        cutoff = datetime.fromtimestamp(self._now(), tz=timezone.utc) - timedelta(seconds=self._retention_s)
        oldest = select(c.seq, c.changed_at, c.txid).where(c.seq <= pos.hwm).order_by(c.seq).limit(PRUNE_BATCH).subquery()
        victims = select(oldest.c.seq).where(
            oldest.c.changed_at < cutoff, or_(oldest.c.txid.is_(None), oldest.c.txid.not_in(keep))
        )
        with self._engine.begin() as conn:
            return conn.execute(delete(self._table).where(c.seq.in_(victims))).rowcount


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
