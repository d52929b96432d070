"""`post_tags`: grounded tags of every post of the day in post_enrichment(kind='tags'), and the
`tags_persisted` check (seed 001's TaggingPipelineBroken alert)."""

import time
import warnings

import dagster as dg
from pydantic import Field

from appdb.posts_tables import post_change
from assets.posts import checks
from assets.metadata import change_log_point_md, timings_md
from assets.posts.metadata import days_label
from assets.posts.partitioning import day_window, window_of
from assets.posts.schedules import DAY_CLOSED_BY
from assets.posts.sources import POSTS_SOURCE
from assets.posts.tagging import tag_posts, unpersisted_tagged_posts
from orchestration.partitions import POSTS_PARTITIONS
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.llm import LLMResource
from resources.tagging import TaggerResource


class PostTagsConfig(dg.Config):
    force: bool = Field(default=False, description="Tag every post of the partition again, even unchanged ones.")


def build_post_tags(pool: str | None) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # backfill_policy still says beta in 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks are preview in 1.13

        @dg.asset(
            name="post_tags",
            group_name="posts",
            partitions_def=POSTS_PARTITIONS,
            # A backfill of many days is one run: the model loads once.
            backfill_policy=dg.BackfillPolicy.single_run(),
            deps=[POSTS_SOURCE],
            pool=pool,
            kinds={"python", "sql"},
            description=(
                "Tags of each post of the day, grounded in its text (every tag occurs in the post), normalized, "
                "sorted, at most TAGS_MAX, in post_enrichment(kind='tags'); written only when the tags hash "
                "changes, and only posts whose text changed are tagged again. TAGGER=local (extractive, no "
                "tokens) or llm. Replaces seed 001's tagging_task and tag_persistence_task."
            ),
            metadata={"dagster/table_name": "post_enrichment"},
            tags={"dagster/max_runtime": str(3 * 3600)},
            freshness_policy=DAY_CLOSED_BY,  # a day's posts are late when not closed by 02:00 UTC (schedules.py)
        )
        def post_tags(
            context: dg.AssetExecutionContext,
            config: PostTagsConfig,
            database: DatabaseResource,
            tagger: TaggerResource,
            text_embedder: TextEmbedderResource,
            llm: LLMResource,
        ) -> dg.MaterializeResult:
            start, end, days = window_of(context)
            point = change_log_point_md(database.engine, post_change)  # before reading any post
            started = time.perf_counter()
            report = tag_posts(
                database.engine, start, end, tagger.build(text_embedder, llm), tagger.max_tags,
                batch_size=tagger.batch_size, force=config.force, log=context.log.debug,
            )
            duration = time.perf_counter() - started
            failed = report.failed.total()
            context.log.info(
                f"{days_label(days)}: {report.posts} posts, {report.tagged} tagged, {report.unchanged} unchanged, "
                f"{failed} failed; rows {report.rows.inserted} inserted, {report.rows.updated} updated, "
                f"{report.rows.unchanged} unchanged; {report.rejected.total()} tags rejected"
            )
            if failed and not report.tagged:
                raise dg.Failure(
                    description=f"the tagger failed on all {failed} posts it was given: {dict(report.failed.counts)}",
                    metadata={"failed_by_reason": report.failed.markdown()},
                )
            return dg.MaterializeResult(
                metadata={
                    **point,
                    "days": days_label(days),
                    "tagger": report.tagger,
                    "posts": report.posts,
                    "posts_tagged": report.tagged,
                    "posts_unchanged": report.unchanged,
                    "posts_failed": failed,
                    "failed_by_reason": report.failed.markdown(),
                    "posts_without_tags": report.without_tags,
                    "tags_kept": report.tags_kept,
                    "tags_rejected": report.rejected.total(),
                    "rejected_by_reason": report.rejected.markdown(),
                    "tags_per_tagged_post": round(report.tags_kept / report.tagged, 2) if report.tagged else 0.0,
                    "rows_inserted": report.rows.inserted,
                    "rows_updated": report.rows.updated,
                    "rows_unchanged": report.rows.unchanged,
                    "llm_prompt_tokens": report.usage.get("prompt_tokens", 0),
                    "llm_completion_tokens": report.usage.get("completion_tokens", 0),
                    "timings": timings_md(report.timings, duration),
                    "posts_per_second": round(report.tagged / report.timings["tagging"], 1) if report.timings["tagging"] else 0.0,
                }
            )

        @dg.asset_check(
            asset=post_tags,
            name=checks.TAGS_PERSISTED,
            partitions_def=POSTS_PARTITIONS,
            description=(
                "Every post of the day that was tagged has its tags persisted, with the hash it was tagged with "
                "(seed 001's TaggingPipelineBroken alert). Re-materializing the partition heals it."
            ),
        )
        def tags_persisted(context: dg.AssetCheckExecutionContext, database: DatabaseResource):
            results = {}
            for key in context.partition_keys:
                count, examples = unpersisted_tagged_posts(database.engine, *day_window(key))
                results[key] = dg.AssetCheckResult(
                    passed=count == 0,
                    metadata={"tagged_without_persisted_tags": count, "example_post_ids": ", ".join(map(str, examples)) or "none"},
                )
            if context.op_execution_context.has_partition_key:
                return results[context.partition_key]
            # A range run: one evaluation per day, so each partition shows its own result.
            for key, result in results.items():
                context.op_execution_context.log_event(
                    dg.AssetCheckEvaluation(
                        asset_key=post_tags.key, check_name=checks.TAGS_PERSISTED, passed=result.passed,
                        metadata=result.metadata, partition=key,
                    )
                )
            return dg.Output(None)

    return post_tags, tags_persisted
