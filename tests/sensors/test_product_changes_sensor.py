"""product_changes_sensor over its cursor cases, on SQLite and PostgreSQL, with a real Dagster
instance: the sensor is evaluated like the daemon does and its runs are created like the daemon does."""

import json
import threading

import pytest
from sqlalchemy import text

from appdb.engine import build_engine
from sensors.debounce import DebounceState
from tests.sensors.harness import SHARDS, Harness, ids_of, shard_ids


@pytest.fixture
def harness(db_url, instance):
    return Harness(db_url, instance)


def pending(h: Harness) -> dict[str, list | None]:
    state = DebounceState.from_json(h.cursor)
    return {key: None if p.items is None else sorted(p.items) for key, p in state.pending.items()}


def test_first_tick_takes_every_logged_change_and_waits(harness):
    harness.insert(shard_ids(1, 2) + shard_ids(2, 1))
    tick = harness.save(harness.tick())
    assert tick.requests == []
    assert "read 3 changes (I=3)" in tick.skip
    assert pending(harness) == {"shard-01": shard_ids(1, 2), "shard-02": shard_ids(2, 1)}


def test_nothing_new_launches_nothing_and_keeps_the_position(harness):
    harness.save(harness.tick())
    before = DebounceState.from_json(harness.cursor).position
    tick = harness.save(harness.tick(advance=60))
    assert tick.requests == [] and "read 0 changes" in tick.skip
    assert DebounceState.from_json(harness.cursor).position == before


def test_a_burst_becomes_one_run_per_affected_shard_with_the_changed_ids(harness):
    ids = shard_ids(1, 5) + shard_ids(3, 5)
    harness.insert(ids)
    for step in range(5):  # a 20-second burst of updates in two shards
        harness.update(ids[step::5], title=f"burst {step}")
        assert harness.save(harness.tick(advance=5)).requests == []
    tick, runs = harness.tick_and_launch(advance=30)
    assert sorted(tick.by_shard) == ["shard-01", "shard-03"]
    assert ids_of(tick.by_shard["shard-01"]) == shard_ids(1, 5)
    assert ids_of(tick.by_shard["shard-03"]) == shard_ids(3, 5)
    assert tick.by_shard["shard-01"].tags["debounce/changes"] == "10"  # 5 inserts and 5 updates
    assert len(runs) == 2
    assert harness.save(harness.tick(advance=60)).requests == []  # nothing more to do


def test_the_quiet_period_waits_for_the_last_change(harness):
    ids = shard_ids(2, 2)
    harness.insert(ids[:1])
    harness.save(harness.tick())
    harness.update(ids[:1], title="again")
    harness.save(harness.tick(advance=25))  # 25 s after the first, 0 s after the second
    assert harness.save(harness.tick(advance=25)).requests == []  # 25 s after the second
    tick, _ = harness.tick_and_launch(advance=5)
    assert ids_of(tick.by_shard["shard-02"]) == ids[:1]
    assert "quiet" in tick.by_shard["shard-02"].tags["debounce/reason"]


def test_a_continuous_stream_still_runs_every_max_wait(harness):
    ids = shard_ids(0, 3)
    harness.insert(ids)
    launched_at = []
    for second in range(10, 700, 10):  # a change every 10 s, never 30 s of quiet
        harness.update(ids[second % 3 : second % 3 + 1], title=f"t{second}")
        tick, runs = harness.tick_and_launch(advance=10)
        if tick.requests:
            launched_at.append((second, tick.by_shard["shard-00"].tags["debounce/reason"].split()[0]))
        harness.finish(runs)
    assert launched_at == [(310, "max_wait"), (620, "max_wait")]  # 300 s after the first pending change


def test_deleted_products_are_sent_to_the_run_so_their_points_go(harness):
    ids = shard_ids(1, 3)
    harness.insert(ids)
    harness.save(harness.tick())
    _, runs = harness.tick_and_launch(advance=30)
    harness.finish(runs)
    harness.sql("DELETE FROM product WHERE id = :id", id=ids[1])
    harness.sql("UPDATE product SET is_available = false WHERE id = :id", id=ids[2])
    tick = harness.save(harness.tick())
    assert "read 2 changes (D=1, U=1)" in tick.skip
    assert pending(harness) == {"shard-01": ids[1:]}
    tick, _ = harness.tick_and_launch(advance=30)
    assert ids_of(tick.by_shard["shard-01"]) == ids[1:]


