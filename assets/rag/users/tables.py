"""Seed 004's users-side tables (RAG_DATABASE_URL): the query log the RAG app writes, users, their
statistics, caches, conversations and their archive, the notification outbox, and the platform's
bookkeeping (stats queue, daily-reset ledger).

Registered in `appdb/schema.py` `SCHEMA_PARTS`; `install_triggers` (re)creates the capture trigger
that turns every `rag_query_log` insert into a `notification_outbox` row and a stats-queue row in the
same transaction (sql/query_log_capture.<dialect>.sql), so no query is missed, late commits included.
"""

from pathlib import Path

from sqlalchemy import JSON, CheckConstraint, Column, Date, Engine, Index, Integer, String, Table, Text, func

from appdb.base import Id, Timestamp, metadata
from appdb.engine import run_script

SQL_DIR = Path(__file__).resolve().parent / "sql"

OUTBOX_KINDS = ("query_result", "usage_statistics", "system")
OUTBOX_STATUSES = ("pending", "sent", "dead")

# Written by the RAG app after each successful query (the seed's send_query_result_to_users fields).
rag_query_log = Table(
    "rag_query_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", String(255), nullable=False),
    Column("conversation_id", String(255)),
    Column("message_id", String(255)),
    Column("query", Text, nullable=False),
    Column("answer", Text),
    Column("sources", JSON),
    Column("tokens_used", Integer, nullable=False, server_default="0"),
    Column("processing_time_ms", Integer, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
    Index(None, "user_id", "created_at"),
    Index(None, "created_at"),
)

rag_user = Table(
    "rag_user",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("tier", String(64), nullable=False, server_default="free"),
    Column("daily_limit", Integer, nullable=False, server_default="100"),
    Column("daily_used", Integer, nullable=False, server_default="0"),
    Column("limits_reset_at", Timestamp),
)

# Derived from rag_query_log (recomputed per touched user, never incremented): exact after any re-run.
rag_user_stats = Table(
    "rag_user_stats",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("queries_total", Integer, nullable=False),
    Column("tokens_total", Id, nullable=False),
    Column("avg_processing_ms", Integer, nullable=False),
    Column("last_query_at", Timestamp),
    Column("updated_at", Timestamp, nullable=False),
)

query_cache = Table(
    "query_cache",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("query_hash", String(128), nullable=False),
    Column("answer", Text),
    Column("created_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
    Index(None, "created_at"),
)


def _conversation_columns() -> list[Column]:
    return [
        Column("id", String(255), primary_key=True),
        Column("user_id", String(255), nullable=False),
        Column("created_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
        Column("last_message_at", Timestamp),
    ]


conversation = Table("conversation", metadata, *_conversation_columns(), Index(None, "last_message_at"))

# Same columns + archived_at; a conversation leaves `conversation` only in the transaction that copied it here.
conversation_archive = Table(
    "conversation_archive",
    metadata,
    *_conversation_columns(),
    Column("archived_at", Timestamp, nullable=False),
)

notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("status", String(16), nullable=False, server_default="pending"),
    # Tries started so far (counted when a run claims the row, so a row that kills its run still ends dead).
    Column("attempts", Integer, nullable=False, server_default="0"),
    # When the row is next due. A run that claims a row moves this to now + NOTIFY_LEASE_SECONDS: the
    # lease. A run killed mid-batch leaves the row due again when the lease runs out, never lost.
    Column("next_attempt_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
    Column("last_error", Text),
    Column("created_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
    Column("sent_at", Timestamp),
    # Bookkeeping beyond the contract: who holds the lease, the last HTTP status.
    Column("lease_owner", String(64)),
    Column("last_status", Integer),
    CheckConstraint("kind IN ('query_result', 'usage_statistics', 'system')", name="kind_known"),
    CheckConstraint("status IN ('pending', 'sent', 'dead')", name="status_known"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "sent_at"),
)

# Users whose statistics are out of date: one row per new log row (written by the capture trigger in
# the log row's transaction). A stats run recomputes the users of the rows it read, then deletes
# exactly those rows: a row committed later stays for the next run.
rag_stats_pending = Table(
    "rag_stats_pending",
    metadata,
    Column("log_id", Id, primary_key=True, autoincrement=False),
    Column("user_id", String(255), nullable=False),
)

# One row per day (in RAG_TIMEZONE) whose daily limits were reset: a day is never reset twice.
rag_limit_reset = Table(
    "rag_limit_reset",
    metadata,
    Column("day", Date, primary_key=True),
    Column("reset_at", Timestamp, nullable=False),
    Column("users_reset", Integer, nullable=False),
    Column("run_id", String(64)),
)


def install_triggers(engine: Engine) -> None:
    """(Re)create the query-log capture trigger; idempotent."""
    run_script(engine, (SQL_DIR / f"query_log_capture.{engine.dialect.name}.sql").read_text())
