"""Scraping sessions and AI logs: exact rows deleted and kept at the retention boundary, in batches."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, insert, select

from appdb.tables import ai_processing_log, scraped_product_log, scraping_session
from assets.maintenance.ai_logs import cleanup_ai_logs
from assets.maintenance.scraper_sessions import cleanup_scraper_sessions

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
CUTOFF = NOW - timedelta(days=30)


def add_session(conn, started_at, status="finished", logs=0) -> int:
    sid = conn.execute(
        insert(scraping_session).values(scraper="shop", started_at=started_at, status=status)
    ).inserted_primary_key[0]
    if logs:
        conn.execute(
            insert(scraped_product_log),
            [{"session_id": sid, "created_at": started_at, "message": f"row {i}"} for i in range(logs)],
        )
    return sid


def ids(conn, table):
    return set(conn.execute(select(table.c.id)).scalars())


def log_sessions(conn):
    return sorted(conn.execute(select(scraped_product_log.c.session_id)).scalars())


class DeleteCounter:
    """Records the rows each DELETE statement removed (an observer on the real engine)."""

    def __init__(self, engine):
        self.rowcounts: list[int] = []
        event.listen(engine, "after_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE"):
            self.rowcounts.append(cursor.rowcount)


def test_sessions_boundary_running_and_logs(engine):
    with engine.begin() as conn:
        old = add_session(conn, CUTOFF - timedelta(days=1), logs=3)
        just_older = add_session(conn, CUTOFF - timedelta(seconds=1), status="failed", logs=1)
        at_cutoff = add_session(conn, CUTOFF, logs=2)
        running = add_session(conn, CUTOFF - timedelta(days=60), status="running", logs=2)
        recent = add_session(conn, NOW - timedelta(days=1), logs=1)

    report = cleanup_scraper_sessions(engine, 30, stale_hours=24 * 365, now=NOW)  # running, not stale: kept

    with engine.connect() as conn:
        assert ids(conn, scraping_session) == {at_cutoff, running, recent}
        assert log_sessions(conn) == sorted([at_cutoff] * 2 + [running] * 2 + [recent])
    assert (report.sessions_scanned, report.sessions_deleted, report.logs_deleted) == (5, 2, 4)
    assert report.kept == {"running": 1, "within_retention": 2}
    assert report.deleted_examples == [old, just_older]
    assert report.cutoff == CUTOFF


def test_sessions_logs_go_first_in_bounded_batches(engine):
    with engine.begin() as conn:
        for logs in (25, 0, 3, 2):
            add_session(conn, CUTOFF - timedelta(days=2), logs=logs)
        keep = add_session(conn, NOW, logs=4)
    deletes = DeleteCounter(engine)

    report = cleanup_scraper_sessions(engine, 30, batch_rows=10, now=NOW)

    # Logs: 10 + 10 + 10 rows (ids are looked up first: no empty DELETE), then one DELETE of the 4
    # sessions (which cascade nothing).
    assert deletes.rowcounts == [10, 10, 10, 4]
    assert max(deletes.rowcounts) <= 10
    assert (report.sessions_deleted, report.logs_deleted, report.statements) == (4, 30, 4)
    with engine.connect() as conn:
        assert ids(conn, scraping_session) == {keep}
        assert log_sessions(conn) == [keep] * 4


def test_sessions_more_sessions_than_a_batch(engine):
    with engine.begin() as conn:
        for _ in range(7):
            add_session(conn, CUTOFF - timedelta(days=3), logs=1)
    report = cleanup_scraper_sessions(engine, 30, batch_rows=3, now=NOW)
    assert (report.sessions_deleted, report.logs_deleted) == (7, 7)
    with engine.connect() as conn:
        assert ids(conn, scraping_session) == set()


def test_sessions_dry_run_deletes_nothing(engine):
    with engine.begin() as conn:
        add_session(conn, CUTOFF - timedelta(days=1), logs=3)
        add_session(conn, CUTOFF - timedelta(days=1), status="running", logs=3)
    report = cleanup_scraper_sessions(engine, 30, stale_hours=24 * 365, dry_run=True, now=NOW)
    assert (report.sessions_deleted, report.logs_deleted, report.statements) == (1, 3, 0)
    with engine.connect() as conn:
        assert len(ids(conn, scraping_session)) == 2
        assert len(log_sessions(conn)) == 6


def test_sessions_rejects_negative_retention(engine):
    with pytest.raises(ValueError, match="retention_days must be >= 0, got -1"):
        cleanup_scraper_sessions(engine, -1)


def add_log(conn, status, created_at) -> int:
    return conn.execute(
        insert(ai_processing_log).values(task="describe", status=status, created_at=created_at)
    ).inserted_primary_key[0]


def test_ai_logs_only_final_statuses_older_than_retention(engine):
    statuses = ("pending", "running", "completed", "approved", "failed")
    with engine.begin() as conn:
        older = {s: add_log(conn, s, CUTOFF - timedelta(seconds=1)) for s in statuses}
        at_cutoff = {s: add_log(conn, s, CUTOFF) for s in statuses}
        recent = {s: add_log(conn, s, NOW - timedelta(days=2)) for s in statuses}

    report = cleanup_ai_logs(engine, 30, now=NOW)

    with engine.connect() as conn:
        left = ids(conn, ai_processing_log)
    assert left == set(at_cutoff.values()) | set(recent.values()) | {older[s] for s in ("pending", "running", "failed")}
    assert report.deleted == 2
    assert report.deleted_by_status == {"completed": 1, "approved": 1}
    assert report.kept == {"within_retention": 10, "status_failed": 1, "status_pending": 1, "status_running": 1}
    assert report.scanned == 15


def test_ai_logs_custom_retention_and_batches(engine):
    with engine.begin() as conn:
        for _ in range(25):
            add_log(conn, "completed", NOW - timedelta(days=8))
        keep = add_log(conn, "approved", NOW - timedelta(days=6))
    deletes = DeleteCounter(engine)

    report = cleanup_ai_logs(engine, 7, batch_rows=10, now=NOW)

    assert deletes.rowcounts == [10, 10, 5]
    assert (report.deleted, report.statements) == (25, 3)
    with engine.connect() as conn:
        assert ids(conn, ai_processing_log) == {keep}


def test_ai_logs_dry_run_deletes_nothing(engine):
    with engine.begin() as conn:
        for status in ("completed", "approved", "failed"):
            add_log(conn, status, NOW - timedelta(days=40))
    report = cleanup_ai_logs(engine, 30, dry_run=True, now=NOW)
    assert (report.deleted, report.statements) == (2, 0)
    with engine.connect() as conn:
        assert len(ids(conn, ai_processing_log)) == 3


def test_stale_running_sessions_are_reported_and_deleted_with_the_others(engine):
    with engine.begin() as conn:
        stale_old = add_session(conn, NOW - timedelta(days=40), status="running", logs=2)
        stale_recent = add_session(conn, NOW - timedelta(hours=49), status="running")  # within retention: stays
        live = add_session(conn, NOW - timedelta(hours=47), status="running")
        finished = add_session(conn, NOW - timedelta(days=40))

    report = cleanup_scraper_sessions(engine, 30, stale_hours=48, now=NOW)
    with engine.connect() as conn:
        assert ids(conn, scraping_session) == {stale_recent, live}
        assert log_sessions(conn) == []
    assert (report.sessions_deleted, report.logs_deleted) == (2, 2)
    assert (report.stale_running, report.stale_examples) == (2, [stale_old, stale_recent])
    assert report.kept == {"running": 0, "within_retention": 2}
    assert report.deleted_examples == [stale_old, finished]


def test_a_refused_batch_is_counted_and_the_rest_goes_on(engine):
    from tests.maintenance.helpers import refuse_deletes

    with engine.begin() as conn:
        logs = [
            conn.execute(insert(ai_processing_log).values(task="t", status="completed", created_at=CUTOFF - timedelta(days=1))).inserted_primary_key[0]
            for _ in range(5)
        ]
    refuse_deletes(engine, "ai_processing_log", logs[2])
    report = cleanup_ai_logs(engine, 30, batch_rows=2, now=NOW)
    with engine.connect() as conn:
        assert ids(conn, ai_processing_log) == {logs[2], logs[3]}  # the refused batch of two stays whole
    assert report.deleted == 3 and report.errors.count == 1
    assert report.errors.examples[0].startswith(f"ai_processing_log ids {logs[2]}..{logs[3]}: ")
    assert "refused by test" in report.errors.examples[0]
