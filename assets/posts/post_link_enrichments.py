"""`post_link_enrichments`: title and main text of the pages linked from each post of the day."""

import time
import warnings

import dagster as dg
from pydantic import Field

from assets.posts.links import enrich_links
from assets.metadata import timings_md
from assets.posts.metadata import days_label
from assets.posts.partitioning import window_of
from assets.posts.schedules import DAY_CLOSED_BY
from assets.posts.sources import POSTS_SOURCE
from orchestration.partitions import POSTS_PARTITIONS
from resources.database import DatabaseResource
from resources.web import WebFetcherResource


class PostLinkEnrichmentsConfig(dg.Config):
    refetch: bool = Field(default=False, description="Fetch every link again, also of posts whose links did not change.")


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # backfill_policy still says beta in 1.13

    @dg.asset(
        name="post_link_enrichments",
        group_name="posts",
        partitions_def=POSTS_PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[POSTS_SOURCE],
        kinds={"python", "sql"},
        description=(
            "For each post of the day with links: title and main text of every linked page (trafilatura), or why "
            "it could not be had, in post_enrichment(kind='crawl'). Links are fetched safely: http/https on "
            "allowed ports only, public addresses only (no loopback, private, link-local, metadata service), "
            "redirects re-checked, size and time capped; each URL once per run. Replaces seed 001's enrichment_task."
        ),
        metadata={"dagster/table_name": "post_enrichment"},
        tags={"dagster/max_runtime": str(3 * 3600)},
        freshness_policy=DAY_CLOSED_BY,  # a day's posts are late when not closed by 02:00 UTC (schedules.py)
    )
    def post_link_enrichments(
        context: dg.AssetExecutionContext,
        config: PostLinkEnrichmentsConfig,
        database: DatabaseResource,
        web: WebFetcherResource,
    ) -> dg.MaterializeResult:
        start, end, days = window_of(context)
        started = time.perf_counter()
        report = enrich_links(database.engine, start, end, web.fetcher(), concurrency=web.concurrency, refetch=config.refetch)
        duration = time.perf_counter() - started
        context.log.info(
            f"{days_label(days)}: {report.posts_crawled} posts crawled ({report.posts_unchanged} unchanged), "
            f"{report.urls_distinct} distinct URLs: {report.urls_ok} read, {report.failures.total()} failed"
        )
        return dg.MaterializeResult(
            metadata={
                "days": days_label(days),
                "posts": report.posts,
                "posts_with_links": report.posts_with_links,
                "posts_crawled": report.posts_crawled,
                "posts_unchanged": report.posts_unchanged,
                "urls_distinct": report.urls_distinct,
                "urls_shared_by_posts": report.urls_shared,
                "urls_read": report.urls_ok,
                "urls_failed": report.failures.total(),
                "failed_by_reason": report.failures.markdown(),
                "links_over_limit": report.links_over_limit,
                "bytes_read": report.bytes_read,
                "rows_inserted": report.rows.inserted,
                "rows_updated": report.rows.updated,
                "rows_unchanged": report.rows.unchanged,
                "rows_deleted": report.rows.deleted,
                "timings": timings_md(report.timings, duration),
            }
        )
