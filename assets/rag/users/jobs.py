"""Jobs of the users side: delivery and statistics (asset jobs), system notifications, replay, the daily
limit reset and the cleanups (op jobs; every destructive one has `dry_run`)."""

from datetime import date, timedelta
from typing import Optional

import dagster as dg
from pydantic import Field

from assets.rag.users import cleanups
from assets.rag.users.config import RagUsersSettings
from assets.rag.users.limits import local_day, reset_daily_limits
from assets.rag.users.notifications import enqueue_system_notification, replay_dead, system_key
from assets.rag.users.sqlutil import utcnow
from resources.cache import CacheResource
from resources.database import DatabaseResource

DELIVER_JOB = "deliver_notifications_job"
TIERS_JOB = "rag_user_tiers_job"
USAGE_JOB = "usage_statistics_job"
RESET_JOB = "reset_daily_limits_job"

# Delivery runs are frequent and small: with a local executor their steps run in the run's own process
# (no step process per asset: seconds of latency); steps sent elsewhere (celery) stay there.
LOCAL_EXECUTORS = {"multiprocess": dg.in_process_executor, "in_process": dg.in_process_executor}


def build_asset_jobs(executor: str) -> list:
    in_run = LOCAL_EXECUTORS.get(executor)
    return [
        dg.define_asset_job(
            DELIVER_JOB,
            selection=dg.AssetSelection.assets("notification_outbox", "rag_user_stats", "rag_user_tiers").without_checks(),
            executor_def=in_run,
            description="Send due outbox rows to the users system, then recompute the statistics of users with new "
            "queries and their tiers. notifications_sensor launches it; launched by hand it first enqueues log rows "
            "the outbox lacks.",
            tags={"dagster/max_runtime": str(3600)},
        ),
        dg.define_asset_job(
            TIERS_JOB,
            selection=dg.AssetSelection.assets("rag_user_stats", "rag_user_tiers")
            | dg.AssetSelection.checks_for_assets("notification_outbox"),
            executor_def=in_run,
            description="Daily: statistics from any queued log rows, every user's tier, and the checks (statistics "
            "equal the log; nothing stuck or dead in the outbox).",
        ),
        dg.define_asset_job(
            USAGE_JOB,
            selection=dg.AssetSelection.assets("usage_statistics"),
            executor_def=in_run,
            description="One hour's per-user usage statistics into the outbox; notifications_sensor delivers them "
            "seconds later.",
        ),
    ]


# --- system notifications and replay -----------------------------------------------------------------

class SystemNotificationConfig(dg.Config):
    notification_type: str = Field(description="The seed's notification_type, e.g. maintenance, announcement.")
    title: str
    message: str
    user_ids: list[str] = Field(default_factory=list, description="Recipients; empty = every user (the users system decides).")
    metadata: dict = Field(default_factory=dict, description="Free-form JSON passed through.")
    idempotency_key: Optional[str] = Field(
        default=None, description="Key of this notification; empty = one derived from the run and the content."
    )


@dg.op(description="Write the notification into the outbox; the delivery sends it like every other row.")
def send_system_notification_op(context: dg.OpExecutionContext, config: SystemNotificationConfig, rag_database: DatabaseResource) -> None:
    body = {
        "notification_type": config.notification_type, "title": config.title, "message": config.message,
        "user_ids": config.user_ids, "metadata": config.metadata,
    }
    key = f"system:{config.idempotency_key}" if config.idempotency_key else system_key(context.run.root_run_id or context.run_id, body)
    created = enqueue_system_notification(rag_database.engine, key, body)
    context.log.info(f"{'queued' if created else 'already queued'}: {key}")
    context.add_output_metadata({"idempotency_key": key, "queued": created, "recipients": len(config.user_ids) or "all"})


@dg.job(name="send_system_notification_job", description="Seed 004's send_system_notification: one outbox row, delivered by deliver_notifications_job.")
def send_system_notification_job():
    send_system_notification_op()


class ReplayConfig(dg.Config):
    ids: list[int] = Field(default_factory=list, description="Outbox ids of dead rows to send again.")
    kind: Optional[str] = Field(default=None, description="Or every dead row of this kind (query_result, usage_statistics, system).")
    dry_run: bool = Field(default=False, description="Only list what would be replayed.")


