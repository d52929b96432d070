"""Deleting finished AI processing logs past the retention (seed 000's ai-cleanup-old-logs).

Only rows in a final state (`completed`, `approved`) created before the cutoff
(`created_at < now - retention`) are deleted; a row exactly at the cutoff is kept, and `pending`,
`running` and `failed` rows are never touched, however old. Deletion runs in statements of at most
`batch_rows` rows, each committed on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, and_, func, select

from appdb.tables import ai_processing_log
from assets.maintenance.retention import BatchErrors, delete_in_batches, retention_cutoff

FINAL_STATUSES = ("completed", "approved")


@dataclass
class AiLogCleanupReport:
    cutoff: datetime
    dry_run: bool
    scanned: int = 0
    deleted: int = 0  # would be deleted, on a dry run
    deleted_by_status: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    statements: int = 0
    errors: BatchErrors = field(default_factory=BatchErrors)
    duration_s: float = 0.0


def cleanup_ai_logs(
    engine: Engine,
    retention_days: int,
    *,
    batch_rows: int = 1000,
    dry_run: bool = False,
    now: datetime | None = None,
) -> AiLogCleanupReport:
    started = time.perf_counter()
    cutoff = retention_cutoff(retention_days, batch_rows, now)
    report = AiLogCleanupReport(cutoff=cutoff, dry_run=dry_run)
    log = ai_processing_log.c
    old = log.created_at < cutoff
    deletable = and_(old, log.status.in_(FINAL_STATUSES))
    with engine.connect() as conn:
        report.scanned = conn.execute(select(func.count()).select_from(ai_processing_log)).scalar_one()
        by_status = dict(conn.execute(select(log.status, func.count()).where(old).group_by(log.status)).all())
        within = conn.execute(select(func.count()).select_from(ai_processing_log).where(~old)).scalar_one()
    report.deleted_by_status = {s: by_status[s] for s in FINAL_STATUSES if by_status.get(s)}
    report.kept = {"within_retention": within}
    report.kept.update({f"status_{s}": n for s, n in sorted(by_status.items()) if s not in FINAL_STATUSES})
    if dry_run:
        report.deleted = sum(report.deleted_by_status.values())
    else:
        report.deleted, report.statements = delete_in_batches(
            engine, ai_processing_log, deletable, batch_rows, report.errors
        )
    report.duration_s = time.perf_counter() - started
    return report
