"""`assistant_knowledge_index`: the documents as vectors behind the Qdrant alias ASSISTANT_COLLECTION."""

import time
from datetime import timedelta
from typing import Iterator, Literal

import dagster as dg
from pydantic import Field

from assets.assistant.errors import retry_transport
from assets.assistant.index import PAYLOAD_INDEXES, TEXT, Coverage, KnowledgeIndex
from assets.metadata import md_list, timings_md
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.vectors import VectorStoreResource, ensure_collection

INDEX = dg.AssetKey("assistant_knowledge_index")
VECTOR_COVERAGE = "vector_coverage"
COVERAGE_CHECK = dg.AssetCheckKey(INDEX, VECTOR_COVERAGE)
RETRIES = 3


class IndexConfig(dg.Config):
    mode: Literal["incremental", "reconcile", "rebuild"] = Field(
        default="reconcile",
        description="incremental: only documents re-rendered since they were indexed (the sensor's runs); reconcile: "
        "compare every point with every document and heal missing, stale and extra points (nightly); rebuild: "
        "everything into a new collection, then switch the alias (assistant_rebuild_job).",
    )


def coverage_metadata(coverage: Coverage) -> dict:
    return {
        "documents": coverage.documents,
        "points": coverage.points,
        "missing": len(coverage.missing),
        "stale": len(coverage.stale),
        "extra": len(coverage.extra),
        "missing_documents": md_list(coverage.missing),
        "stale_documents": md_list(coverage.stale),
        "extra_documents": md_list(coverage.extra),
    }


def build_assistant_knowledge_index(*, collection: str, chunk_chars: int, retry_delay_s: float, pool: str | None) -> dg.AssetsDefinition:
    # A multi-asset of one: the only kind of asset that can leave its check out of a run (can_subset).
    @dg.multi_asset(
        name="assistant_knowledge_index",
        specs=[dg.AssetSpec(
            INDEX,
            group_name="assistant",
            deps=["assistant_documents"],
            kinds={"qdrant", "pytorch"},
            description=(
                f"The assistant's knowledge documents as text vectors behind the Qdrant alias {collection!r} "
                "(ASSISTANT_COLLECTION): uuid5 point ids per document chunk, payload entity type and id, title, "
                "updated_at; only documents whose hash changed are embedded; points of deleted or deactivated "
                "entities removed. A rebuild builds a new collection and switches the alias, so searches never "
                "stop. Replaces seed 002's update_ai_index / rebuild_ai_index / scheduled_index_refresh."
            ),
            freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)),
        )],
        check_specs=[dg.AssetCheckSpec(
            VECTOR_COVERAGE, asset=INDEX,
            description="Every active document has its points with its current hash and model, and no point "
            "belongs to a document that is gone (missing, stale, extra all zero): what the assistant answers from "
            "is what the catalog says.",
        )],
        pool=pool,
        can_subset=True,  # the sensor's runs leave the coverage check (a whole-collection scan) out
    )
    def assistant_knowledge_index(
        context: dg.AssetExecutionContext,
        config: IndexConfig,
        assistant_database: DatabaseResource,
        text_embedder: TextEmbedderResource,
        vectors: VectorStoreResource,
    ) -> Iterator:
        def ensure(client, name: str) -> None:
            ensure_collection(client, name, {TEXT: text_embedder.dimension},
                              payload_indexes=None if vectors.is_embedded else PAYLOAD_INDEXES)

        started = time.perf_counter()
        check_results = []
        try:
            with vectors.client() as client:
                index = KnowledgeIndex(assistant_database.engine, client, collection, text_embedder,
                                       chunk_chars=chunk_chars, ensure_collection=ensure)
                report = getattr(index, config.mode)()
                if COVERAGE_CHECK in context.selected_asset_check_keys:
                    check_started = time.perf_counter()
                    coverage = index.coverage()
                    report.timings["coverage_check"] += time.perf_counter() - check_started
                    check_results.append(dg.AssetCheckResult(
                        check_name=VECTOR_COVERAGE, passed=coverage.ok, metadata=coverage_metadata(coverage)))
        except Exception as exc:
            retry_transport(exc, f"Qdrant ({vectors.location}) or the text embedder ({text_embedder.model_name}) "
                                 "did not answer; the index keeps its last good state", RETRIES, retry_delay_s)
            raise
        drift = report.drift
        metadata = {
            "mode": report.mode,
            "alias": collection,
            "collection": report.collection,
            "qdrant": vectors.location,
            "model": text_embedder.model_name,
            "documents_written": report.documents_written,
            "points_written": report.points_written,
            "points_deleted": report.points_deleted,
            "documents_removed": report.documents_removed,
            "timings": timings_md(report.timings, time.perf_counter() - started),
        }
        if report.mode == "rebuild":
            metadata["previous_collection"] = report.previous_collection or "none"
            metadata["caught_up_during_rebuild"] = report.caught_up
        if drift is not None:
            metadata.update({"documents_unchanged": report.unchanged, "drift_missing": len(drift.missing),
                             "drift_stale": len(drift.stale), "drift_extra": len(drift.extra)})
        context.log.info(
            f"{report.mode} into {report.collection}: {report.documents_written} documents written "
            f"({report.points_written} points), {report.points_deleted} points deleted"
        )
        # Yielded, not returned: a multi-asset with a check has two outputs.
        yield dg.MaterializeResult(asset_key=INDEX, metadata=metadata)
        yield from check_results

    return assistant_knowledge_index