@dg.op(description="Put dead outbox rows back to pending with fresh attempts (after the cause was fixed).")
def replay_dead_notifications_op(context: dg.OpExecutionContext, config: ReplayConfig, rag_database: DatabaseResource) -> None:
    rows = replay_dead(rag_database.engine, config.ids, config.kind, config.dry_run)
    context.log.info(f"{'dry run: would replay' if config.dry_run else 'replayed'} {len(rows)} dead rows")
    context.add_output_metadata({
        "dry_run": config.dry_run,
        "would_replay" if config.dry_run else "replayed": len(rows),
        "not_dead_or_unknown_ids": len(set(config.ids) - {r[0] for r in rows}),
        "rows": dg.MetadataValue.md("\n".join(f"- {i} `{k}`: {e}" for i, k, e in rows[:50]) or "(none)"),
    })


@dg.job(name="replay_dead_notifications_job", description="Send dead-lettered notifications again (config: ids or kind).")
def replay_dead_notifications_job():
    replay_dead_notifications_op()


# --- daily limits --------------------------------------------------------------------------------------

class ResetConfig(dg.Config):
    day: Optional[str] = Field(
        default=None, description="The day (YYYY-MM-DD in RAG_TIMEZONE) being reset; empty = today there. The schedule sets it."
    )
    dry_run: bool = False


@dg.op(description="Reset every user's daily usage once for the day (ledger rag_limit_reset); a day already reset, or "
       "older than the newest reset, is skipped.")
def reset_daily_limits_op(context: dg.OpExecutionContext, config: ResetConfig, rag_database: DatabaseResource,
                          rag_users: RagUsersSettings) -> None:
    day = date.fromisoformat(config.day) if config.day else local_day(utcnow(), rag_users.timezone)
    result = reset_daily_limits(rag_database.engine, day, context.run_id, config.dry_run)
    context.log.info(f"{day}: {result.reason} ({result.users_reset} users)")
    context.add_output_metadata({
        "day": str(day), "timezone": rag_users.timezone, "dry_run": config.dry_run, "reset": result.done,
        "users_reset" if result.done else "users_affected": result.users_reset, "reason": result.reason,
    })


@dg.job(name=RESET_JOB, description="Seed 004's reset_all_daily_limits: 00:00 in RAG_TIMEZONE, caught up after a daemon gap, never twice a day.")
def reset_daily_limits_job():
    reset_daily_limits_op()


# --- cleanups ------------------------------------------------------------------------------------------

class CacheCleanupConfig(dg.Config):
    max_idle_hours: Optional[float] = Field(default=None, description="Override RAG_CACHE_MAX_IDLE_HOURS for this run.")
    dry_run: bool = False


@dg.op(description="SCAN the keys under RAG_CACHE_PREFIX in batches; UNLINK those without a TTL or idle too long.")
def rag_cache_cleanup_op(context: dg.OpExecutionContext, config: CacheCleanupConfig, cache: CacheResource,
                         rag_users: RagUsersSettings) -> None:
    if not cache.enabled:
        context.log.info("skipped: REDIS_URL unset")
        context.add_output_metadata({"skipped": "REDIS_URL unset"})
        return
    idle_h = rag_users.cache_max_idle_hours if config.max_idle_hours is None else config.max_idle_hours
    client = cache.redis()
    try:
        report = cleanups.cleanup_rag_cache(client, rag_users.cache_prefix, idle_h * 3600, cache.scan_batch, config.dry_run)
    finally:
        client.close()
    verb = "would delete" if config.dry_run else "deleted"
    context.log.info(f"{report.scanned} keys under {rag_users.cache_prefix}: {verb} {report.deleted_no_ttl} without TTL, "
                     f"{report.deleted_idle} idle > {idle_h} h; kept {report.kept}")
    context.add_output_metadata({
        "dry_run": config.dry_run, "prefix": rag_users.cache_prefix, "max_idle_hours": idle_h, "scanned": report.scanned,
        f"{verb.replace(' ', '_')}_no_ttl": report.deleted_no_ttl, f"{verb.replace(' ', '_')}_idle": report.deleted_idle,
        "kept": report.kept, "gone_meanwhile": report.gone_meanwhile, "scan_calls": report.scan_calls,
        "idle_time_unavailable": report.idle_unavailable, "examples": ", ".join(report.examples) or "(none)",
    })


class RetentionConfig(dg.Config):
    days: Optional[int] = Field(default=None, description="Override the retention in days for this run.")
    batch_rows: Optional[int] = Field(default=None, description="Rows per transaction; empty = MAINTENANCE_DELETE_BATCH.")
    dry_run: bool = False


def _rows_metadata(config: RetentionConfig, days: int, report: cleanups.RowsReport, done: str, would: str) -> dict:
    return {
        "dry_run": config.dry_run, "retention_days": days, "cutoff": report.cutoff.isoformat(),
        (would if config.dry_run else done): report.removed, "kept": report.kept, "transactions": report.statements,
        "errors": report.errors.count, "error_examples": "; ".join(report.errors.examples) or "(none)",
    }


