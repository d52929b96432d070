"""Issue 11 on the real sensors (real database, real instance): the leading edge, changes already
processed by a run someone else launched, and posts dated in the future."""

import time
from datetime import datetime, timedelta, timezone

import dagster as dg
from sqlalchemy import text

from appdb.changes import product_change
from assets.metadata import change_log_point_md
from orchestration.partitions import POSTS_PARTITIONS, vector_shard_keys
from sensors import new_posts
from sensors.debounce import DebounceState
from tests.posts.conftest import DAY_KEY, at, insert_posts
from tests.posts.test_new_posts_sensor import SensorHarness
from tests.sensors.harness import SHARDS, Harness, ids_of, shard_ids


def _runs_per_shard_per_quiet_period(launches: list[tuple[float, list[str]]], quiet: float) -> int:
    """The most runs any shard got within one quiet period."""
    worst = 0
    for i, (t0, _) in enumerate(launches):
        window = [keys for t, keys in launches[i:] if t - t0 < quiet]
        for shard in {k for keys in window for k in keys}:
            worst = max(worst, sum(shard in keys for keys in window))
    return worst


def test_an_isolated_product_change_launches_on_the_first_tick(db_url, instance):
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_LEADING_EDGE": "true"})
    h.insert(shard_ids(1, 1))
    tick, runs = h.tick_and_launch()
    assert list(tick.by_shard) == ["shard-01"] and ids_of(tick.by_shard["shard-01"]) == shard_ids(1, 1)
    assert tick.by_shard["shard-01"].tags["debounce/reason"].startswith("leading")
    h.finish(runs)


def test_a_burst_with_the_leading_edge_is_at_most_one_run_per_shard_per_quiet_period(db_url, instance):
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_LEADING_EDGE": "true"})
    ids = shard_ids(1, 8) + shard_ids(3, 8)
    h.insert(ids)
    launches = []
    for step in range(24):  # 2 minutes of ticks, updates during the first 40 s
        if step < 8:
            h.update(ids[step::8], title=f"burst {step}")
        tick, runs = h.tick_and_launch(advance=5)
        if tick.requests:
            launches.append((h.now, sorted(tick.by_shard)))
        h.finish(runs)  # each run is over before the next tick
    assert _runs_per_shard_per_quiet_period(launches, 30) == 1
    assert launches[0][1] == ["shard-01", "shard-03"]  # the leading edge
    assert len(launches) <= 3  # the edge, then the burst's trailing run(s), never one per tick


def _materialize_stub(instance, name: str, partitions_def, partition_key: str) -> None:
    """A successful run of an asset with this key and partition, as `make demo` or a schedule makes."""

    @dg.asset(name=name, partitions_def=partitions_def)
    def stub():
        return None

    assert dg.materialize([stub], instance=instance, partition_key=partition_key).success


def test_post_changes_a_demo_run_already_processed_launch_nothing(db_url, instance):
    """`make dev` right after `make demo`: the demo's posts_job processed every day; the sensor's first
    tick finds all changes already processed, instead of launching one no-op run per day."""
    h = SensorHarness(db_url, instance, NEW_POSTS_LEADING_EDGE="true")  # the default
    other_day = (datetime.fromisoformat(DAY_KEY) + timedelta(days=1)).date().isoformat()
    insert_posts(h.engine, [(1, "a", "x", at(9)), (2, "a", "y", at(10)),
                            (3, "a", "z", at(9, day=datetime.fromisoformat(other_day).replace(tzinfo=timezone.utc)))])
    with h.engine.begin() as conn:  # the demo seeded its posts a minute before its run
        conn.execute(text("UPDATE post_change SET changed_at = :t"), {"t": datetime.now(timezone.utc) - timedelta(minutes=1)})
    _materialize_stub(instance, new_posts.PROCESSED_ASSET, POSTS_PARTITIONS, DAY_KEY)
    h.now = time.time() + 60  # `make dev` starts later
    data = h.tick()
    assert sorted(r.partition_key for r in data.run_requests) == [other_day]  # the day the demo did not run
    # ... and the demo day is consumed, not waiting:
    assert DAY_KEY not in DebounceState.from_json(data.cursor).pending


