"""Deployment defaults of the posts pipeline (collection, TTL, cleanup batch), visible in the UI as resource config."""

import dagster as dg
from pydantic import Field


class PostsSettings(dg.ConfigurableResource):
    collection: str = Field(default="posts", description="POSTS_COLLECTION: Qdrant collection of the post vectors.")
    ttl_days: int = Field(default=30, description="POST_TTL_DAYS: a post's point expires this many days after posted_at.")
    cleanup_batch: int = Field(default=500, description="POSTS_CLEANUP_BATCH: points/rows removed per batch (one checkpoint each).")
