"""Statistics recomputed from the log (exact under concurrent writers and re-runs), tiers with their
history, hourly usage statistics keyed per user and hour."""

import threading

import pytest
from sqlalchemy import insert, select, text, update

from appdb.engine import build_engine
from assets.rag.users.delivery import deliver_due
from assets.rag.users.notifications import enqueue_usage_statistics, usage_key
from assets.rag.users.stats import assign_tiers, parse_tiers, refresh_stats
from assets.rag.users.tables import notification_outbox, rag_query_log, rag_stats_pending, rag_user
from tests.rag_users.helpers import FAST, client, log_rows, outbox, stats_recomputed, stats_table, utc, write_logs

TIERS = parse_tiers("free:0,active:3,power:6")


def test_stats_equal_the_log_and_a_rerun_changes_nothing(engine):
    write_logs(engine, log_rows(10, users=3))
    first = refresh_stats(engine)
    assert (first.queue_rows, first.users_recomputed, first.users_changed) == (10, 3, 3)
    assert stats_table(engine) == stats_recomputed(engine) and stats_table(engine)["user-0"][0] == 4
    assert refresh_stats(engine).queue_rows == 0
    # A re-run over the same users (queue rows re-added by hand) finds nothing to change.
    with engine.begin() as conn:
        conn.execute(insert(rag_stats_pending), [{"log_id": 1, "user_id": "user-0"}])
    again = refresh_stats(engine)
    assert (again.users_recomputed, again.users_changed) == (1, 0)
    write_logs(engine, log_rows(2, users=3, start=10))  # user-1, user-2
    assert set(refresh_stats(engine).changed_users) == {"user-1", "user-2"}
    assert stats_table(engine) == stats_recomputed(engine)


def test_late_commit_keeps_its_queue_row_for_the_next_run(pg_url):
    engine = build_engine(pg_url)
    write_logs(engine, log_rows(2, users=1))
    late = engine.connect()
    tx = late.begin()
    late.execute(insert(rag_query_log).values(**log_rows(1, users=1, start=50)[0]))  # not committed yet
    report = refresh_stats(engine)
    assert report.queue_rows == 2 and stats_table(engine)["user-0"][0] == 2
    tx.commit()
    late.close()
    assert refresh_stats(engine).queue_rows == 1
    assert stats_table(engine) == stats_recomputed(engine) and stats_table(engine)["user-0"][0] == 3


def test_concurrent_writers_and_delivery_on_postgresql(pg_url, users_server):
    """Two connections insert log rows while delivery and statistics runs go on: afterwards the
    server has every query exactly once and the statistics equal the log."""
    engine = build_engine(pg_url)
    errors = []

    def writer(offset: int) -> None:
        try:
            own = build_engine(pg_url)
            for batch in range(20):
                with own.begin() as conn:
                    conn.execute(insert(rag_query_log), log_rows(10, users=4, start=offset + batch * 10))
            own.dispose()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in (0, 10_000)]
    for thread in threads:
        thread.start()
    users = client(users_server.url)
    while any(t.is_alive() for t in threads):
        deliver_due(engine, users, "run-live", FAST)
        refresh_stats(engine)
    for thread in threads:
        thread.join()
    assert not errors
    deliver_due(engine, users, "run-last", FAST)
    refresh_stats(engine)
    with engine.connect() as conn:
        ids = conn.execute(select(rag_query_log.c.id)).scalars().all()
    assert len(ids) == 400
    assert set(users_server.records) == {f"query_result:{i}" for i in ids}
    assert sum(users_server.answers.values()) == 400  # no repeats at all without faults
    assert stats_table(engine) == stats_recomputed(engine)


def test_parse_tiers_names_the_variable():
    assert parse_tiers("power:1000, free:0,active:100") == [("free", 0), ("active", 100), ("power", 1000)]
    for bad in ("free:0,active", "active:100", "free:0,x:y", "free:0,other:0"):
        with pytest.raises(ValueError, match="RAG_TIERS"):
            parse_tiers(bad)


