"""Jobs that delete old log rows: scraping sessions with their product logs, finished AI logs."""

from typing import Optional

import dagster as dg
from pydantic import Field

from assets.maintenance.ai_logs import cleanup_ai_logs
from assets.maintenance.reporting import removed_key, report_or_fail
from assets.metadata import md_list
from assets.maintenance.scraper_sessions import cleanup_scraper_sessions
from resources.database import DatabaseResource
from resources.maintenance import MaintenanceSettings


class ScraperSessionsCleanupConfig(dg.Config):
    retention_days: Optional[int] = Field(
        default=None,
        description="Delete sessions that started more than this many days ago (started_at < now - days); "
        "empty = SCRAPER_SESSIONS_RETENTION_DAYS (30).",
    )
    stale_hours: Optional[float] = Field(
        default=None,
        description="A session still running this many hours after it started is stale (reported; deleted once past "
        "the retention); empty = SCRAPER_SESSION_STALE_HOURS (48).",
    )
    batch_rows: Optional[int] = Field(default=None, description="Rows per DELETE statement; empty = MAINTENANCE_DELETE_BATCH.")
    dry_run: bool = Field(default=False, description="Only count what would be deleted.")


class AiLogsCleanupConfig(dg.Config):
    retention_days: Optional[int] = Field(
        default=None,
        description="Delete completed/approved logs created more than this many days ago (created_at < now - days); "
        "empty = AI_LOGS_RETENTION_DAYS (30).",
    )
    batch_rows: Optional[int] = Field(default=None, description="Rows per DELETE statement; empty = MAINTENANCE_DELETE_BATCH.")
    dry_run: bool = Field(default=False, description="Only count what would be deleted.")


def _pick(override, default):
    return default if override is None else override


@dg.op(
    description="Delete scraping sessions past the retention with their product logs (logs first, bounded "
    "batches); running sessions are deleted only once stale (running longer than the stale hours).",
    out=dg.Out(dg.Nothing),
)
def cleanup_scraper_sessions_op(
    context: dg.OpExecutionContext,
    config: ScraperSessionsCleanupConfig,
    database: DatabaseResource,
    maintenance: MaintenanceSettings,
) -> None:
    days = _pick(config.retention_days, maintenance.scraper_sessions_retention_days)
    stale_hours = _pick(config.stale_hours, maintenance.scraper_session_stale_hours)
    report = cleanup_scraper_sessions(
        database.engine,
        days,
        stale_hours=stale_hours,
        batch_rows=_pick(config.batch_rows, maintenance.delete_batch_rows),
        dry_run=config.dry_run,
    )
    context.log.info(
        f"{'dry run: ' if config.dry_run else ''}{report.sessions_deleted} sessions and {report.logs_deleted} logs "
        f"started before {report.cutoff.isoformat()} {'would go' if config.dry_run else 'deleted'}; kept {report.kept}"
    )
    if report.stale_running:
        context.log.warning(
            f"{report.stale_running} sessions still running more than {stale_hours:g} h after they started "
            f"(stale): {report.stale_examples}"
        )
    report_or_fail(
        context,
        {
            "dry_run": config.dry_run,
            "retention_days": days,
            "cutoff": report.cutoff.isoformat(),
            "scanned": report.sessions_scanned,
            removed_key(config.dry_run): report.sessions_deleted,
            removed_key(config.dry_run, "deleted") + "_logs": report.logs_deleted,
            **{f"kept_{reason}": n for reason, n in report.kept.items()},
            "stale_hours": stale_hours,
            "stale_running": report.stale_running,
            "stale_examples": md_list(map(str, report.stale_examples), report.stale_running),
            "statements": report.statements,
            "session_examples": md_list(map(str, report.deleted_examples), report.sessions_deleted),
            "duration_seconds": round(report.duration_s, 3),
        },
        report.errors,
        "DELETE",
    )


@dg.op(
    description="Delete completed/approved AI processing logs past the retention; pending, running and failed "
    "rows are never touched.",
    out=dg.Out(dg.Nothing),
)
def cleanup_ai_logs_op(
    context: dg.OpExecutionContext, config: AiLogsCleanupConfig, database: DatabaseResource, maintenance: MaintenanceSettings
) -> None:
    days = _pick(config.retention_days, maintenance.ai_logs_retention_days)
    report = cleanup_ai_logs(
        database.engine, days, batch_rows=_pick(config.batch_rows, maintenance.delete_batch_rows), dry_run=config.dry_run
    )
    context.log.info(
        f"{'dry run: ' if config.dry_run else ''}{report.deleted} AI logs created before {report.cutoff.isoformat()} "
        f"{'would go' if config.dry_run else 'deleted'} ({report.deleted_by_status}); kept {report.kept}"
    )
    report_or_fail(
        context,
        {
            "dry_run": config.dry_run,
            "retention_days": days,
            "cutoff": report.cutoff.isoformat(),
            "scanned": report.scanned,
            removed_key(config.dry_run): report.deleted,
            **{f"{removed_key(config.dry_run)}_{status}": n for status, n in report.deleted_by_status.items()},
            **{f"kept_{reason}": n for reason, n in report.kept.items()},
            "statements": report.statements,
            "duration_seconds": round(report.duration_s, 3),
        },
        report.errors,
        "DELETE",
    )


@dg.job(
    name="cleanup_scraper_sessions_job",
    description="Weekly: delete scraping sessions (and their product logs) older than the retention; replaces "
    "seed 000's cleanup-scraper-sessions.",
    tags={"dagster/max_runtime": 2 * 60 * 60},
)
def cleanup_scraper_sessions_job():
    cleanup_scraper_sessions_op()


@dg.job(
    name="cleanup_ai_logs_job",
    description="Weekly: delete completed/approved AI processing logs older than the retention; replaces seed "
    "000's ai-cleanup-old-logs (launch with another retention_days for a manual cleanup).",
    tags={"dagster/max_runtime": 60 * 60},
)
def cleanup_ai_logs_job():
    cleanup_ai_logs_op()
