"""User statistics recomputed from the query log for the users with new log rows, and tiers from them.

Exact under concurrency and re-runs: a user's row is always the aggregate of every committed log row
of that user, never an increment. The stats queue (`rag_stats_pending`, filled by the capture trigger
in the log row's transaction) says whom to recompute; a run deletes only the queue rows it read,
after recomputing from a later snapshot than the one it read them in, so a log row that commits
meanwhile keeps its queue row for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, Integer, bindparam, case, cast, delete, func, literal, or_, select, update

from assets.rag.users.sqlutil import chunks, insert_for, utcnow
from assets.rag.users.tables import rag_query_log as log
from assets.rag.users.tables import rag_stats_pending as pending
from assets.rag.users.tables import rag_user, rag_user_stats

STAT_COLUMNS = ("queries_total", "tokens_total", "avg_processing_ms", "last_query_at")


def stats_select(user_ids=None):
    """The statistics of each user as aggregated from the log (the one definition; checks use it too)."""
    query = select(
        log.c.user_id,
        func.count().label("queries_total"),
        func.coalesce(func.sum(log.c.tokens_used), 0).label("tokens_total"),
        cast(func.round(func.avg(log.c.processing_time_ms)), Integer).label("avg_processing_ms"),
        func.max(log.c.created_at).label("last_query_at"),
    ).group_by(log.c.user_id)
    return query if user_ids is None else query.where(log.c.user_id.in_(user_ids))


@dataclass
class StatsReport:
    queue_rows: int = 0
    users_recomputed: int = 0
    users_changed: int = 0
    changed_users: list[str] = field(default_factory=list)


def refresh_stats(engine: Engine, queue_batch: int = 20000, users_per_statement: int = 500) -> StatsReport:
    """Recompute the statistics of every user in the stats queue; consume the queue rows read."""
    report = StatsReport()
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select(pending.c.log_id, pending.c.user_id).order_by(pending.c.log_id).limit(queue_batch)).all()
            if not rows:
                return report
            users = sorted({user for _, user in rows})
            now = utcnow()
            for group in chunks(users, users_per_statement):
                source = stats_select(group).add_columns(literal(now, rag_user_stats.c.updated_at.type).label("updated_at"))
                stmt = insert_for(engine, rag_user_stats).from_select(
                    ["user_id", *STAT_COLUMNS, "updated_at"], source
                )
                excluded = stmt.excluded
                stmt = stmt.on_conflict_do_update(
                    index_elements=["user_id"],
                    set_={name: excluded[name] for name in (*STAT_COLUMNS, "updated_at")},
                    where=or_(*(rag_user_stats.c[name].is_distinct_from(excluded[name]) for name in STAT_COLUMNS)),
                ).returning(rag_user_stats.c.user_id)
                changed = conn.execute(stmt).scalars().all()
                report.users_changed += len(changed)
                report.changed_users.extend(changed[: max(0, 50 - len(report.changed_users))])
            for ids in chunks([log_id for log_id, _ in rows], 5000):
                conn.execute(delete(pending).where(pending.c.log_id.in_(ids)))
        report.queue_rows += len(rows)
        report.users_recomputed += len(users)


def parse_tiers(spec: str) -> list[tuple[str, int]]:
    """`free:0,active:100,power:1000` -> [(name, minimum queries)] ascending; a clear error naming RAG_TIERS."""
    tiers = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, sep, minimum = part.partition(":")
        if not sep or not name.strip() or not minimum.strip().isdigit():
            raise ValueError(f"RAG_TIERS={spec!r}: {part!r} is not name:minimum_queries")
        tiers.append((name.strip(), int(minimum)))
    tiers.sort(key=lambda t: t[1])
    if not tiers or tiers[0][1] != 0:
        raise ValueError(f"RAG_TIERS={spec!r}: the lowest tier must start at 0 queries")
    if len({m for _, m in tiers}) != len(tiers) or len({n for n, _ in tiers}) != len(tiers):
        raise ValueError(f"RAG_TIERS={spec!r}: tier names and minimums must be unique")
    return tiers


def tier_expression(tiers: list[tuple[str, int]], queries):
    """CASE over the thresholds, highest first: the tier a number of queries earns."""
    return case(*((queries >= minimum, literal(name)) for name, minimum in reversed(tiers[1:])), else_=literal(tiers[0][0]))


@dataclass
class TierReport:
    changes: list[tuple[str, str, str, int]] = field(default_factory=list)  # user, old, new, queries
    per_tier: dict[str, int] = field(default_factory=dict)
    users_without_stats: int = 0


def assign_tiers(engine: Engine, tiers: list[tuple[str, int]]) -> TierReport:
    """Set each user's tier from their total queries; only changed users are written (guarded by the
    tier read, so a concurrent change is never overwritten blindly)."""
    queries = func.coalesce(rag_user_stats.c.queries_total, 0)
    wanted = tier_expression(tiers, queries)
    joined = rag_user.outerjoin(rag_user_stats, rag_user_stats.c.user_id == rag_user.c.id)
    report = TierReport()
    with engine.begin() as conn:
        rows = conn.execute(
            select(rag_user.c.id, rag_user.c.tier, wanted.label("wanted"), queries.label("queries"))
            .select_from(joined)
            .where(rag_user.c.tier.is_distinct_from(wanted))
            .order_by(rag_user.c.id)
        ).all()
        if rows:
            conn.execute(
                update(rag_user)
                .where(rag_user.c.id == bindparam("b_id"), rag_user.c.tier == bindparam("b_old"))
                .values(tier=bindparam("b_new")),
                [{"b_id": r.id, "b_old": r.tier, "b_new": r.wanted} for r in rows],
            )
        report.changes = [(r.id, r.tier, r.wanted, int(r.queries)) for r in rows]
        report.per_tier = dict(conn.execute(select(rag_user.c.tier, func.count()).group_by(rag_user.c.tier)).all())
        report.users_without_stats = conn.execute(
            select(func.count()).select_from(joined).where(rag_user_stats.c.user_id.is_(None))
        ).scalar_one()
    return report
