"""`post_vectors`: a text vector of each live post (with its tags) in the Qdrant `posts` collection."""

import time
import warnings

import dagster as dg
from pydantic import Field

from assets.metadata import timings_md
from assets.posts.metadata import days_label
from assets.posts.partitioning import window_of
from assets.posts.vectors import PAYLOAD_INDEXES, TEXT, PostVectorSync
from orchestration.partitions import POSTS_PARTITIONS
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.posts import PostsSettings
from resources.vectors import VectorStoreResource, ensure_collection


class PostVectorsConfig(dg.Config):
    force: bool = Field(default=False, description="Embed and write every post of the partition again, even unchanged ones.")


def build_post_vectors(pool: str | None) -> dg.AssetsDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # backfill_policy still says beta in 1.13

        @dg.asset(
            name="post_vectors",
            group_name="posts",
            partitions_def=POSTS_PARTITIONS,
            backfill_policy=dg.BackfillPolicy.single_run(),
            deps=["post_tags", "post_link_enrichments"],
            pool=pool,
            kinds={"qdrant", "pytorch"},
            description=(
                "One point per live post of the day in the Qdrant collection POSTS_COLLECTION: a text vector of "
                "the post with its tags and the main text of its fetched links (at most 1,000 characters per page, "
                "3,000 in all), payload channel, posted_at, tags, links and expires_at (posted_at + "
                "POST_TTL_DAYS); deterministic ids, only changed posts (text, tags or linked pages) embedded "
                "again, expired or deleted posts' points removed. Replaces seed 001's indexing_task (Qdrant part)."
            ),
            tags={"dagster/max_runtime": str(3 * 3600)},
        )
        def post_vectors(
            context: dg.AssetExecutionContext,
            config: PostVectorsConfig,
            database: DatabaseResource,
            text_embedder: TextEmbedderResource,
            vectors: VectorStoreResource,
            posts: PostsSettings,
        ) -> dg.MaterializeResult:
            start, end, days = window_of(context)

            def ensure(client) -> None:
                ensure_collection(
                    client, posts.collection, {TEXT: text_embedder.dimension},
                    payload_indexes=None if vectors.is_embedded else PAYLOAD_INDEXES,
                )

            started = time.perf_counter()
            with vectors.client() as client:
                report = PostVectorSync(
                    database.engine, client, posts.collection, text_embedder, posts.ttl_days,
                    ensure_collection=ensure, force=config.force,
                ).run(start, end, days)
            duration = time.perf_counter() - started
            context.log.info(
                f"{days_label(days)}: {report.posts} posts, {report.embedded} embedded ({report.created} new, "
                f"{report.updated} updated), {report.unchanged} unchanged, {report.expired_skipped} expired, "
                f"{report.deleted.total()} points deleted"
            )
            return dg.MaterializeResult(
                metadata={
                    "days": days_label(days),
                    "collection": posts.collection,
                    "qdrant": vectors.location,
                    "model": report.model,
                    "ttl_days": posts.ttl_days,
                    "posts": report.posts,
                    "embedded": report.embedded,
                    "points_created": report.created,
                    "points_updated": report.updated,
                    "points_unchanged": report.unchanged,
                    "posts_expired": report.expired_skipped,
                    "posts_without_tags": report.without_tags,
                    "posts_with_link_text": report.with_link_text,
                    "points_deleted": report.deleted.total(),
                    "deleted_by_reason": report.deleted.markdown(),
                    "timings": timings_md(report.timings, duration),
                }
            )

    return post_vectors
