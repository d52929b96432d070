"""Late commits that PostgreSQL's snapshot does not list as in progress (CI's lost change, stop 18).

`pg_current_snapshot()` lists the running transactions below its xmax only, and xmax is the newest
finished transaction id + 1. T takes its id after U, writes the lower seq and holds; U commits a
higher seq. A read now sees U's row and does not find T in the in-progress list at all; when T
commits, its change sits below the high-water mark and must still be read, once.
"""

import time

from sqlalchemy import text

from appdb.engine import build_engine
from sensors.change_log import Position
from sensors.product_changes import ProductChangeSource

ATTEMPTS = 10


def _xid(conn) -> int:
    return int(conn.exec_driver_sql("SELECT pg_current_xact_id()::text").scalar_one())


def _unlisted_late_commit(engine, source, position):
    """Set up the case: returns (read position, T's connection, T's transaction, T's id). Another
    transaction finishing in between (another database on the server) puts T in the list; try again."""
    for attempt in range(ATTEMPTS):
        early = engine.connect()
        early_tx = early.begin()
        _xid(early)  # U takes its transaction id first
        late = engine.connect()
        late_tx = late.begin()
        late.execute(text("UPDATE product SET title = :t WHERE id = 1"), {"t": f"late {attempt}"})
        late_id = _xid(late)
        early.execute(text("UPDATE product SET title = :t WHERE id = 2"), {"t": f"early {attempt}"})
        early_tx.commit()
        early.close()
        batch = source.read(position, 100)
        assert [c.item for c in batch.changes] == [2]  # U's row; T's (lower seq) is invisible
        if late_id not in batch.position["inflight"]:
            return batch.position, late, late_tx, late_id
        late_tx.rollback()
        late.close()
        position = batch.position
    raise AssertionError(f"T was listed in progress in {ATTEMPTS} attempts: the server is too busy for this test")


def test_a_transaction_missing_from_the_snapshot_list_is_read_when_it_commits(pg_url):
    engine = build_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO product (id, title, updated_at) VALUES (1, 'a', now()), (2, 'b', now())"))
    source = ProductChangeSource(engine, shards=4, retention_s=3600)
    start = source.read(None, 100).position
    position, late, late_tx, late_id = _unlisted_late_commit(engine, source, start)
    assert Position.from_json(position).unseen(late_id)  # at or above the snapshot's xmax
    late_tx.commit()
    late.close()
    with engine.connect() as conn:
        late_seq = conn.execute(text("SELECT seq FROM product_change WHERE txid = :t"), {"t": late_id}).scalar_one()
    assert late_seq < position["hwm"]  # T's change does sit below the high-water mark

    # Pruning everything consumed (retention 0) keeps T's row: the position has not read it.
    pruner = ProductChangeSource(engine, shards=4, retention_s=0, now=lambda: time.time() + 60)
    assert pruner.acknowledge(position) >= 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM product_change WHERE txid = :t"), {"t": late_id}).scalar() == 1

    after = source.read(position, 100)
    assert [(c.item, c.mark) for c in after.changes] == [(1, (late_seq, late_id))]
    assert not source.within(position, after.changes[0])  # not delivered before: a recovered run keeps it
    assert source.within(after.position, after.changes[0])
    assert source.read(after.position, 100).changes == []  # read once
    engine.dispose()
