"""The assistant part of `make demo`: seed the configurator catalog if it is empty, build the knowledge
index (assistant_index_job: render, index, coverage check), and ask it two questions."""

from __future__ import annotations

import dagster as dg

from assets.assistant.demo_catalog import seed_catalog
from assets.assistant.jobs import INDEX_JOB
from assets.assistant.search import search

QUESTIONS = (
    "Which motherboards are incompatible with the AMD Ryzen 9 7950X processor?",
    "Can I put the RTX 4080 Super in the compact mATX case?",
)


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()} if events else {}


def demo_assistant(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    database = defs.resources["assistant_database"].process_config_and_initialize()
    seeded = seed_catalog(database.engine)
    lines = [("seeded the demo catalog: " + ", ".join(f"{n} {what}" for what, n in seeded.items())) if seeded
             else "catalog already present (not seeded again)"]
    result = defs.resolve_job_def(INDEX_JOB).execute_in_process(instance=instance)
    documents, index = _metadata(result, "assistant_documents"), _metadata(result, "assistant_knowledge_index")
    [check] = result.get_asset_check_evaluations() or [None]
    lines += [
        f"assistant_documents: {documents.get('documents_rendered')} rendered ({documents.get('documents_created')} new, "
        f"{documents.get('documents_updated')} updated, {documents.get('documents_unchanged')} unchanged), "
        f"{documents.get('documents_with_problems')} with problems",
        f"assistant_knowledge_index ({index.get('mode')}): {index.get('documents_written')} documents embedded "
        f"({index.get('points_written')} points) into {index.get('collection')} behind alias {index.get('alias')!r}; "
        f"vector_coverage {'passed' if check and check.passed else 'FAILED'}",
    ]
    vectors = defs.resources["vectors"].process_config_and_initialize()
    embedder = defs.resources["text_embedder"].process_config_and_initialize()
    with vectors.client() as client:
        for question in QUESTIONS:
            lines.append(f"Q: {question}")
            for hit in search(client, index.get("alias"), embedder, question, limit=3):
                lines.append(f"   {hit.score:.3f} {hit.doc_key}: {hit.title}")
    return lines
