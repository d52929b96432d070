"""The users side's cleanups: the Redis RAG cache, the query cache, conversation archiving, failed runs.
Each has a dry run and reports what it removed and what it kept, and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, func, literal, select

from assets.maintenance.retention import BatchErrors, delete_in_batches
from assets.rag.users.sqlutil import utcnow
from assets.rag.users.tables import conversation, conversation_archive, query_cache
from resources.cache import scan_batches


# --- Redis cache -------------------------------------------------------------------------------------

@dataclass
class CacheReport:
    scanned: int = 0
    deleted_no_ttl: int = 0
    deleted_idle: int = 0
    kept: int = 0
    gone_meanwhile: int = 0
    scan_calls: int = 0
    idle_unavailable: bool = False  # OBJECT IDLETIME refused (an LFU maxmemory-policy): only no-TTL keys go
    examples: list[str] = field(default_factory=list)


def cleanup_rag_cache(client, prefix: str, max_idle_s: float, batch: int = 500, dry_run: bool = False) -> CacheReport:
    """Keys under `prefix` without a TTL, or idle longer than `max_idle_s`, are UNLINKed. SCAN walks the
    key space in batches (never KEYS); TTL and OBJECT IDLETIME do not touch a key's idle clock."""
    import redis

    if not prefix:
        raise ValueError("RAG_CACHE_PREFIX is empty: refusing to clean the whole Redis database")
    report = CacheReport()
    for keys in scan_batches(client, _escape_glob(prefix) + "*", batch):
        report.scan_calls += 1
        if keys:
            _clean_batch(client, keys, max_idle_s, dry_run, report, redis)
    return report


def _clean_batch(client, keys: list, max_idle_s: float, dry_run: bool, report: CacheReport, redis) -> None:
    report.scanned += len(keys)
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.ttl(key)
    ttls = pipe.execute()
    idles: list = [None] * len(keys)
    if not report.idle_unavailable:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.object("idletime", key)
        try:
            idles = pipe.execute(raise_on_error=False)
        except redis.ResponseError:
            idles = [None] * len(keys)
        if any(isinstance(i, redis.ResponseError) and "LFU" in str(i) for i in idles):
            report.idle_unavailable = True
    doomed = []
    for key, ttl, idle in zip(keys, ttls, idles):
        idle = idle if isinstance(idle, int) else None
        if ttl == -2:
            report.gone_meanwhile += 1
        elif ttl == -1:
            report.deleted_no_ttl += 1
            doomed.append(key)
        elif idle is not None and idle > max_idle_s:
            report.deleted_idle += 1
            doomed.append(key)
        else:
            report.kept += 1
    for key in doomed[: max(0, 10 - len(report.examples))]:
        report.examples.append(key.decode(errors="replace") if isinstance(key, bytes) else str(key))
    if doomed and not dry_run:
        client.unlink(*doomed)


def _escape_glob(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


# --- Query cache ---------------------------------------------------------------------------------------

@dataclass
class RowsReport:
    cutoff: datetime
    removed: int = 0
    kept: int = 0
    statements: int = 0
    errors: BatchErrors = field(default_factory=BatchErrors)  # batches the database refused (skipped)


def cleanup_query_cache(engine: Engine, cutoff: datetime, batch_rows: int, dry_run: bool) -> RowsReport:
    old = query_cache.c.created_at < cutoff
    report = RowsReport(cutoff)
    if dry_run:
        with engine.connect() as conn:
            report.removed = conn.execute(select(func.count()).where(old)).scalar_one()
    else:
        report.removed, report.statements = delete_in_batches(engine, query_cache, old, batch_rows, report.errors)
    with engine.connect() as conn:
        report.kept = conn.execute(select(func.count()).select_from(query_cache)).scalar_one() - (report.removed if dry_run else 0)
    return report


# --- Conversations -------------------------------------------------------------------------------------

def idle_since():
    return func.coalesce(conversation.c.last_message_at, conversation.c.created_at)


def archive_conversations(
    engine: Engine, cutoff: datetime, batch_rows: int, dry_run: bool,
    between_copy_and_delete: Callable[[int], None] | None = None,
) -> RowsReport:
    """Move conversations idle since before `cutoff` into conversation_archive, `batch_rows` per
    transaction: copy, then delete only the ids whose copy is in the archive, then commit. A crash
    rolls the whole batch back (nothing lost, nothing copied twice); the next run goes on from there.
    `between_copy_and_delete(batch number)` is a test hook that can fail a batch half-way."""
    old = idle_since() < cutoff
    report = RowsReport(cutoff)
    if dry_run:
        with engine.connect() as conn:
            report.removed = conn.execute(select(func.count()).where(old)).scalar_one()
            report.kept = conn.execute(select(func.count()).select_from(conversation)).scalar_one() - report.removed
        return report
    columns = [c.name for c in conversation.columns]
    while True:
        with engine.begin() as conn:
            ids = conn.execute(select(conversation.c.id).where(old).order_by(conversation.c.id).limit(batch_rows)).scalars().all()
            if not ids:
                break
            now = utcnow()
            already = set(conn.execute(select(conversation_archive.c.id).where(conversation_archive.c.id.in_(ids))).scalars())
            fresh = [i for i in ids if i not in already]
            if fresh:
                conn.execute(
                    conversation_archive.insert().from_select(
                        [*columns, "archived_at"],
                        select(*(conversation.c[c] for c in columns), literal(now, conversation_archive.c.archived_at.type))
                        .where(conversation.c.id.in_(fresh)),
                    )
                )
            if between_copy_and_delete is not None:
                between_copy_and_delete(report.statements + 1)
            copied = select(conversation_archive.c.id).where(conversation_archive.c.id.in_(ids))
            report.removed += conn.execute(delete(conversation).where(conversation.c.id.in_(copied))).rowcount
        report.statements += 1
    with engine.connect() as conn:
        report.kept = conn.execute(select(func.count()).select_from(conversation)).scalar_one()
    return report


# --- Failed Dagster runs -------------------------------------------------------------------------------

@dataclass
class FailedRunsReport:
    cutoff: datetime
    examined: int = 0
    deleted: list[str] = field(default_factory=list)
    kept_newest_of_job: dict[str, str] = field(default_factory=dict)
    kept_recent: int = 0


def cleanup_failed_runs(instance, cutoff: datetime, dry_run: bool, page: int = 500, limit: int = 10000) -> FailedRunsReport:
    """Delete failed runs created before `cutoff`, keeping each job's newest failure (the one an
    operator looks at), through the instance's public API (get_run_records, delete_run)."""
    import dagster as dg

    report = FailedRunsReport(cutoff)
    cursor = None
    # Decide over every page first: deleting while paging would pull the cursor's run from under it.
    while len(report.deleted) < limit:
        records = instance.get_run_records(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=page, cursor=cursor
        )
        if not records:
            break
        for record in records:  # newest first
            run = record.dagster_run
            report.examined += 1
            if run.job_name not in report.kept_newest_of_job:
                report.kept_newest_of_job[run.job_name] = run.run_id
                continue
            created = record.create_timestamp
            created = created if created.tzinfo else created.replace(tzinfo=cutoff.tzinfo)
            if created >= cutoff:
                report.kept_recent += 1
            elif len(report.deleted) < limit:
                report.deleted.append(run.run_id)
        cursor = records[-1].dagster_run.run_id
    if not dry_run:
        for run_id in report.deleted:
            instance.delete_run(run_id)
    return report
