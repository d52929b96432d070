"""Assets of the users side: the query log (source), the outbox's delivery, user statistics and tiers,
hourly usage statistics."""

from datetime import timedelta

import dagster as dg
from pydantic import Field

from assets.metadata import md_list
from assets.rag.users.config import RagUsersSettings
from assets.rag.users.delivery import (
    deliver_due,
    enqueue_missing_query_results,
    outbox_counts,
    prune_delivered,
)
from assets.rag.users.notifications import enqueue_usage_statistics
from assets.rag.users.sqlutil import utcnow
from assets.rag.users.stats import assign_tiers, refresh_stats
from resources.database import DatabaseResource
from resources.users_api import UsersApiResource

GROUP = "rag"
USAGE_PARTITIONS = dg.HourlyPartitionsDefinition(start_date="2025-01-01-00:00", timezone="UTC")

RAG_QUERY_LOG = dg.AssetSpec(
    key="rag_query_log",
    group_name=GROUP,
    kinds={"sql"},
    description="Every successful RAG query (table rag_query_log: user, conversation, query, answer, sources, tokens, "
    "time), written by the RAG app; a capture trigger queues each row for the users system and the statistics.",
    metadata={"dagster/table_name": "rag_query_log"},
)


class OutboxConfig(dg.Config):
    reconcile: bool = Field(
        default=True,
        description="First enqueue log rows (within NOTIFY_RETENTION_DAYS) that have no outbox row; the sensor's runs "
        "skip it (the capture trigger queues every row).",
    )
    max_seconds: float = Field(default=600.0, description="Stop claiming new batches after this long (the sensor starts another run).")
    linger_seconds: float = Field(
        default=0.0,
        description="Keep polling for new due rows until none came for this long (the sensor's runs: 20 s), so a stream "
        "of queries is delivered within a second instead of each waiting for a new run to start. Statistics and "
        "tiers follow when the delivery step ends.",
    )


@dg.asset(
    name="notification_outbox",
    group_name=GROUP,
    deps=[RAG_QUERY_LOG.key, "usage_statistics"],
    kinds={"sql", "python"},
    description="Delivery of the notification outbox (query results, hourly usage statistics, system notifications) to "
    "the users system: due rows sent in parallel with their Idempotency-Key, each outcome recorded, failures backed "
    "off per row and dead-lettered after NOTIFY_MAX_ATTEMPTS; delivered rows pruned after NOTIFY_RETENTION_DAYS. "
    "Replaces seed 004's send_query_result_to_users / send_usage_statistics / send_system_notification tasks.",
    metadata={"dagster/table_name": "notification_outbox"},
)
def notification_outbox(
    context: dg.AssetExecutionContext, config: OutboxConfig, rag_database: DatabaseResource,
    users_api: UsersApiResource, rag_users: RagUsersSettings,
) -> dg.MaterializeResult:
    engine = rag_database.engine
    since = utcnow() - timedelta(days=rag_users.retention_days)
    enqueued = enqueue_missing_query_results(engine, since) if config.reconcile else 0
    meta: dict = {"reconciled_missing_rows": enqueued}
    if users_api.enabled:
        client = users_api.client()
        try:
            report = deliver_due(engine, client, context.run_id[:36], rag_users.policy, config.max_seconds,
                                 linger_s=config.linger_seconds)
        finally:
            client.close()
        rate = report.sent / report.seconds if report.seconds else 0.0
        context.log.info(
            f"{report.claimed} claimed in {report.batches} batches: {report.sent} delivered, {report.retried} to retry, "
            f"{report.dead} dead ({rate:.0f}/s)"
        )
        meta.update({
            "claimed": report.claimed, "delivered": report.sent, "retried": report.retried, "dead_lettered": report.dead,
            "lost_lease": report.lost_lease, "batches": report.batches, "by_kind": report.by_kind,
            "http_statuses": report.statuses, "delivered_per_second": round(rate, 1),
            "dead_examples": md_list(report.dead_examples), "retry_examples": md_list(report.retry_examples),
            "duration_seconds": round(report.seconds, 3),
        })
    else:
        meta["skipped"] = "USERS_URL unset: nothing sent, rows stay pending"
    meta["pruned_delivered"], prune_errors = prune_delivered(engine, rag_users.retention_days, rag_users.delete_batch_rows)
    meta["prune_errors"] = prune_errors.count  # refused batches are retried by the next run (rows stay)
    meta.update({f"outbox_{status}": n for status, n in outbox_counts(engine).items()})
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    name="rag_user_stats",
    group_name=GROUP,
    deps=[RAG_QUERY_LOG.key],
    kinds={"sql"},
    description="Per user: total queries, tokens, average processing time, last query (table rag_user_stats), "
    "recomputed from the query log for the users with new log rows, in the delivery runs. Replaces seed 004's "
    "update_user_statistics (one task per query).",
    metadata={"dagster/table_name": "rag_user_stats"},
)
def rag_user_stats(context: dg.AssetExecutionContext, rag_database: DatabaseResource) -> dg.MaterializeResult:
    report = refresh_stats(rag_database.engine)
    context.log.info(f"{report.queue_rows} new log rows: {report.users_recomputed} users recomputed, {report.users_changed} changed")
    return dg.MaterializeResult(
        metadata={
            "new_log_rows": report.queue_rows,
            "users_recomputed": report.users_recomputed,
            "users_changed": report.users_changed,
            "changed_users": md_list(report.changed_users, report.users_changed),
        }
    )