@dg.op(description="Delete query_cache rows older than the retention (default 30 days), in bounded batches.")
def query_cache_cleanup_op(context: dg.OpExecutionContext, config: RetentionConfig, rag_database: DatabaseResource,
                           rag_users: RagUsersSettings) -> None:
    days = 30 if config.days is None else config.days
    cutoff = utcnow() - timedelta(days=days)
    report = cleanups.cleanup_query_cache(rag_database.engine, cutoff, config.batch_rows or rag_users.delete_batch_rows, config.dry_run)
    context.log.info(f"query cache before {cutoff.isoformat()}: {report.removed} {'would go' if config.dry_run else 'deleted'}, {report.kept} kept")
    context.add_output_metadata(_rows_metadata(config, days, report, "deleted", "would_delete"))
    if report.errors.count:
        raise dg.Failure(f"query_cache: {report.errors.count} batch(es) refused by the database, skipped: "
                         + "; ".join(report.errors.examples))


@dg.op(description="Move conversations idle for the retention (default 90 days) into conversation_archive, one "
       "transaction per batch (copy, delete what was copied, commit).")
def archive_conversations_op(context: dg.OpExecutionContext, config: RetentionConfig, rag_database: DatabaseResource,
                             rag_users: RagUsersSettings) -> None:
    days = 90 if config.days is None else config.days
    cutoff = utcnow() - timedelta(days=days)
    report = cleanups.archive_conversations(rag_database.engine, cutoff, config.batch_rows or rag_users.delete_batch_rows, config.dry_run)
    context.log.info(f"conversations idle since before {cutoff.isoformat()}: {report.removed} "
                     f"{'would be archived' if config.dry_run else 'archived'}, {report.kept} kept")
    context.add_output_metadata(_rows_metadata(config, days, report, "archived", "would_archive"))


class FailedRunsConfig(dg.Config):
    days: Optional[int] = Field(default=None, description="Override FAILED_RUNS_RETENTION_DAYS for this run.")
    max_runs: int = Field(default=10000, description="Delete at most this many runs per run of the job.")
    dry_run: bool = False


@dg.op(description="Delete failed Dagster runs older than the retention, keeping the newest failure of each job.")
def failed_runs_cleanup_op(context: dg.OpExecutionContext, config: FailedRunsConfig, rag_users: RagUsersSettings) -> None:
    days = rag_users.failed_runs_retention_days if config.days is None else config.days
    cutoff = utcnow() - timedelta(days=days)
    report = cleanups.cleanup_failed_runs(context.instance, cutoff, config.dry_run, limit=config.max_runs)
    verb = "would_delete" if config.dry_run else "deleted"
    context.log.info(f"failed runs before {cutoff.isoformat()}: {len(report.deleted)} {verb}; kept the newest failure "
                     f"of {len(report.kept_newest_of_job)} jobs and {report.kept_recent} recent ones")
    context.add_output_metadata({
        "dry_run": config.dry_run, "retention_days": days, "cutoff": cutoff.isoformat(), "examined": report.examined,
        verb: len(report.deleted), "kept_newest_of_job": len(report.kept_newest_of_job), "kept_recent": report.kept_recent,
        "deleted_examples": ", ".join(report.deleted[:10]) or "(none)",
        "kept_jobs": ", ".join(sorted(report.kept_newest_of_job)) or "(none)",
    })


def _single(name: str, op, description: str) -> dg.JobDefinition:
    @dg.job(name=name, description=description)
    def _job():
        op()

    return _job


rag_cache_cleanup_job = _single("rag_cache_cleanup_job", rag_cache_cleanup_op, "Seed 004's cleanup_old_cache (every 6 h).")
query_cache_cleanup_job = _single("query_cache_cleanup_job", query_cache_cleanup_op, "Seed 004's cleanup_query_cache (02:00, 30 days).")
archive_conversations_job = _single("archive_conversations_job", archive_conversations_op, "Seed 004's cleanup_old_conversations (90 days), as a move to the archive.")
failed_runs_cleanup_job = _single("failed_runs_cleanup_job", failed_runs_cleanup_op, "Seed 004's cleanup_failed_tasks: failed Dagster runs.")

OP_JOBS = [
    send_system_notification_job, replay_dead_notifications_job, reset_daily_limits_job, rag_cache_cleanup_job,
    query_cache_cleanup_job, archive_conversations_job, failed_runs_cleanup_job,
]
