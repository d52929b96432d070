"""Rows other than query results that go into the outbox: hourly usage statistics per user, system
notifications; and putting dead rows back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, func, or_, select, update

from assets.rag.users.sqlutil import insert_for, utcnow
from assets.rag.users.tables import notification_outbox as outbox
from assets.rag.users.tables import rag_query_log as log


def usage_key(user_id: str, hour: datetime) -> str:
    return f"usage_statistics:{user_id}:{hour.strftime('%Y-%m-%dT%H:00Z')}"


@dataclass
class UsageReport:
    users: int = 0
    queries: int = 0
    enqueued: int = 0  # new outbox rows
    refreshed: int = 0  # pending rows whose numbers changed (a late log row of the hour)
    already_sent: int = 0  # rows delivered before: a backfill re-sends nothing


def enqueue_usage_statistics(engine: Engine, start: datetime, end: datetime) -> UsageReport:
    """One usage_statistics row per user with queries in [start, end) (one hour), keyed by user and
    hour. A row still pending takes the new numbers; a sent one is left alone."""
    report = UsageReport()
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                log.c.user_id,
                func.count().label("queries"),
                func.coalesce(func.sum(log.c.tokens_used), 0).label("tokens"),
                func.avg(log.c.processing_time_ms).label("avg_ms"),
            )
            .where(log.c.created_at >= start, log.c.created_at < end)
            .group_by(log.c.user_id)
            .order_by(log.c.user_id)
        ).all()
        if not rows:
            return report
        hour = start.strftime("%Y-%m-%dT%H:00:00Z")
        values = [
            {
                "kind": "usage_statistics",
                "idempotency_key": usage_key(r.user_id, start),
                "payload": {
                    "user_id": r.user_id, "hour": hour, "queries": int(r.queries), "tokens": int(r.tokens),
                    "avg_processing_ms": round(float(r.avg_ms or 0)),
                },
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": utcnow(),
                "created_at": utcnow(),
            }
            for r in rows
        ]
        keys = [v["idempotency_key"] for v in values]
        before = dict(conn.execute(select(outbox.c.idempotency_key, outbox.c.payload).where(outbox.c.idempotency_key.in_(keys))).all())
        statuses = dict(conn.execute(select(outbox.c.idempotency_key, outbox.c.status).where(outbox.c.idempotency_key.in_(keys))).all())
        stmt = insert_for(engine, outbox)
        stmt = stmt.on_conflict_do_update(
            index_elements=["idempotency_key"],
            set_={"payload": stmt.excluded.payload},
            where=outbox.c.status == "pending",
        )
        conn.execute(stmt, values)
    report.users = len(rows)
    report.queries = sum(int(r.queries) for r in rows)
    for v in values:
        key = v["idempotency_key"]
        if key not in statuses:
            report.enqueued += 1
        elif statuses[key] != "pending":
            report.already_sent += 1
        elif before[key] != v["payload"]:
            report.refreshed += 1
    return report


def system_key(run_id: str, body: dict) -> str:
    """Deterministic per launch and content: a retried step or re-executed run writes the same row."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return f"system:{run_id}:{digest}"


def enqueue_system_notification(engine: Engine, key: str, body: dict) -> bool:
    """The seed's send_system_notification as an outbox row; False when the key was already there."""
    now = utcnow()
    with engine.begin() as conn:
        inserted = conn.execute(
            insert_for(engine, outbox).on_conflict_do_nothing(index_elements=["idempotency_key"]),
            {"kind": "system", "payload": body, "idempotency_key": key, "status": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now},
        ).rowcount
    return inserted == 1


def replay_dead(engine: Engine, ids: list[int], kind: str | None, dry_run: bool) -> list[tuple[int, str, str]]:
    """Put dead rows (by id, or every dead row of a kind) back to pending with fresh attempts; their
    last_error stays for the record. Returns (id, key, last_error) of the rows concerned."""
    selectors = []
    if ids:
        selectors.append(outbox.c.id.in_(ids))
    if kind:
        selectors.append(outbox.c.kind == kind)
    if not selectors:
        raise ValueError("replay_dead_notifications_job needs `ids` or `kind` (refusing to replay everything blindly)")
    which = and_(outbox.c.status == "dead", or_(*selectors))
    with engine.begin() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.idempotency_key, outbox.c.last_error).where(which).order_by(outbox.c.id)).all()
        if not dry_run and rows:
            conn.execute(
                update(outbox).where(which).values(status="pending", attempts=0, next_attempt_at=utcnow(), lease_owner=None)
            )
    return [tuple(r) for r in rows]
