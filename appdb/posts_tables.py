"""The posts pipeline's own tables: tagging bookkeeping, the post–tag–channel graph, the cleanup checkpoint.

Registered on `appdb.tables.metadata` (imported there), so `init_schema` creates them everywhere.
"""

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table

from appdb.tables import Id, Timestamp, metadata

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
