"""`rag_chunks`: the Qdrant collection of document chunks, synced incrementally from the ingest cursor,
and its check `rag_index_consistent`."""

import time
from datetime import timedelta

import dagster as dg

from assets.rag.index.metadata import sync_metadata
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.ingest import IngestError, IngestKeyRefused, IngestNotConfigured, IngestResource, IngestSource
from resources.rag_index import RagIndexSettings
from resources.vectors import VectorStoreResource

RAG_CHUNKS = "rag_chunks"
RAG_INDEX_CONSISTENT = "rag_index_consistent"
# Seed 004's sync_embeddings_task: 3 retries with exponential backoff (the client retries each request
# too; these cover a whole failed step, e.g. Qdrant restarting). A refused key is never retried.
SYNC_RETRY = dg.RetryPolicy(max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def ingest_failure(exc: IngestError, cursor: str, pages: int) -> dg.Failure:
    return dg.Failure(
        description=f"{exc} (the cursor is at {cursor or '(beginning)'!r} after {pages} page(s) written by this step)",
        allow_retries=not isinstance(exc, (IngestKeyRefused, IngestNotConfigured)),
    )


def configured_source(ingest: IngestResource) -> IngestSource:
    """The ingest source, or a failure that no step retry repeats (INGEST_URL unset or malformed)."""
    try:
        return ingest.source()
    except IngestNotConfigured as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def build_rag_chunks(pool: str | None) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    @dg.asset(
        name=RAG_CHUNKS,
        group_name="rag",
        kinds={"qdrant"},
        pool=pool,
        retry_policy=SYNC_RETRY,
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=30), warn_window=timedelta(minutes=10)),
        description=(
            "The RAG core's document chunks in Qdrant (alias RAG_COLLECTION): one point per live chunk, id UUID5 of "
            "(document_id, chunk_id), payload document_id, chunk_id, metadata, updated_at, text; synced from the ingest "
            "system's cursor (advanced only after each written page), deletes of chunks and whole documents applied. "
            "Replaces seed 004's sync_embeddings_task and process_sync_queue."
        ),
    )
    def rag_chunks(
        context: dg.AssetExecutionContext,
        rag_database: DatabaseResource,
        ingest: IngestResource,
        vectors: VectorStoreResource,
        text_embedder: TextEmbedderResource,
        rag_index: RagIndexSettings,
    ) -> dg.MaterializeResult:
        from assets.rag.index.collection import alias_target, ensure_index
        from assets.rag.index.store import read_cursor
        from assets.rag.index.sync import ChunkSync

        engine, alias, source = rag_database.engine, rag_index.collection, configured_source(ingest)
        started = time.perf_counter()
        progress = {"pages": 0}

        def on_page(report) -> None:
            progress["pages"] = report.pages
            if report.pages % 20 == 0:
                context.log.info(f"{report.pages} pages, {report.items} items, cursor {report.cursor_after!r}")

        with vectors.client() as client:
            dimension = ensure_index(client, alias, lambda: text_embedder.dimension, server=not vectors.is_embedded)
            since = read_cursor(engine, alias)
            sync = ChunkSync(
                engine, source, client, text_embedder, collection=alias, dimension=dimension, cursor_key=alias,
                rejections_key=alias, batch=ingest.batch, run_id=context.run_id, on_page=on_page,
            )
            try:
                report = sync.run(since)
            except IngestError as exc:
                raise ingest_failure(exc, read_cursor(engine, alias), progress["pages"]) from exc
            points = client.count(alias, exact=True).count
            physical = alias_target(client, alias)
        duration = time.perf_counter() - started
        context.log.info(
            f"{report.pages} pages, {report.items} items: {report.points_written} points written "
            f"({report.from_item} vectors from the items, "
            f"{report.embedded} embedded), {report.unchanged} unchanged, {report.document_deletes} document and "
            f"{report.chunk_deletes} chunk deletes, {sum(report.rejected.values())} rejected; cursor {report.cursor_after!r}"
        )
        return dg.MaterializeResult(
            metadata={
                "collection": alias,
                "physical_collection": physical or "",
                "qdrant": vectors.location,
                "ingest": source.location,
                "model": text_embedder.model_name,
                "dimension": dimension,
                "points_total": points,
                **sync_metadata(report, duration),
            }
        )

    @dg.asset_check(
        asset=rag_chunks,
        name=RAG_INDEX_CONSISTENT,
        pool=pool,
        blocking=False,
        description=(
            "Points per document match the ingest system's listing for a sample of documents, and no point belongs to "
            "a deleted document (deleted in the feed or by rag_delete_document_job). WARN instead of ERROR for count "
            "mismatches while the ingest has items the sync has not read yet (lag, not loss)."
        ),
    )
    def rag_index_consistent(
        rag_database: DatabaseResource, ingest: IngestResource, vectors: VectorStoreResource, rag_index: RagIndexSettings
    ) -> dg.AssetCheckResult:
        from assets.rag.index.collection import vector_size
        from assets.rag.index.consistency import check_consistency

        with vectors.client() as client:
            if not client.collection_exists(rag_index.collection):
                return dg.AssetCheckResult(passed=False, metadata={"reason": f"no collection {rag_index.collection!r} yet"})
            result = check_consistency(
                rag_database.engine, configured_source(ingest), client, collection=rag_index.collection,
                dimension=vector_size(client, rag_index.collection), batch=ingest.batch,
            )
        lag_only = result.pending and not result.deleted_with_points
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity.WARN if lag_only else dg.AssetCheckSeverity.ERROR,
            metadata={
                "documents_sampled": result.sampled,
                "documents_mismatched": len(result.mismatched),
                "mismatches (points, live chunks)": dg.MetadataValue.json(
                    {d: list(c) for d, c in list(result.mismatched.items())[:20]}
                ),
                "deleted_documents_checked": result.deleted_checked,
                "deleted_documents_with_points": dg.MetadataValue.json(dict(list(result.deleted_with_points.items())[:20])),
                "ingest_has_unsynced_items": result.pending,
            },
        )

    return rag_chunks, rag_index_consistent
