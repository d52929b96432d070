"""`cleanup_old_content_job`: daily removal of past daily-content keys and old topic rows (assets/content/cleanup.py)."""

from datetime import datetime, timezone

import dagster as dg
from pydantic import Field

from assets.content.cleanup import CleanupReport, clean_cache, clean_rows
from assets.content.config import ContentSettings
from resources.cache import CacheResource
from resources.database import DatabaseResource

CLEANUP_JOB = "cleanup_old_content_job"


class CleanupConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Count what would be deleted; delete nothing.")


@dg.op(
    description="SCAN article:*, quote:*, daily_content:* and UNLINK keys dated before today; delete message topics, "
    "popular windows, daily choices older than CONTENT_RETENTION_DAYS, recommendations older than 2 days, expired owed cache writes."
)
def cleanup_old_content(
    context: dg.OpExecutionContext, config: CleanupConfig, content_database: DatabaseResource,
    content: ContentSettings, cache: CacheResource,
) -> None:
    now = datetime.now(timezone.utc)
    report = CleanupReport(dry_run=config.dry_run)
    clean_cache(cache, now.date(), config.dry_run, report)
    clean_rows(content_database.engine, now, content.retention_days, config.dry_run, report)
    verb = "would delete" if config.dry_run else "deleted"
    context.log.info(f"{verb}: keys {report.keys} ({report.keys_status}); rows {report.rows}")
    context.log_event(
        dg.AssetObservation(
            asset_key="message_topics",
            metadata={
                "cleanup_dry_run": config.dry_run,
                "keys_deleted": dg.MetadataValue.json(report.keys),
                "keys_status": report.keys_status,
                "rows_deleted": dg.MetadataValue.json(report.rows),
                "retention_days": content.retention_days,
            },
        )
    )


@dg.job(
    name=CLEANUP_JOB,
    description="Daily cleanup of the wellbeing chat's cache and old topic rows (dry_run in the op config). "
    "Replaces seed 003's cleanup_old_content task.",
)
def cleanup_old_content_job():
    cleanup_old_content()
