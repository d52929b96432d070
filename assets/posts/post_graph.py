"""`post_graph`: post–tag–channel relations of the day in SQL (seed 001 kept them in Neo4j)."""

import warnings

import dagster as dg

from assets.posts.graph import rebuild_graph
from assets.posts.metadata import days_label
from assets.posts.partitioning import window_of
from orchestration.partitions import POSTS_PARTITIONS
from resources.database import DatabaseResource
from resources.posts import PostsSettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # backfill_policy still says beta in 1.13

    @dg.asset(
        name="post_graph",
        group_name="posts",
        partitions_def=POSTS_PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=["post_tags"],
        kinds={"sql"},
        description=(
            "The graph of the day's live posts: post nodes with their channel, tag and channel nodes, post-tag "
            "edges (tables post_graph_*), rebuilt from the persisted tags in one transaction; `platformctl tags "
            "related <tag>` queries it. Replaces seed 001's indexing_task (Neo4j part)."
        ),
        metadata={"dagster/table_name": "post_graph_edge"},
    )
    def post_graph(context: dg.AssetExecutionContext, database: DatabaseResource, posts: PostsSettings) -> dg.MaterializeResult:
        start, end, days = window_of(context)
        report = rebuild_graph(database.engine, start, end, days, posts.ttl_days)
        context.log.info(
            f"{days_label(days)}: {report.posts} posts, {report.edges} edges (+{report.edges_added}/-{report.edges_removed}), "
            f"{report.expired_skipped} expired posts left out"
        )
        return dg.MaterializeResult(
            metadata={
                "days": days_label(days),
                "posts": report.posts,
                "edges": report.edges,
                "tags_distinct": report.tags_distinct,
                "channels_distinct": report.channels_distinct,
                "posts_added": report.posts_added,
                "posts_removed": report.posts_removed,
                "edges_added": report.edges_added,
                "edges_removed": report.edges_removed,
                "posts_expired": report.expired_skipped,
                "changed": report.changed,
            }
        )
