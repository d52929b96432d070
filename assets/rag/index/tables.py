"""The RAG index's own bookkeeping (in RAG_DATABASE_URL): the ingest cursor, tombstones, rejected items."""

from sqlalchemy import JSON, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from appdb.base import Id, Timestamp, metadata

# Where the incremental sync stands in the ingest feed: one row per collection alias. `cursor` moves
# only in the transaction that follows a written page (at-least-once: a crash re-reads, never skips).
rag_ingest_cursor = Table(
    "rag_ingest_cursor",
    metadata,
    Column("collection", String(200), primary_key=True),
    Column("cursor", Text, nullable=False, server_default=""),
    Column("pages_read", Integer, nullable=False, server_default="0"),
    Column("items_read", Integer, nullable=False, server_default="0"),
    Column("last_run_id", String(64)),
    Column("updated_at", Timestamp, nullable=False),
)

# Deletes seen in the feed: `chunk_id` '' = the whole document. A replayed older page cannot bring a
# deleted chunk back (an upsert older than its tombstone is skipped), and the consistency check knows
# which documents must have no points.
rag_tombstone = Table(
    "rag_tombstone",
    metadata,
    Column("document_id", String(500), primary_key=True),
    Column("chunk_id", String(500), primary_key=True),
    Column("deleted_ts", Float, nullable=False),  # the delete item's updated_at, epoch seconds
    Column("recorded_at", Timestamp, nullable=False),
)

# Items the sync could not use, with the reason; the cursor passes them only once they are recorded here.
rag_rejected_item = Table(
    "rag_rejected_item",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("collection", String(200), nullable=False),
    Column("since", Text, nullable=False),  # the cursor of the page that carried it (to fetch it again)
    Column("position", Integer, nullable=False),  # its index in that page
    Column("document_id", String(500)),
    Column("chunk_id", String(500)),
    Column("reason", String(100), nullable=False),
    Column("detail", Text, nullable=False),
    Column("item", JSON, nullable=False),  # the item as received (embedding left out)
    Column("recorded_at", Timestamp, nullable=False),
    UniqueConstraint("collection", "since", "position", "reason"),
    Index("ix_rag_rejected_item_recorded_at", "recorded_at"),
)
