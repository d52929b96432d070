"""The daemon path end to end, on a temporary instance, SQLite application database and local Qdrant:
the CLI's `--partition-range` backfill builds every shard in one run (the model loaded in the run); a
real `dagster-daemon` with the embeddings server beside it (as `make dev` runs them) then carries an
update and a delete to Qdrant through product_changes_sensor, and runs a re-index of one product
launched with `dagster job launch`."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select, text

from appdb.engine import build_engine
from appdb.recsys_tables import product_vector_state
from appdb.schema import init_schema
from assets.recsys.catalog import iter_shard_products, text_hash
from assets.recsys.points import product_point_id
from sensors.product_changes import CHANGES_JOB, SENSOR_NAME
from tests.support.daemon import ROOT, DagsterDaemon, EmbeddingServer, embedded_env, prepare_home, wait_for

SHARDS = 16
DAGSTER = str(Path(sys.executable).parent / "dagster")


def expected_hash(engine, pid: int) -> str:
    [batch] = list(iter_shard_products(engine, SHARDS, pid % SHARDS, [pid]))
    return text_hash(batch[0].text)


def indexed(engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(product_vector_state.c.product_id, product_vector_state.c.text_hash)).all())


def cli(env: dict, *args: str) -> str:
    done = subprocess.run([DAGSTER, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def materialized_devices(instance, run_id: str) -> set[str]:
    """The `device` metadata of the run's materializations (one per partition of a range run)."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    return {event.asset_materialization.metadata["device"].value for event in events}


def finished_runs(instance) -> list[dg.DagsterRun] | None:
    """Every run of the instance once none is queued or running."""
    runs = instance.get_runs()
    return runs if runs and all(run.is_finished for run in runs) else None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_backfill_then_sensor_and_launched_runs_through_the_daemon(tmp_path):
    env = embedded_env(tmp_path, PRODUCT_CHANGES_QUIET_SECONDS="1")
    prepare_home(env)
    engine = build_engine(env["DATABASE_URL"])
    init_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO product (id, title, description, updated_at) VALUES (:id, :title, 'a product', CURRENT_TIMESTAMP)"),
            [{"id": 1, "title": "Red cotton t-shirt"}, {"id": 2, "title": "Claw hammer"}, {"id": 18, "title": "Frying pan"}],
        )

    # Every shard in one in-process run (BackfillPolicy.single_run), as the README's backfill command.
    cli(env, "asset", "materialize", "-m", "orchestration.definitions", "--select", "product_vectors",
        "--partition-range", "shard-00...shard-15")
    assert indexed(engine) == {pid: expected_hash(engine, pid) for pid in (1, 2, 18)}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM product_change"))  # the backfill covered the inserts

    embedder = EmbeddingServer(env, tmp_path / "embedder.log")
    daemon = DagsterDaemon({**env, "TEXT_EMBED_URL": embedder.url}, tmp_path / "daemon.log")
    try:
        with embedder, daemon:
            with engine.begin() as conn:
                conn.execute(text("UPDATE product SET title = 'Blue linen shirt' WHERE id = 1"))
                conn.execute(text("DELETE FROM product WHERE id = 2"))
            started = time.monotonic()
            new_hash = expected_hash(engine, 1)
            wait_for(lambda: indexed(engine).get(1) == new_hash and 2 not in indexed(engine),
                     timeout=300, interval=0.5, what="the update and the delete in Qdrant")
            latency = time.monotonic() - started

            # Re-index one product by hand: a queued run the daemon dequeues and launches.
            cli(env, "job", "launch", "-w", str(ROOT / "workspace.yaml"), "-j", CHANGES_JOB,
                "--tags", json.dumps({"dagster/partition": "shard-02"}),
                "--config-json", json.dumps({"ops": {"product_vectors": {"config": {"product_ids": [18], "force": True}}}}))
            with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                runs = wait_for(lambda: finished_runs(instance) if len(instance.get_runs()) == 3 else None,
                                timeout=300, interval=1, what="the launched run to finish")
                devices = {run.run_id: materialized_devices(instance, run.run_id) for run in runs}
    except Exception:
        print(daemon.log()[-6000:], embedder.log()[-3000:])
        raise

    from qdrant_client import QdrantClient

    client = QdrantClient(path=env["QDRANT_PATH"])  # the daemon and its runs are stopped: the lock is free
    try:
        points = {p.payload["product_id"]: p for p in client.retrieve(
            "products", [product_point_id(pid) for pid in (1, 2, 18)], with_payload=True, with_vectors=True)}
    finally:
        client.close()
    assert sorted(points) == [1, 18]  # the deleted product's point is gone
    assert points[1].payload["text_hash"] == new_hash and len(points[1].vector["text"]) == 384

    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), [(r.job_name, r.status) for r in runs]
    [by_sensor] = [run for run in runs if run.tags.get("dagster/sensor_name") == SENSOR_NAME]
    # shard-01 (the update) and shard-02 (the delete) were due together: one run over both
    assert (by_sensor.tags["dagster/asset_partition_range_start"], by_sensor.tags["dagster/asset_partition_range_end"]) == (
        "shard-01", "shard-02")
    assert by_sensor.run_config["ops"]["product_vectors"]["config"]["changed_ids"] == [1, 2]
    launched = [run for run in runs if run.job_name == CHANGES_JOB and "dagster/sensor_name" not in run.tags]
    assert len(launched) == 1 and launched[0].run_config["ops"]["product_vectors"]["config"]["product_ids"] == [18]
    # The daemon's runs asked the server (no model loaded in them); the CLI backfill loaded its own.
    assert devices[by_sensor.run_id] == devices[launched[0].run_id] == {f"text: server {embedder.url}"}
    [backfill] = [run for run in runs if run.job_name != CHANGES_JOB]
    assert devices[backfill.run_id] == {"image: cpu, text: cpu"}  # creating the collection needs both sizes
    print(f"update+delete searchable after {latency:.1f} s")