def test_changes_during_an_in_flight_run_fold_into_the_next_run(harness):
    ids = shard_ids(3, 4)
    harness.insert(ids[:2])
    harness.save(harness.tick())
    first, runs = harness.tick_and_launch(advance=30)
    assert ids_of(first.by_shard["shard-03"]) == ids[:2]
    harness.insert(ids[2:])
    harness.update(ids[:1], title="changed while queued")
    for _ in range(3):  # queued, then running, far past the quiet period and max wait
        tick = harness.save(harness.tick(advance=150))
        assert tick.requests == [] and "waiting for in-flight runs of ['shard-03']" in tick.skip
    harness.finish(runs)
    second, runs = harness.tick_and_launch(advance=5)
    assert ids_of(second.by_shard["shard-03"]) == sorted([ids[0], *ids[2:]])
    assert second.by_shard["shard-03"].run_key != first.by_shard["shard-03"].run_key


def test_a_crash_between_launching_and_saving_the_cursor_loses_and_repeats_nothing(harness):
    a, b = shard_ids(1, 2), shard_ids(2, 2)
    harness.insert(a + b[:1])
    harness.save(harness.tick())
    harness.insert(b[1:])  # shard-02 gets a later change: it is not quiet yet when shard-01 is
    saved = harness.save(harness.tick(advance=10)).cursor
    lost = harness.tick(advance=20)  # launches shard-01 ...
    assert sorted(lost.by_shard) == ["shard-01"]
    runs = harness.submit(lost)  # ... the daemon submits it and dies before saving the cursor
    harness.update(a[:1], title="changed after the lost tick")
    retry = harness.save(harness.tick(advance=5, cursor=saved))
    assert retry.requests == []  # shard-01's run is in flight; shard-02 is not quiet yet
    assert "recovered runs launched by an unsaved tick: ['shard-01']" in retry.skip
    assert pending(harness) == {"shard-01": a[:1], "shard-02": b}
    harness.finish(runs)
    later, relaunched = harness.tick_and_launch(advance=30)
    [request] = later.requests  # shard-01 and shard-02 are due together: one run over both
    assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) == (
        "shard-01", "shard-02")
    assert ids_of(request) == sorted(a[:1] + b)  # of shard-01, only the change the lost run could not see
    assert request.run_key not in {r.tags["dagster/run_key"] for r in runs}
    assert len(relaunched) == 1


def test_a_retried_evaluation_requests_the_same_run_keys(harness):
    harness.insert(shard_ids(0, 1) + shard_ids(1, 1))
    harness.save(harness.tick())
    once = harness.tick(advance=30)
    twice = harness.tick(advance=1)
    assert [r.run_key for r in once.requests] == [r.run_key for r in twice.requests]
    assert len(harness.submit(once)) == 1 and harness.submit(twice) == []  # the daemon skips used keys


def test_too_many_ids_in_a_shard_run_the_whole_shard(db_url, instance):
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_MAX_IDS_PER_RUN": "3"})
    h.insert(shard_ids(2, 4) + shard_ids(1, 1))
    h.save(h.tick())
    tick, _ = h.tick_and_launch(advance=30)
    assert tick.by_shard["shard-02"].run_config == {} and tick.by_shard["shard-02"].tags["debounce/items"] == "all"
    assert ids_of(tick.by_shard["shard-01"]) == shard_ids(1, 1)


def test_a_tick_reads_a_large_backlog_in_chunks(db_url, instance):
    h = Harness(db_url, instance)
    series = {  # 30,000 inserts in one statement
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) SELECT i FROM n",
        "postgresql": "SELECT generate_series(1, 30000) AS i",
    }[h.engine.dialect.name]
    h.sql(f"INSERT INTO product (id, title, updated_at) SELECT i, 't', CURRENT_TIMESTAMP FROM ({series}) AS s")
    tick = h.save(h.tick())
    assert "read 30000 changes" in tick.skip
    assert pending(h) == {f"shard-{i:02d}": None for i in range(SHARDS)}  # 7,500 ids each: whole shards
    launched, _ = h.tick_and_launch(advance=30)
    [request] = launched.requests  # every shard due at once: one run over the range, models loaded once
    assert request.run_config == {} and request.tags["dagster/asset_partition_range_end"] == f"shard-{SHARDS - 1:02d}"
    assert json.loads(request.tags["debounce/gens"]) == {f"shard-{i:02d}": 0 for i in range(SHARDS)}


