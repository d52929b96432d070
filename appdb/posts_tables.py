"""The posts pipeline's own tables: tagging bookkeeping, the post–tag–channel graph, the cleanup checkpoint.

Registered on `appdb.base.metadata`; `appdb/schema.py` lists this module, so `init_schema` creates them.
"""

from pathlib import Path

from sqlalchemy import JSON, Column, Engine, ForeignKey, Index, String, Table

from appdb.base import Id, Timestamp, change_log_table, metadata
from appdb.engine import run_script

SQL_DIR = Path(__file__).resolve().parent / "sql"

# What each post was last tagged from: a post whose text hash and tagger are unchanged (and whose
# persisted tags still carry `tags_hash`) is not tagged again. Replaces seed 001's TTL-LRU cache and
# Redis dedup. Written in the same transaction as post_enrichment(kind='tags').
post_tag_state = Table(
    "post_tag_state",
    metadata,
    Column("post_id", Id, ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    Column("text_hash", String(64), nullable=False),
    Column("tagger", String(255), nullable=False),
    Column("tags_hash", String(64), nullable=False),
    Column("tagged_at", Timestamp, nullable=False),
)

# The graph (seed 001 kept it in Neo4j): post nodes with their channel, tag nodes, channel nodes and
# post-tag edges. Derived data rebuilt per day partition, so no foreign key to `post`: a deleted post
# leaves orphaned rows that cleanup_expired_posts_job removes.
post_graph_post = Table(
    "post_graph_post",
    metadata,
    Column("post_id", Id, primary_key=True, autoincrement=False),
    Column("channel", String(255), nullable=False),
    Column("day", String(10), nullable=False),  # the daily partition key (UTC date of posted_at)
    Column("expires_at", Timestamp, nullable=False),
    Index(None, "day"),
    Index(None, "expires_at"),
    Index(None, "channel"),
)

post_graph_tag = Table(
    "post_graph_tag",
    metadata,
    Column("tag", String(255), primary_key=True),
)

post_graph_channel = Table(
    "post_graph_channel",
    metadata,
    Column("channel", String(255), primary_key=True),
)

post_graph_edge = Table(
    "post_graph_edge",
    metadata,
    Column("post_id", Id, primary_key=True, autoincrement=False),
    Column("tag", String(255), primary_key=True),
    Index(None, "tag"),
)

# Progress of an interrupted cleanup: the next run resumes with the same cutoff, phase and position.
post_cleanup_checkpoint = Table(
    "post_cleanup_checkpoint",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("cutoff", Timestamp, nullable=False),
    Column("phase", String(32), nullable=False),
    Column("position", String(255)),
    Column("deleted", JSON, nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# Change capture for new_posts_sensor, the same way as product_change (appdb/changes.py): triggers
# (appdb/sql/post_change.<dialect>.sql) log every insert, content update and delete of a post with
# the UTC day it belongs to; a post moved to another day also logs a 'D' for its old day.
post_change = change_log_table(
    "post_change",
    Column("post_id", Id, nullable=False),
    Column("day", String(10), nullable=False),
)

POST_CHANGE_SCRIPTS = {
    "postgresql": SQL_DIR / "post_change.postgresql.sql",
    "sqlite": SQL_DIR / "post_change.sqlite.sql",
}


def install_triggers(engine: Engine) -> None:
    """(Re)create the post capture triggers; idempotent. The table must exist."""
    run_script(engine, POST_CHANGE_SCRIPTS[engine.dialect.name].read_text())
