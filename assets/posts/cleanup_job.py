"""cleanup_expired_posts_job: expired post points out of Qdrant, orphaned graph rows out of the database."""

from typing import Optional

import dagster as dg
from pydantic import Field

from assets.posts.cleanup import PHASES, ExpiredPostsCleanup
from resources.database import DatabaseResource
from resources.posts import PostsSettings
from resources.vectors import VectorStoreResource

CLEANUP_EXPIRED_POSTS_JOB = "cleanup_expired_posts_job"


class ExpiredPostsCleanupConfig(dg.Config):
    batch: Optional[int] = Field(default=None, description="Points/rows per batch (one checkpoint each); empty = POSTS_CLEANUP_BATCH.")
    dry_run: bool = Field(default=False, description="Only count what would be removed (no checkpoint is written).")


def build_cleanup_job(pool: str | None) -> dg.JobDefinition:
    @dg.op(
        name="cleanup_expired_posts_op",
        description="Remove post points whose expires_at passed, then graph rows of expired or deleted posts and "
        "tag/channel nodes no post uses; in batches, resuming an interrupted run from its checkpoint.",
        out=dg.Out(dg.Nothing),
        pool=pool,
    )
    def cleanup_expired_posts_op(
        context: dg.OpExecutionContext,
        config: ExpiredPostsCleanupConfig,
        database: DatabaseResource,
        vectors: VectorStoreResource,
        posts: PostsSettings,
    ) -> None:
        cleanup = ExpiredPostsCleanup(
            database.engine, vectors.client, posts.collection,
            batch=config.batch or posts.cleanup_batch, dry_run=config.dry_run,
            after_batch=lambda phase, n: context.log.debug(f"{phase}: batch of {n} done"),
        )
        report = cleanup.run()
        verb = "would remove" if config.dry_run else "removed"
        context.log.info(
            f"cutoff {report.cutoff.isoformat()}: {verb} "
            + ", ".join(f"{report.deleted[phase]} {phase}" for phase in PHASES)
            + (f" (resumed from {report.resumed_from})" if report.resumed_from else "")
        )
        context.add_output_metadata(
            {
                "dry_run": config.dry_run,
                "cutoff": report.cutoff.isoformat(),
                "collection": posts.collection,
                "resumed_from": report.resumed_from or "none (fresh run)",
                **{f"{'would_remove' if config.dry_run else 'removed'}_{phase}": report.deleted[phase] for phase in PHASES},
                "batches": report.batches,
                "duration_seconds": round(report.duration_s, 3),
            }
        )

    @dg.job(
        name=CLEANUP_EXPIRED_POSTS_JOB,
        description="Daily: remove expired post vectors from Qdrant and orphaned post graph rows, in checkpointed "
        "batches (an interrupted run resumes where it stopped). Replaces seed 001's cleanup_task.",
        tags={"dagster/max_runtime": 2 * 60 * 60},
    )
    def cleanup_expired_posts_job():
        cleanup_expired_posts_op()

    return cleanup_expired_posts_job
