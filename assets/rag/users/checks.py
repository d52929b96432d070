"""Checks with business meaning: statistics equal the log, no notification stuck or dead."""

from datetime import timedelta

import dagster as dg
from sqlalchemy import and_, func, or_, select

from assets.rag.users.sqlutil import utcnow
from assets.rag.users.stats import STAT_COLUMNS, stats_select
from assets.rag.users.tables import notification_outbox as outbox
from assets.rag.users.tables import rag_stats_pending, rag_user_stats
from resources.database import DatabaseResource

STUCK_AFTER = timedelta(minutes=15)


@dg.asset_check(
    asset="rag_user_stats",
    description="Every user's statistics equal a recomputation from the whole query log (users with log rows still "
    "queued for the next delivery run are left out: they are due, not wrong).",
)
def stats_match_log(rag_database: DatabaseResource) -> dg.AssetCheckResult:
    fresh = stats_select().subquery()
    queued = select(rag_stats_pending.c.user_id)
    differs = or_(
        rag_user_stats.c.user_id.is_(None),
        *(rag_user_stats.c[name].is_distinct_from(fresh.c[name]) for name in STAT_COLUMNS),
    )
    query = (
        select(fresh.c.user_id)
        .select_from(fresh.outerjoin(rag_user_stats, rag_user_stats.c.user_id == fresh.c.user_id))
        .where(differs, fresh.c.user_id.not_in(queued))
        .order_by(fresh.c.user_id)
    )
    with rag_database.connect() as conn:
        wrong = conn.execute(query.limit(20)).scalars().all()
        users = conn.execute(select(func.count()).select_from(fresh)).scalar_one()
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={"users_checked": users, "users_wrong": len(wrong), "examples": ", ".join(wrong) or "(none)"},
    )


@dg.asset_check(
    asset="notification_outbox",
    description="No notification has been due for more than 15 minutes (delivery is running and keeping up).",
)
def outbox_not_stuck(rag_database: DatabaseResource) -> dg.AssetCheckResult:
    late = and_(outbox.c.status == "pending", outbox.c.next_attempt_at < utcnow() - STUCK_AFTER)
    with rag_database.connect() as conn:
        count, oldest = conn.execute(select(func.count(), func.min(outbox.c.next_attempt_at)).where(late)).one()
    return dg.AssetCheckResult(
        passed=count == 0, metadata={"overdue_rows": count, "oldest_due_at": str(oldest) if oldest else "(none)"}
    )


@dg.asset_check(
    asset="notification_outbox",
    description="No notification is dead-lettered (WARN: replay_dead_notifications_job puts them back once fixed).",
)
def no_dead_notifications(rag_database: DatabaseResource) -> dg.AssetCheckResult:
    with rag_database.connect() as conn:
        by_kind = dict(conn.execute(select(outbox.c.kind, func.count()).where(outbox.c.status == "dead").group_by(outbox.c.kind)).all())
        examples = conn.execute(
            select(outbox.c.idempotency_key, outbox.c.last_error).where(outbox.c.status == "dead").order_by(outbox.c.id.desc()).limit(5)
        ).all()
    return dg.AssetCheckResult(
        passed=not by_kind,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "dead_by_kind": by_kind,
            "examples": dg.MetadataValue.md("\n".join(f"- `{k}`: {e}" for k, e in examples) or "(none)"),
        },
    )


CHECKS = [stats_match_log, outbox_not_stuck, no_dead_notifications]