def test_tiers_follow_the_thresholds_and_report_changes(engine):
    with engine.begin() as conn:
        conn.execute(insert(rag_user), [{"id": f"user-{i}"} for i in range(4)])
    write_logs(engine, log_rows(14, users=3))  # user-0: 5, user-1: 5, user-2: 4, user-3: none
    refresh_stats(engine)
    report = assign_tiers(engine, TIERS)
    assert sorted(report.changes) == [("user-0", "free", "active", 5), ("user-1", "free", "active", 5),
                                       ("user-2", "free", "active", 4)]
    assert report.per_tier == {"active": 3, "free": 1} and report.users_without_stats == 1
    assert assign_tiers(engine, TIERS).changes == []
    write_logs(engine, log_rows(1, users=1, start=100))  # user-0 reaches 6
    refresh_stats(engine)
    assert assign_tiers(engine, TIERS).changes == [("user-0", "active", "power", 6)]


def test_usage_statistics_one_row_per_user_and_hour_never_resent(engine, users_server):
    hour = utc(2026, 11, 30, 10)
    write_logs(engine, log_rows(5, users=2, created_at=utc(2026, 11, 30, 10, 30)))
    write_logs(engine, log_rows(3, users=2, start=5, created_at=utc(2026, 11, 30, 11, 0)))  # next hour
    report = enqueue_usage_statistics(engine, hour, utc(2026, 11, 30, 11))
    assert (report.users, report.queries, report.enqueued) == (2, 5, 2)
    row = outbox(engine)[usage_key("user-0", hour)]
    assert row["payload"] == {"user_id": "user-0", "hour": "2026-11-30T10:00:00Z", "queries": 3, "tokens": 10 + 12 + 14,
                              "avg_processing_ms": round((100 + 106 + 112) / 3)}
    # A late log row of the hour before delivery: the pending row takes the new numbers.
    write_logs(engine, log_rows(1, users=1, start=20, created_at=utc(2026, 11, 30, 10, 59)))
    again = enqueue_usage_statistics(engine, hour, utc(2026, 11, 30, 11))
    assert (again.enqueued, again.refreshed) == (0, 1)
    with engine.begin() as conn:  # query results are not what this test sends
        conn.execute(update(notification_outbox).where(notification_outbox.c.kind == "query_result").values(status="sent"))
    deliver_due(engine, client(users_server.url), "run-1", FAST)
    assert users_server.records[usage_key("user-0", hour)][1]["queries"] == 4
    # A backfill of the hour re-sends nothing already delivered.
    backfill = enqueue_usage_statistics(engine, hour, utc(2026, 11, 30, 11))
    assert (backfill.enqueued, backfill.already_sent) == (0, 2)
    assert deliver_due(engine, client(users_server.url), "run-2", FAST).claimed == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notification_outbox WHERE kind = 'usage_statistics'")).scalar() == 2


def test_a_query_stamped_by_the_server_exactly_on_the_hour_counts_in_that_hour(engine):
    """SQLite's CURRENT_TIMESTAMP writes "2026-11-30 11:00:00" (no fraction); the hour's bound must
    compare equal to it, not after it (it used to land in 10:00-11:00)."""
    write_logs(engine, log_rows(2, users=1))
    with engine.begin() as conn:  # what the server default writes, on each database
        stamp = "'2026-11-30 11:00:00'" if engine.dialect.name == "sqlite" else "TIMESTAMPTZ '2026-11-30 11:00:00+00'"
        conn.execute(text(f"UPDATE rag_query_log SET created_at = {stamp} WHERE message_id = 'msg-1'"))
        conn.execute(text(f"UPDATE rag_query_log SET created_at = {stamp.replace('11:00:00', '10:59:59')} WHERE message_id = 'msg-0'"))
    before = enqueue_usage_statistics(engine, utc(2026, 11, 30, 10), utc(2026, 11, 30, 11))
    on_the_hour = enqueue_usage_statistics(engine, utc(2026, 11, 30, 11), utc(2026, 11, 30, 12))
    assert (before.queries, on_the_hour.queries) == (1, 1)
    # A whole second written by the platform has the server's form.
    written = write_logs(engine, log_rows(1, users=1, start=9, created_at=utc(2026, 11, 30, 11)))
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT CAST(created_at AS TEXT) FROM rag_query_log WHERE id = :i"), {"i": written[0]}).scalar()
    assert raw.startswith("2026-11-30 11:00:00") and (engine.dialect.name != "sqlite" or raw == "2026-11-30 11:00:00")
