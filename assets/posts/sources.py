"""The source the posts pipeline reads: the `post` table, written by the channel ingest (not by Dagster)."""

import dagster as dg

POSTS_SOURCE = dg.AssetSpec(
    key="posts",
    group_name="posts",
    kinds={"sql"},
    description="Posts of the watched channels (table post: channel, text, posted_at), written by the ingest "
    "service; the start of seed 001's posts.parsed stream.",
    metadata={"dagster/table_name": "post"},
)
