"""Helpers of the users-side tests: log rows, a users client, reading the outbox."""

from datetime import datetime, timezone

from sqlalchemy import insert, select

from assets.rag.users.delivery import DeliveryPolicy
from assets.rag.users.stats import stats_select
from assets.rag.users.tables import notification_outbox, rag_query_log, rag_user_stats
from resources.users_api import UsersClient

FAST = DeliveryPolicy(max_attempts=8, batch_rows=50, concurrency=8, backoff_s=0.0, backoff_max_s=0.0, lease_s=60)


def log_rows(n: int, users: int = 3, start: int = 0, created_at: datetime | None = None) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        row = {
            "user_id": f"user-{i % users}", "conversation_id": f"conv-{i % 7}", "message_id": f"msg-{i}",
            "query": f"سوال {i}", "answer": f"پاسخ {i}", "sources": [f"doc-{i}", "doc-x"],
            "tokens_used": 10 + i % 5, "processing_time_ms": 100 + 3 * (i % 11),
        }
        if created_at is not None:
            row["created_at"] = created_at
        rows.append(row)
    return rows


def write_logs(engine, rows: list[dict]) -> list[int]:
    with engine.begin() as conn:
        return [conn.execute(insert(rag_query_log).values(**row).returning(rag_query_log.c.id)).scalar_one() for row in rows]


def client(url: str, api_key: str = "k", read_timeout_s: float = 2.0) -> UsersClient:
    return UsersClient(url, api_key, 2.0, read_timeout_s)


def outbox(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.idempotency_key: dict(r._mapping) for r in conn.execute(select(notification_outbox))}


def stats_table(engine) -> dict:
    with engine.connect() as conn:
        return {r.user_id: (r.queries_total, r.tokens_total, r.avg_processing_ms) for r in conn.execute(select(rag_user_stats))}


def stats_recomputed(engine) -> dict:
    with engine.connect() as conn:
        return {r.user_id: (r.queries_total, r.tokens_total, r.avg_processing_ms) for r in conn.execute(stats_select())}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
