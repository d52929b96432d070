"""The post_change capture trigger under a bulk update (PostgreSQL), as the product one is tested in
tests/commerce/test_repricing.py: a first small statement on a connection must not make a later bulk
UPDATE plan a nested loop over its transition tables."""

import time

from sqlalchemy import event, func, select, text

from appdb.engine import build_engine
from appdb.posts_tables import post_change


def changes(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(post_change).where(post_change.c.op == "U")).scalar_one()


def test_bulk_post_update_after_small_ones_on_one_connection_stays_fast(pg_url):
    engine = build_engine(pg_url, pool_size=1, max_overflow=0)  # every statement on the same connection
    event.listen(engine, "connect", lambda dbapi, _: dbapi.cursor().execute("SET statement_timeout = '30s'"))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO post (id, channel, text, posted_at) "
                "SELECT i, 'news', 'post ' || i, now() - interval '1 hour' FROM generate_series(1, 20000) AS i"
            )
        )
    # The statements that freeze a one-row estimate into the trigger's cached plans: a no-op, a single edit.
    with engine.begin() as conn:
        conn.execute(text("UPDATE post SET text = text WHERE id = 1"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE post SET text = 'edited' WHERE id = 2"))
    assert changes(engine) == 1

    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("UPDATE post SET text = text || ' (edited)'"))
    elapsed = time.perf_counter() - started
    assert changes(engine) == 1 + 20_000
    assert elapsed < 20, elapsed
    engine.dispose()
