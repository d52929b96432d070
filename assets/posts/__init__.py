"""Posts (seed 001): grounded tags, link enrichment, vectors with a TTL, the tag graph, expiry cleanup."""

from __future__ import annotations

import dagster as dg

from assets.posts.cleanup_job import build_cleanup_job
from assets.posts.post_graph import post_graph
from assets.posts.post_link_enrichments import post_link_enrichments
from assets.posts.post_tags import build_post_tags
from assets.posts.post_vectors import build_post_vectors
from assets.posts.schedules import build_posts_job, build_schedules
from assets.posts.sources import POSTS_SOURCE
from orchestration.policies import EMBEDDING_POOL, vector_pool


def build_defs(settings) -> dg.Definitions:
    qdrant_embedded = not settings.is_set("QDRANT_URL")
    # The local tagger loads the text model; the LLM tagger loads nothing.
    post_tags, tags_persisted = build_post_tags(EMBEDDING_POOL if settings.get("TAGGER").lower() == "local" else None)
    post_vectors = build_post_vectors(vector_pool(qdrant_embedded, embeds=True))
    cleanup_job = build_cleanup_job(vector_pool(qdrant_embedded, embeds=False))
    return dg.Definitions(
        assets=[POSTS_SOURCE, post_tags, post_link_enrichments, post_vectors, post_graph],
        asset_checks=[tags_persisted],
        jobs=[build_posts_job(), cleanup_job],
        schedules=build_schedules(cleanup_job, settings.get("SCHEDULE_TIMEZONE")),
    )
