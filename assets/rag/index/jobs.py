"""The index's jobs: the incremental sync (what rag_sync_sensor launches), the full rebuild with an
alias swap, the delete of one document, and the consistency check on its own."""

import time

import dagster as dg
from pydantic import Field

from assets.rag.index.metadata import sync_metadata
from assets.rag.index.rag_chunks import RAG_CHUNKS, configured_source, ingest_failure
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.ingest import IngestError, IngestResource
from resources.rag_index import RagIndexSettings
from resources.vectors import VectorStoreResource

RAG_SYNC_JOB = "rag_sync_job"
RAG_FULL_SYNC_JOB = "rag_full_sync_job"
RAG_DELETE_DOCUMENT_JOB = "rag_delete_document_job"
RAG_INDEX_CHECK_JOB = "rag_index_check_job"
SYNC_JOBS = (RAG_SYNC_JOB, RAG_FULL_SYNC_JOB)


def build_sync_job():
    return dg.define_asset_job(
        RAG_SYNC_JOB,
        # The consistency check reads the whole ingest listing: it runs on its own schedule, not every sync.
        selection=dg.AssetSelection.assets(RAG_CHUNKS).without_checks(),
        description="Incremental sync of rag_chunks from the ingest cursor (launched by rag_sync_sensor).",
        tags={"dagster/max_runtime": "3600"},
    )


def build_check_job():
    return dg.define_asset_job(
        RAG_INDEX_CHECK_JOB,
        selection=dg.AssetSelection.checks_for_assets(RAG_CHUNKS),
        description="rag_index_consistent alone: rag_chunks against the ingest listing (hourly, rag_index_check_schedule).",
    )


def build_full_sync_job(pool: str | None) -> dg.JobDefinition:
    @dg.op(
        name="rag_full_sync",
        description="Rebuild rag_chunks from the beginning of the ingest feed into a new collection, verify the points "
        "against the listing (total and per document for a sample), swap the alias; the old collection serves "
        "searches until the swap.",
        out=dg.Out(dg.Nothing),
        pool=pool,
    )
    def rag_full_sync(
        context: dg.OpExecutionContext,
        rag_database: DatabaseResource,
        ingest: IngestResource,
        vectors: VectorStoreResource,
        text_embedder: TextEmbedderResource,
        rag_index: RagIndexSettings,
    ) -> None:
        from assets.rag.index.full_sync import full_sync

        started = time.perf_counter()
        pages = {"n": 0}

        def on_page(report) -> None:
            pages["n"] = report.pages
            if report.pages % 20 == 0:
                context.log.info(f"{report.pages} pages, {report.items} items read")

        with vectors.client() as client:
            try:
                result = full_sync(
                    rag_database.engine, configured_source(ingest), client, text_embedder, alias=rag_index.collection,
                    dimension=text_embedder.dimension, batch=ingest.batch, server=not vectors.is_embedded,
                    run_id=context.run_id, on_page=on_page,
                )
            except IngestError as exc:
                raise ingest_failure(exc, "(unchanged: the alias still serves the old collection)", pages["n"]) from exc
        metadata = {
            "collection": rag_index.collection,
            "physical_collection": result.collection,
            "previous_collection": result.previous or "none",
            "dropped_collections": ", ".join(result.dropped) or "none",
            "points_total": result.points,
            "live_chunks_in_listing": result.expected_points,
            "documents": result.documents,
            "documents_verified": result.sampled_documents,
            "model": text_embedder.model_name,
            **sync_metadata(result.sync, time.perf_counter() - started),
        }
        context.log.info(
            f"{result.collection}: {result.points} points = {result.expected_points} live chunks of {result.documents} "
            f"documents; alias {rag_index.collection!r} now points to it (was {result.previous})"
        )
        context.log_event(dg.AssetMaterialization(asset_key=RAG_CHUNKS, metadata=metadata))

    @dg.job(
        name=RAG_FULL_SYNC_JOB,
        description="Full rebuild of rag_chunks into a new collection with an alias swap (searches keep working). "
        "Replaces seed 004's trigger_full_sync_task (1 h limit, 1 retry).",
        tags={"dagster/max_runtime": "3600", "dagster/max_retries": "1", "dagster/retry_on_asset_or_op_failure": "true"},
    )
    def rag_full_sync_job():
        rag_full_sync()

    return rag_full_sync_job


class DeleteDocumentConfig(dg.Config):
    document_id: str = Field(description="The ingest system's document_id whose chunks are removed from rag_chunks.")


def build_delete_document_job(pool: str | None) -> dg.JobDefinition:
    @dg.op(
        name="rag_delete_document",
        description="Remove every point of one document from rag_chunks now and record the delete, so an older "
        "version replayed by the feed does not bring it back.",
        out=dg.Out(dg.Nothing),
        pool=pool,
        retry_policy=dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    )
    def rag_delete_document(
        context: dg.OpExecutionContext,
        config: DeleteDocumentConfig,
        rag_database: DatabaseResource,
        vectors: VectorStoreResource,
        rag_index: RagIndexSettings,
    ) -> None:
        from assets.rag.index.collection import count_document, document_filter
        from assets.rag.index.items import WHOLE_DOCUMENT
        from assets.rag.index.store import commit_tombstone

        document_id = config.document_id.strip()
        if not document_id:
            raise dg.Failure("document_id is empty", allow_retries=False)
        deleted_ts = time.time()
        with vectors.client() as client:
            if not client.collection_exists(rag_index.collection):
                raise dg.Failure(f"Qdrant has no collection {rag_index.collection!r}: nothing to delete from", allow_retries=False)
            from qdrant_client import models

            before = count_document(client, rag_index.collection, document_id)
            client.delete(rag_index.collection, points_selector=models.FilterSelector(filter=document_filter(document_id)))
            after = count_document(client, rag_index.collection, document_id)
        commit_tombstone(rag_database.engine, document_id, WHOLE_DOCUMENT, deleted_ts)
        context.log.info(f"document {document_id!r}: {before} points removed from {rag_index.collection!r}")
        context.add_output_metadata({"document_id": document_id, "points_removed": before - after, "points_left": after,
                                     "collection": rag_index.collection})

    @dg.job(
        name=RAG_DELETE_DOCUMENT_JOB,
        description="Remove one document's points from rag_chunks now (config: document_id). Replaces seed 004's "
        "delete_document_embeddings_task.",
        tags={"dagster/max_runtime": "600"},
    )
    def rag_delete_document_job():
        rag_delete_document()

    return rag_delete_document_job