@dg.asset(
    name="rag_user_tiers",
    group_name=GROUP,
    deps=[rag_user_stats],
    kinds={"sql"},
    description="Each user's tier (rag_user.tier) from their total queries and the RAG_TIERS thresholds; the changes "
    "of each run (user, old tier, new tier) are in its metadata, so the asset's history is the tier history. Daily "
    "and after every statistics update. Replaces seed 004's calculate_user_tier.",
    metadata={"dagster/table_name": "rag_user"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26)),
)
def rag_user_tiers(context: dg.AssetExecutionContext, rag_database: DatabaseResource, rag_users: RagUsersSettings) -> dg.MaterializeResult:
    tiers = rag_users.tier_list
    report = assign_tiers(rag_database.engine, tiers)
    changes = [f"{user}: {old} -> {new} ({queries} queries)" for user, old, new, queries in report.changes]
    context.log.info(f"{len(changes)} tier changes; users per tier {report.per_tier}")
    return dg.MaterializeResult(
        metadata={
            "tiers": ", ".join(f"{name} >= {minimum}" for name, minimum in tiers),
            "changed": len(changes),
            "changes": md_list(changes[:100], len(changes)),
            "users_per_tier": report.per_tier,
            "users_without_stats": report.users_without_stats,
        }
    )


@dg.asset(
    name="usage_statistics",
    group_name=GROUP,
    partitions_def=USAGE_PARTITIONS,
    deps=[RAG_QUERY_LOG.key],
    kinds={"sql"},
    description="Each UTC hour's per-user usage (queries, tokens, average processing time) as one usage_statistics "
    "outbox row per user and hour (Idempotency-Key usage_statistics:<user>:<hour>): a backfill of past hours re-sends "
    "nothing already delivered. Replaces seed 004's hourly send_usage_statistics.",
    metadata={"dagster/table_name": "notification_outbox"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)),
)
def usage_statistics(context: dg.AssetExecutionContext, rag_database: DatabaseResource) -> dg.MaterializeResult:
    window = context.partition_time_window
    report = enqueue_usage_statistics(rag_database.engine, window.start, window.end)
    context.log.info(
        f"{context.partition_key}: {report.users} users, {report.queries} queries -> {report.enqueued} new rows, "
        f"{report.refreshed} refreshed, {report.already_sent} already delivered"
    )
    return dg.MaterializeResult(
        metadata={
            "hour": context.partition_key, "users": report.users, "queries": report.queries,
            "enqueued": report.enqueued, "refreshed_pending": report.refreshed, "already_delivered": report.already_sent,
        }
    )
