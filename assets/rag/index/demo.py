"""The document-index part of `make demo`: sync the bundled Persian documents (INGEST_URL empty = the
file:// source) with rag_sync_job, then show what two Persian questions retrieve."""

from __future__ import annotations

import dagster as dg

from assets.rag.index.jobs import RAG_SYNC_JOB
from assets.rag.index.search import search

QUESTIONS = ("چطور گذرنامه‌ام را تمدید کنم؟", "مترو تا چه ساعتی کار می‌کند؟")


def demo_rag_index(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    result = defs.resolve_job_def(RAG_SYNC_JOB).execute_in_process(instance=instance)
    [event] = result.get_asset_materialization_events()
    m = {k: v.value for k, v in event.materialization.metadata.items()}
    lines = [
        f"rag_sync_job from {m['ingest']}: {m['items']} items in {m['pages']} pages -> {m['points_written']} points written "
        f"({m['vectors_embedded']} embedded with {m['model']}, {m['vectors_from_item']} from the items), "
        f"{m['unchanged']} unchanged, {m['document_deletes']} document deletes, {m['rejected']} rejected "
        f"({m['rejected_examples'].strip('- ') if m['rejected'] else 'none'}); '{m['collection']}' -> "
        f"{m['physical_collection']} holds {m['points_total']} points; cursor {m['cursor_after']}",
    ]
    resources = defs.resources
    vectors = resources["vectors"].process_config_and_initialize()
    embedder = resources["text_embedder"].process_config_and_initialize()
    collection = resources["rag_index"].process_config_and_initialize().collection
    with vectors.client() as client:
        for question in QUESTIONS:
            lines.append(f'platformctl rag search "{question}" --limit 3:')
            for hit in search(client, collection, embedder, question, limit=3):
                lines.append(f"    {hit.score:.3f}  {hit.document_id} ({hit.metadata.get('title', '')}): {hit.text[:70]}")
    return lines
