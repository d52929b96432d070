"""The daemon path end to end: a real `dagster-daemon` on a temporary instance, SQLite application
database and local Qdrant. Products inserted, updated and deleted reach Qdrant through
product_changes_sensor and product_vectors runs, with no other help."""

import time

import dagster as dg
import pytest
from sqlalchemy import select, text

from appdb.engine import build_engine
from appdb.recsys_tables import product_vector_state
from appdb.schema import init_schema
from assets.recsys.catalog import iter_shard_products, text_hash
from assets.recsys.points import product_point_id
from sensors.product_changes import SENSOR_NAME
from tests.support.daemon import DagsterDaemon, embedded_env, wait_for

SHARDS = 16


def expected_hash(engine, pid: int) -> str:
    [batch] = list(iter_shard_products(engine, SHARDS, pid % SHARDS, [pid]))
    return text_hash(batch[0].text)


def indexed_hash(engine, pid: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(product_vector_state.c.text_hash).where(product_vector_state.c.product_id == pid)
        ).scalar()


def finished_runs(instance) -> list[dg.DagsterRun] | None:
    """The sensor's runs once none is queued or running."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/sensor_name": SENSOR_NAME}))
    return runs if runs and all(run.is_finished for run in runs) else None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_product_changes_reach_qdrant_through_the_daemon(tmp_path):
    env = embedded_env(tmp_path, PRODUCT_CHANGES_QUIET_SECONDS="1")
    engine = build_engine(env["DATABASE_URL"])
    init_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO product (id, title, description, updated_at) VALUES (:id, :title, 'a product', CURRENT_TIMESTAMP)"),
            [{"id": 1, "title": "Red cotton t-shirt"}, {"id": 2, "title": "Claw hammer"}, {"id": 18, "title": "Frying pan"}],
        )

    daemon = DagsterDaemon(env, tmp_path / "daemon.log")
    try:
        with daemon:
            wait_for(lambda: all(indexed_hash(engine, pid) == expected_hash(engine, pid) for pid in (1, 2, 18)),
                     timeout=240, interval=1, what="first vectors of the inserted products")

            with engine.begin() as conn:
                conn.execute(text("UPDATE product SET title = 'Blue linen shirt' WHERE id = 1"))
                conn.execute(text("DELETE FROM product WHERE id = 2"))
            started = time.monotonic()
            new_hash = expected_hash(engine, 1)
            wait_for(lambda: indexed_hash(engine, 1) == new_hash and indexed_hash(engine, 2) is None,
                     timeout=240, interval=0.5, what="the update and the delete in Qdrant")
            latency = time.monotonic() - started
            with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                runs = wait_for(lambda: finished_runs(instance), timeout=120, interval=1, what="the runs to finish")
    except Exception:
        print(daemon.log()[-6000:])
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

    by_shard: dict[str, int] = {}
    for run in runs:
        assert run.status == dg.DagsterRunStatus.SUCCESS, (run.run_id, run.status)
        by_shard[run.tags["dagster/partition"]] = by_shard.get(run.tags["dagster/partition"], 0) + 1
    # the inserts (1 → shard-01; 2 and 18 → shard-02), then the update (shard-01) and the delete (shard-02)
    assert by_shard == {"shard-01": 2, "shard-02": 2}
    print(f"update+delete searchable after {latency:.1f} s")
