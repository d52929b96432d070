"""`product_vectors`: text and image vectors of every available product in Qdrant, per shard, and the
`vector_coverage` check that proves the collection matches the catalog."""

import warnings
from datetime import timedelta

import dagster as dg

from appdb.changes import product_change
from assets.metadata import change_log_point_md
from assets.recsys import checks
from assets.recsys.cache_invalidation import invalidate_owed, mark_dirty, owe
from assets.recsys.config import ProductVectorsConfig
from assets.recsys.coverage import shard_coverage
from assets.recsys.images import MediaIndex
from assets.recsys.metadata import sync_metadata
from assets.recsys.points import IMAGE, TEXT
from assets.recsys.vector_sync import SyncOptions, VectorSync
from orchestration.partitions import shard_index, vector_shard_partitions
from resources.cache import CacheResource
from resources.database import DatabaseResource
from resources.embedders import ImageEmbedderResource, TextEmbedderResource
from resources.media import MediaResource
from resources.recsys import RecsysSettings
from resources.vectors import VectorStoreResource, ensure_collection

PAYLOAD_INDEXES = {"shard": "integer", "is_available": "bool", "category_id": "integer"}


def build_product_vectors(shards: int, pool: str | None) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """The asset and its check for `shards` static partitions; `pool` serializes runs (see policies)."""
    partitions = vector_shard_partitions(shards)
    with warnings.catch_warnings():
        # backfill_policy still says beta in 1.13; partitioned checks are preview (pinned dagster version).
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)

        @dg.asset(
            name="product_vectors",
            group_name="recsys",
            partitions_def=partitions,
            # A backfill of many shards is one run: the models load once, and the CLI's
            # `--partition-range` works. The price: one failing shard fails the run (re-runs are cheap:
            # finished shards are unchanged and skipped).
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool=pool,
            kinds={"qdrant", "pytorch"},
            description=(
                "One Qdrant point per available, non-merged product with a `text` vector (SentenceTransformer "
                "over title, brand, category, description) and an `image` vector (OpenCLIP over the product "
                "image); partitioned by product-id shard; only changed vectors are re-embedded. Replaces "
                "seed 000's sync_product_vectors / index_product_vectors / clear_similar_cache."
            ),
            # The full reconciliation runs every 3 days; later than 4 days means it has stopped.
            freshness_policy=dg.FreshnessPolicy.time_window(
                fail_window=timedelta(days=4), warn_window=timedelta(days=3, hours=6)
            ),
        )
        def product_vectors(
            context: dg.AssetExecutionContext,
            config: ProductVectorsConfig,
            database: DatabaseResource,
            media: MediaResource,
            text_embedder: TextEmbedderResource,
            image_embedder: ImageEmbedderResource,
            vectors: VectorStoreResource,
            cache: CacheResource,
            recsys: RecsysSettings,
        ) -> dg.MaterializeResult:
            engine = database.engine
            point = change_log_point_md(engine, product_change)  # before reading any product

            def before_first_write(client) -> None:
                ensure_collection(
                    client, recsys.collection,
                    {TEXT: text_embedder, IMAGE: image_embedder},
                    payload_indexes=None if vectors.is_embedded else PAYLOAD_INDEXES,
                )
                if config.force:
                    mark_dirty(engine, recsys.collection)  # a full re-index: the whole cache pattern goes

            sync = VectorSync(
                engine, media.store(), text_embedder, image_embedder, vectors, recsys.collection, shards,
                SyncOptions(
                    force=config.force,
                    product_ids=sorted(set(config.product_ids) | set(config.changed_ids)) or None,
                    pin_ids=config.product_ids or None,
                    text_batch_size=config.text_batch_size,
                    image_batch_size=config.image_batch_size,
                    upsert_batch_size=config.upsert_batch_size,
                ),
                before_first_write=before_first_write,
                # The changed products' cache keys are owed before their points change (crash-safe).
                before_write=lambda ids: owe(engine, recsys.collection, ids),
                log=context.log.debug,
            )
            report = sync.run([shard_index(key) for key in context.partition_keys])
            try:
                invalidation = invalidate_owed(engine, cache, recsys.collection, recsys.similar_cache_pattern)
            except Exception as exc:  # noqa: BLE001 - the vectors are written; say what is left to do
                raise dg.Failure(
                    description=(
                        f"vectors written ({report.points_changed} points changed), but invalidating "
                        f"{recsys.similar_cache_pattern} in Redis failed: {exc.__class__.__name__}: {exc}. "
                        "The next run of product_vectors retries the invalidation."
                    )
                ) from exc
            context.log.info(
                f"shards {report.shards}: {report.text_embedded} texts and {report.image_embedded} images embedded, "
                f"{report.points_created} points created, {report.points_updated} updated, "
                f"{report.deleted.total()} deleted, {report.unchanged} unchanged; cache: {invalidation.summary}"
            )
            return dg.MaterializeResult(
                metadata={**sync_metadata(report, image_embedder, vectors, recsys.collection, invalidation), **point}
            )

        @dg.asset_check(
            asset=product_vectors,
            name=checks.VECTOR_COVERAGE,
            partitions_def=partitions,
            pool=pool,
            description=(
                "Every product that should have a point has one built from its current text, payload and "
                "image, and no point exists that should not (missing, stale, extra with example ids). "
                "Re-materializing the shard heals it."
            ),
        )
        def vector_coverage(
            context: dg.AssetCheckExecutionContext,
            database: DatabaseResource,
            media: MediaResource,
            text_embedder: TextEmbedderResource,
            image_embedder: ImageEmbedderResource,
            vectors: VectorStoreResource,
            recsys: RecsysSettings,
        ):
            index = MediaIndex(media.store())
            results = {}
            with vectors.client() as client:
                for key in context.partition_keys:
                    coverage = shard_coverage(
                        database.engine, client, recsys.collection, index, shards, shard_index(key),
                        text_embedder.model_name, image_embedder.model_name,
                    )
                    results[key] = dg.AssetCheckResult(passed=coverage.passed, metadata=coverage.metadata())
            if context.op_execution_context.has_partition_key:
                return results[context.partition_key]
            # A run over a range of shards: one evaluation per shard, so each partition shows its own
            # result (a returned result would be recorded against no partition).
            for key, result in results.items():
                context.op_execution_context.log_event(
                    dg.AssetCheckEvaluation(
                        asset_key=product_vectors.key, check_name=checks.VECTOR_COVERAGE, passed=result.passed,
                        metadata=result.metadata, partition=key,
                    )
                )
            return dg.Output(None)

    return product_vectors, vector_coverage
