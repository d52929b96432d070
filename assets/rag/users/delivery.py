"""Delivery of the notification outbox to the users system: claim due rows, send them in parallel,
record each outcome, back off per row, dead-letter, prune.

At least once, never twice in effect:
- A run claims due rows in one statement (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent runs
  take disjoint rows) by moving their `next_attempt_at` to now + lease and counting the attempt. A
  run killed mid-batch leaves its rows pending; they are due again when the lease runs out, and are
  sent again with the same Idempotency-Key, which the users system answers 409 (= delivered).
- Outcomes are written only while the writer still holds the lease (`lease_owner`), so a run whose
  lease ran out cannot overwrite what a newer run recorded.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, String, and_, bindparam, cast, exists, func, literal, select, update

from assets.maintenance.retention import BatchErrors, delete_in_batches
from assets.rag.users.sqlutil import insert_for, utcnow
from assets.rag.users.tables import notification_outbox as outbox
from assets.rag.users.tables import rag_query_log as log
from assets.rag.users.tables import rag_stats_pending
from resources.users_api import DEAD, RETRY, SENT, Delivery, UsersClient

QUERY_RESULT_FIELDS = (
    "user_id", "conversation_id", "message_id", "query", "answer", "sources", "tokens_used", "processing_time_ms",
)


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 8
    batch_rows: int = 500
    concurrency: int = 16
    backoff_s: float = 10.0
    backoff_max_s: float = 3600.0
    lease_s: float = 120.0

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Exponential in the attempts made, with jitter (half to full), capped."""
        return min(self.backoff_max_s, self.backoff_s * 2 ** max(0, attempts - 1)) * rng.uniform(0.5, 1.0)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    lost_lease: int = 0  # outcomes not written: another run had taken the row over
    batches: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    dead_examples: list[str] = field(default_factory=list)
    retry_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


def query_result_key(log_id: int) -> str:
    return f"query_result:{log_id}"


def enqueue_missing_query_results(engine: Engine, since: datetime, batch_rows: int = 5000) -> int:
    """Outbox rows for log rows created after `since` that have none (rows written while the capture
    trigger was missing, e.g. before the platform was installed). Normally 0."""
    key = literal("query_result:") + cast(log.c.id, String)
    missing = (
        select(log.c.id, *(log.c[name] for name in QUERY_RESULT_FIELDS))
        .where(log.c.created_at >= since, ~exists().where(outbox.c.idempotency_key == key))
        .order_by(log.c.id)
        .limit(batch_rows)
    )
    total = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(missing).mappings().all()
            if not rows:
                return total
            now = utcnow()
            conn.execute(
                insert_for(engine, outbox).on_conflict_do_nothing(index_elements=["idempotency_key"]),
                [
                    {
                        "kind": "query_result",
                        "payload": {name: row[name] for name in QUERY_RESULT_FIELDS},
                        "idempotency_key": query_result_key(row["id"]),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for row in rows
                ],
            )
            conn.execute(
                insert_for(engine, rag_stats_pending).on_conflict_do_nothing(index_elements=["log_id"]),
                [{"log_id": row["id"], "user_id": row["user_id"]} for row in rows],
            )
        total += len(rows)


def count_due(engine: Engine, now: datetime | None = None) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(outbox.c.status == "pending", outbox.c.next_attempt_at <= (now or utcnow()))
        ).scalar_one()


def claim(engine: Engine, owner: str, policy: DeliveryPolicy, now: datetime) -> list[dict]:
    """Take up to batch_rows due rows: lease them to `owner` and count the attempt."""
    due = (
        select(outbox.c.id)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(policy.batch_rows)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(
            next_attempt_at=now + timedelta(seconds=policy.lease_s),
            lease_owner=owner,
            attempts=outbox.c.attempts + 1,
        )
        .returning(outbox.c.id, outbox.c.kind, outbox.c.idempotency_key, outbox.c.payload, outbox.c.attempts)
    )
    with engine.begin() as conn:
        return [dict(row) for row in conn.execute(statement).mappings()]


