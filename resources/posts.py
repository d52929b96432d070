"""Deployment defaults of the posts pipeline (collection, TTL, cleanup batch), visible in the UI as resource config.
Defaults and descriptions come from the settings registry (orchestration.settings.VARIABLES)."""

import dagster as dg

from orchestration.settings import setting_field


class PostsSettings(dg.ConfigurableResource):
    collection: str = setting_field("POSTS_COLLECTION")
    ttl_days: int = setting_field("POST_TTL_DAYS", int)
    cleanup_batch: int = setting_field("POSTS_CLEANUP_BATCH", int)
