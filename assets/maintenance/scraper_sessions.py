"""Deleting old scraping sessions together with their product logs (seed 000's cleanup-scraper-sessions).

A session is deleted when it started before the cutoff (`started_at < now - retention`) and is not
`running`; a session exactly at the cutoff is kept. A session still `running` more than `stale_hours`
after it started is stale (its worker died without closing it): it is reported, and deleted like the
others once past the retention. Its logs go first, in DELETE statements of at most
`batch_rows` rows each committed on its own, so no statement holds long locks on the log table and the
ON DELETE CASCADE of the session has nothing left to do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, and_, delete, func, or_, select

from appdb.tables import scraped_product_log, scraping_session
from assets.maintenance.retention import BATCH_ERRORS, BatchErrors, delete_in_batches, retention_cutoff

RUNNING = "running"
EXAMPLES = 10


@dataclass
class SessionCleanupReport:
    cutoff: datetime
    dry_run: bool
    sessions_scanned: int = 0
    sessions_deleted: int = 0  # would be deleted, on a dry run
    logs_deleted: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    deleted_examples: list[int] = field(default_factory=list)
    stale_running: int = 0  # running longer than stale_hours, deleted or not yet past the retention
    stale_examples: list[int] = field(default_factory=list)
    statements: int = 0
    errors: BatchErrors = field(default_factory=BatchErrors)
    duration_s: float = 0.0


def _old_enough(cutoff: datetime):
    return scraping_session.c.started_at < cutoff


def _stale(stale_cutoff: datetime):
    return and_(scraping_session.c.status == RUNNING, scraping_session.c.started_at < stale_cutoff)


def _deletable(cutoff: datetime, stale_cutoff: datetime):
    return and_(_old_enough(cutoff), or_(scraping_session.c.status != RUNNING, _stale(stale_cutoff)))


def cleanup_scraper_sessions(
    engine: Engine,
    retention_days: int,
    *,
    stale_hours: float = 48,
    batch_rows: int = 1000,
    dry_run: bool = False,
    now: datetime | None = None,
) -> SessionCleanupReport:
    started = time.perf_counter()
    now = now or datetime.now(timezone.utc)
    cutoff = retention_cutoff(retention_days, batch_rows, now)
    if stale_hours < 0:
        raise ValueError(f"stale_hours must be >= 0, got {stale_hours}")
    stale_cutoff = now - timedelta(hours=stale_hours)
    report = SessionCleanupReport(cutoff=cutoff, dry_run=dry_run)
    deletable = _deletable(cutoff, stale_cutoff)
    deletable_ids = select(scraping_session.c.id).where(deletable)
    with engine.connect() as conn:

        def count(table, *where) -> int:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

        report.sessions_scanned = count(scraping_session)
        report.kept = {
            "running": count(
                scraping_session, _old_enough(cutoff), scraping_session.c.status == RUNNING, ~_stale(stale_cutoff)
            ),
            "within_retention": count(scraping_session, ~_old_enough(cutoff)),
        }
        report.stale_running = count(scraping_session, _stale(stale_cutoff))
        report.stale_examples = list(
            conn.execute(
                select(scraping_session.c.id).where(_stale(stale_cutoff)).order_by(scraping_session.c.id).limit(EXAMPLES)
            ).scalars()
        )
        report.deleted_examples = list(conn.execute(deletable_ids.order_by(scraping_session.c.id).limit(EXAMPLES)).scalars())
        if dry_run:
            report.sessions_deleted = count(scraping_session, deletable)
            report.logs_deleted = count(scraped_product_log, scraped_product_log.c.session_id.in_(deletable_ids))
            report.duration_s = time.perf_counter() - started
            return report

    last_id = None
    while True:
        # Sessions are taken in id order, past the last chunk, so one whose status changed under us
        # (kept by the re-checked condition below) is never picked again in this run.
        with engine.connect() as conn:
            query = deletable_ids.order_by(scraping_session.c.id).limit(batch_rows)
            if last_id is not None:
                query = query.where(scraping_session.c.id > last_id)
            ids = list(conn.execute(query).scalars())
        if not ids:
            break
        last_id = ids[-1]
        still_deletable = select(scraping_session.c.id).where(scraping_session.c.id.in_(ids), deletable)
        logs, statements = delete_in_batches(
            engine, scraped_product_log, scraped_product_log.c.session_id.in_(still_deletable), batch_rows, report.errors
        )
        report.logs_deleted += logs
        report.statements += statements
        try:
            with engine.begin() as conn:
                # The condition again: a session that was set back to running meanwhile stays.
                removed = conn.execute(delete(scraping_session).where(scraping_session.c.id.in_(ids), deletable)).rowcount
        except BATCH_ERRORS as exc:  # counted; the next chunk goes on (the ids stay for the next run)
            report.errors.add(f"scraping_session ids {ids[0]}..{ids[-1]}", exc)
            removed = 0
        report.statements += 1
        report.sessions_deleted += removed
    report.duration_s = time.perf_counter() - started
    return report