def test_consumed_changes_are_pruned_after_the_cursor_is_saved(db_url, instance):
    h = Harness(db_url, instance, env={"PRODUCT_CHANGES_RETENTION_HOURS": "0"})
    h.insert(shard_ids(1, 3))
    h.save(h.tick(advance=1))
    count = "SELECT count(*) FROM product_change"
    with h.engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 3  # not before the cursor holding them is saved
    tick = h.save(h.tick(advance=1))
    assert "pruned 3 consumed change rows" in tick.skip
    with h.engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 0


def test_a_late_committing_transaction_is_not_skipped(pg_url, instance):
    """T1 writes a change (lower seq) and holds; T2 writes and commits; a tick reads T2's change;
    T1 commits; the next tick must see T1's change."""
    h = Harness(pg_url, instance)
    h.insert([1, 2])
    h.save(h.tick())
    engine = build_engine(pg_url)
    t1 = engine.connect()
    tx1 = t1.begin()
    t1.execute(text("UPDATE product SET title = 'late' WHERE id = 1"))  # takes the lower seq, holds
    h.update([2], title="early")  # T2 commits
    with engine.connect() as conn:
        seqs = dict(conn.execute(text("SELECT product_id, max(seq) FROM product_change GROUP BY product_id")).all())
    tick = h.save(h.tick(advance=1))
    assert "read 1 changes" in tick.skip  # T2's row; T1's (lower seq) is invisible
    position = DebounceState.from_json(h.cursor).position
    assert position["hwm"] == seqs[2] and position["inflight"]  # T1 is remembered as in flight
    tx1.commit()
    t1.close()
    with engine.connect() as conn:
        late_seq = conn.execute(text("SELECT max(seq) FROM product_change WHERE product_id = 1")).scalar()
    assert late_seq < seqs[2]  # T1's change does sit below the high-water mark
    tick = h.save(h.tick(advance=1))
    assert "read 1 changes (U=1)" in tick.skip
    launched, _ = h.tick_and_launch(advance=30)
    assert ids_of(launched.by_shard["shard-01"]) == [1, 2]  # neighbouring shards: one run over both
    engine.dispose()


def test_concurrent_writers_lose_no_change(pg_url, instance):
    """Four writers commit in random order while the sensor ticks: every product id arrives exactly
    in the union of the requested runs."""
    h = Harness(pg_url, instance, env={"PRODUCT_CHANGES_QUIET_SECONDS": "0"})
    h.insert(list(range(1, 201)))
    h.save(h.tick())
    h.tick_and_launch(advance=1)
    engine = build_engine(pg_url)

    def writer(offset: int) -> None:
        with engine.connect() as conn:
            for i in range(offset, 201, 4):
                with conn.begin():
                    conn.execute(text("UPDATE product SET title = 'w' || :i WHERE id = :i"), {"i": i})
                    conn.execute(text("SELECT pg_sleep(0.002 * (:i % 5))"), {"i": i})

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in range(1, 5)]
    seen: set[int] = set()
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        tick, runs = h.tick_and_launch(advance=1)
        h.finish(runs)
        for request in tick.requests:
            seen.update(ids_of(request))
    for _ in range(3):
        tick, runs = h.tick_and_launch(advance=1)
        h.finish(runs)
        for request in tick.requests:
            seen.update(ids_of(request))
    assert seen == set(range(1, 201))
    engine.dispose()


def test_the_changes_job_is_the_asset_alone_in_the_runs_process(harness):
    job = harness.defs.resolve_job_def("product_changes_job")
    assert [node.name for node in job.nodes] == ["product_vectors"]  # no coverage check: it scans whole shards
    assert job.executor_def.name == "in_process"


def test_neighbouring_due_shards_share_a_run_and_stay_busy_together(harness):
    harness.insert(shard_ids(0, 1) + shard_ids(1, 2) + shard_ids(3, 1))
    harness.save(harness.tick())
    tick, runs = harness.tick_and_launch(advance=30)
    assert sorted(r.run_key.split(":")[0] for r in tick.requests) == ["shard-00...shard-01", "shard-03"]
    assert ids_of(tick.by_shard["shard-00"]) == sorted(shard_ids(0, 1) + shard_ids(1, 2))
    harness.update(shard_ids(1, 1), title="while the range run is queued")
    waiting = harness.save(harness.tick(advance=60))
    assert waiting.requests == [] and "waiting for in-flight runs of ['shard-01']" in waiting.skip
    harness.finish(runs)
    again, _ = harness.tick_and_launch(advance=30)
    assert [r.partition_key for r in again.requests] == ["shard-01"] and again.requests[0].run_key.endswith(":1")