def test_a_product_change_made_after_the_run_started_is_not_consumed(db_url, instance):
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_LEADING_EDGE": "true"})
    _materialize_stub(instance, "product_vectors", dg.StaticPartitionsDefinition(vector_shard_keys(SHARDS)), "shard-02")
    h.insert(shard_ids(2, 1))  # after the run
    h.now = time.time() + 60
    tick = h.tick()
    assert list(tick.by_shard) == ["shard-02"]


def test_product_changes_a_schedule_run_processed_are_consumed(db_url, instance):
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_LEADING_EDGE": "true"})
    h.insert(shard_ids(2, 2) + shard_ids(3, 1))
    with h.engine.begin() as conn:
        conn.execute(text("UPDATE product_change SET changed_at = :t"), {"t": datetime.now(timezone.utc) - timedelta(minutes=1)})
    _materialize_stub(instance, "product_vectors", dg.StaticPartitionsDefinition(vector_shard_keys(SHARDS)), "shard-02")
    h.now = time.time() + 60
    tick = h.save(h.tick())
    assert list(tick.by_shard) == ["shard-03"]
    assert "shard-02" not in DebounceState.from_json(h.cursor).pending


def test_a_post_with_a_future_posted_at_is_held_and_processed_when_its_day_comes(db_url, instance, monkeypatch):
    h = SensorHarness(db_url, instance)
    tomorrow = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1)
    insert_posts(h.engine, [(1, "a", "scheduled", tomorrow), (2, "a", "today", at(9))])
    data = h.tick()
    data = data if data.run_requests else h.tick(advance=31)
    assert [r.partition_key for r in data.run_requests] == [DAY_KEY]  # tomorrow is not a partition yet
    assert "held until their partitions exist" in (h.tick(advance=400).skip_message or "")

    # Midnight has passed: tomorrow's partition exists (for the sensor and for Dagster's own check).
    later = (tomorrow + timedelta(hours=1)).timestamp()
    monkeypatch.setattr(type(POSTS_PARTITIONS), "_get_current_timestamp", lambda self: later)
    data = h.tick(advance=5)
    assert [r.partition_key for r in data.run_requests] == [tomorrow.date().isoformat()]


def _materialize_reading_from(instance, engine, table, partition_key: str) -> None:
    """A successful product_vectors run that recorded where it read the change log from, as the real
    asset does before it reads any product."""

    @dg.asset(name="product_vectors", partitions_def=dg.StaticPartitionsDefinition(vector_shard_keys(SHARDS)))
    def stub():
        return dg.MaterializeResult(metadata=change_log_point_md(engine, table))

    assert dg.materialize([stub], instance=instance, partition_key=partition_key).success


def test_a_long_transaction_committed_after_the_run_read_is_launched(db_url, instance):
    """T logged its change ten minutes before the run started but committed after the run read: the run
    did not see it. By the clock (made + 2 s < run start) it would be dropped; by the point it is not."""
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_LEADING_EDGE": "true"})
    [product_id] = shard_ids(2, 1)
    with h.engine.connect() as slow:
        tx = slow.begin()
        slow.execute(text("INSERT INTO product (id, title, updated_at) VALUES (:i, 'slow', CURRENT_TIMESTAMP)"), {"i": product_id})
        slow.execute(text("UPDATE product_change SET changed_at = :t"), {"t": datetime.now(timezone.utc) - timedelta(minutes=10)})
        _materialize_reading_from(instance, h.engine, product_change, "shard-02")
        tx.commit()
    h.now = time.time() + 60
    tick = h.tick()
    assert list(tick.by_shard) == ["shard-02"] and ids_of(tick.by_shard["shard-02"]) == [product_id]


def test_a_change_committed_just_before_the_run_read_is_consumed(db_url, instance):
    """Committed a moment before the run read (within the clock margin, which would launch it again):
    the run's point shows it saw the change, so nothing launches."""
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_LEADING_EDGE": "true"})
    h.insert(shard_ids(2, 2))
    _materialize_reading_from(instance, h.engine, product_change, "shard-02")
    h.now = time.time() + 60
    tick = h.save(h.tick())
    assert tick.requests == [] and "already processed by later runs: {'shard-02': 2}" in tick.skip
    assert "shard-02" not in DebounceState.from_json(h.cursor).pending
