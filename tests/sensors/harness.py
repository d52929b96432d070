"""A product_changes_sensor under test: a fake clock, a real app database, a real Dagster instance,
and `submit` / `finish` doing what the daemon does with the run requests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import dagster as dg
from sqlalchemy import text

import assets.recsys
from appdb.engine import build_engine
from orchestration.resources import build_resources
from orchestration.settings import Settings
from resources.database import DatabaseResource
from sensors.product_changes import SENSOR_NAME, build_product_changes_job, build_product_changes_sensor

SHARDS = 4


def shard_ids(shard: int, count: int, start: int = 0) -> list[int]:
    """`count` product ids that fall into `shard` (id % SHARDS)."""
    ids = (shard + SHARDS * k for k in range(start, start + count + 1))
    return [i for i in ids if i > 0][:count]


@dataclass
class Tick:
    requests: list[dg.RunRequest]
    cursor: str | None
    skip: str | None

    @property
    def by_shard(self) -> dict[str, dg.RunRequest]:
        """Each shard's request (a request over a range of shards appears under each of them)."""
        return {key: r for r in self.requests for key in json.loads(r.tags["debounce/gens"])}


def ids_of(request: dg.RunRequest) -> list[int] | None:
    """The product ids a request asks for (None: the whole shard)."""
    config = request.run_config.get("ops", {}).get("product_vectors", {}).get("config", {})
    return config.get("changed_ids") if config else None


@dataclass
class Harness:
    url: str
    instance: dg.DagsterInstance
    env: dict = field(default_factory=dict)
    now: float = 1_000_000.0
    cursor: str | None = None

    def __post_init__(self):
        settings = Settings(
            {
                "VECTOR_SHARDS": str(SHARDS),
                "PRODUCT_CHANGES_QUIET_SECONDS": "30",
                "PRODUCT_CHANGES_MAX_WAIT_SECONDS": "300",
                "DATA_DIR": "/nonexistent/never-created",
                # The cursor cases are about the trailing edge; tests of the leading edge turn it on.
                "PRODUCT_CHANGES_LEADING_EDGE": "false",
                **self.env,
            }
        )
        self.sensor = build_product_changes_sensor(settings, clock=lambda: self.now)
        self.database = DatabaseResource(url=self.url)
        self.defs = dg.Definitions.merge(
            assets.recsys.build_defs(settings),
            dg.Definitions(
                jobs=[build_product_changes_job("multiprocess")],
                sensors=[self.sensor],
                resources={**build_resources(settings), "database": self.database},
            ),
        )
        self.engine = build_engine(self.url)

    # --- the application side
    def sql(self, statement: str, **params) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement), params)

    def insert(self, ids: list[int], title: str = "product") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO product (id, title, updated_at) VALUES (:id, :title, CURRENT_TIMESTAMP)"),
                [{"id": i, "title": f"{title} {i}"} for i in ids],
            )

    def update(self, ids: list[int], title: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE product SET title = :title WHERE id = :id"), [{"id": i, "title": title} for i in ids])

    # --- the daemon side
    def tick(self, advance: float = 0.0, cursor: str | None | type(...) = ...) -> Tick:
        """Evaluate one tick `advance` seconds later, from the saved cursor (or the one given)."""
        self.now += advance
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor if cursor is ... else cursor,
            definitions=self.defs,
            resources={"database": self.database},
        )
        data = self.sensor.evaluate_tick(context)
        return Tick(list(data.run_requests or []), data.cursor, data.skip_message)

    def save(self, tick: Tick) -> Tick:
        self.cursor = tick.cursor
        return tick

    def submit(self, tick: Tick, status: dg.DagsterRunStatus = dg.DagsterRunStatus.NOT_STARTED) -> list[dg.DagsterRun]:
        """Create the runs like the daemon: skip used run keys, tag them with the sensor name."""
        runs = []
        for request in tick.requests:
            used = self.instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/run_key": request.run_key, "dagster/sensor_name": SENSOR_NAME})
            )
            if used:
                continue
            run = dg.DagsterRun(
                job_name="product_changes_job",
                run_id=str(uuid.uuid4()),
                run_config=request.run_config,
                tags={**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": SENSOR_NAME},
                status=status,
            )
            self.instance.add_run(run)
            runs.append(run)
        return runs

    def finish(self, runs: list[dg.DagsterRun]) -> None:
        for run in runs:
            self.instance.report_run_canceled(run, message="test: run finished")

    def tick_and_launch(self, advance: float = 0.0) -> tuple[Tick, list[dg.DagsterRun]]:
        tick = self.save(self.tick(advance))
        return tick, self.submit(tick)