def _record(engine: Engine, owner: str, outcomes: list[tuple[dict, Delivery]], policy: DeliveryPolicy,
            report: DeliveryReport, rng: random.Random) -> None:
    now = utcnow()
    sent, retry, dead = [], [], []
    for row, result in outcomes:
        report.statuses[str(result.status or "transport")] = report.statuses.get(str(result.status or "transport"), 0) + 1
        if result.outcome == SENT:
            sent.append({"b_id": row["id"], "b_status": result.status})
        elif result.outcome == RETRY and row["attempts"] < policy.max_attempts:
            retry.append({
                "b_id": row["id"], "b_status": result.status, "b_error": result.error,
                "b_next": now + timedelta(seconds=policy.backoff(row["attempts"], rng)),
            })
        else:
            error = result.error if result.outcome == DEAD else f"gave up after {row['attempts']} attempts: {result.error}"
            dead.append({"b_id": row["id"], "b_status": result.status, "b_error": error})
            if len(report.dead_examples) < 10:
                report.dead_examples.append(f"{row['idempotency_key']}: {error}")
        if result.outcome == RETRY and len(report.retry_examples) < 10:
            report.retry_examples.append(f"{row['idempotency_key']}: {result.error}")
    mine = and_(outbox.c.id == bindparam("b_id"), outbox.c.lease_owner == owner, outbox.c.status == "pending")
    written = 0
    with engine.begin() as conn:
        if sent:
            written += conn.execute(
                update(outbox).where(mine).values(
                    status="sent", sent_at=now, last_status=bindparam("b_status"), last_error=None, lease_owner=None
                ),
                sent,
            ).rowcount
        if retry:
            written += conn.execute(
                update(outbox).where(mine).values(
                    next_attempt_at=bindparam("b_next"), last_status=bindparam("b_status"),
                    last_error=bindparam("b_error"), lease_owner=None,
                ),
                retry,
            ).rowcount
        if dead:
            written += conn.execute(
                update(outbox).where(mine).values(
                    status="dead", last_status=bindparam("b_status"), last_error=bindparam("b_error"), lease_owner=None
                ),
                dead,
            ).rowcount
    report.sent += len(sent)
    report.retried += len(retry)
    report.dead += len(dead)
    report.lost_lease += len(outcomes) - written


def deliver_due(engine: Engine, client: UsersClient, owner: str, policy: DeliveryPolicy,
                max_seconds: float = 600.0, rng: random.Random | None = None, linger_s: float = 0.0,
                poll_s: float = 0.5) -> DeliveryReport:
    """Send due rows batch by batch until none is due (rows backing off wait for a later run) or
    `max_seconds` passed. Each batch's outcomes are written in one transaction. With `linger_s`, the
    run keeps polling for new due rows until none came for that long: a steady stream of queries is
    delivered within a poll instead of waiting for a new run to start."""
    rng = rng or random.Random()
    report = DeliveryReport()
    started = last_work = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, policy.concurrency), thread_name_prefix="notify") as pool:
        while time.perf_counter() - started < max_seconds:
            rows = claim(engine, owner, policy, utcnow())
            if not rows:
                if time.perf_counter() - last_work >= linger_s:
                    break
                time.sleep(poll_s)
                continue
            report.claimed += len(rows)
            report.batches += 1
            for row in rows:
                report.by_kind[row["kind"]] = report.by_kind.get(row["kind"], 0) + 1
            results = pool.map(lambda r: client.send(r["kind"], r["idempotency_key"], r["payload"]), rows)
            _record(engine, owner, list(zip(rows, results)), policy, report, rng)
            last_work = time.perf_counter()
    report.seconds = time.perf_counter() - started
    return report


def prune_delivered(
    engine: Engine, retention_days: int, batch_rows: int, now: datetime | None = None
) -> tuple[int, BatchErrors]:
    """Delete delivered rows older than the retention; returns (rows deleted, batches the database refused)."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    errors = BatchErrors()
    deleted, _ = delete_in_batches(
        engine, outbox, and_(outbox.c.status == "sent", outbox.c.sent_at < cutoff), batch_rows, errors
    )
    return deleted, errors


def outbox_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
