"""Nearest chunks to a question, as the RAG core retrieves them (`platformctl rag search`, the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assets.rag.index.collection import VECTOR
from resources.language import normalize_text


@dataclass(frozen=True)
class Hit:
    score: float
    document_id: str
    chunk_id: str
    text: str
    metadata: dict


class NoIndexError(RuntimeError):
    """The collection does not exist yet."""


def search(client: Any, collection: str, embedder: Any, query: str, limit: int = 5) -> list[Hit]:
    if not client.collection_exists(collection):
        raise NoIndexError(f"Qdrant has no collection {collection!r} yet: materialize rag_chunks (or wait for rag_sync_sensor)")
    [vector] = embedder.encode_queries([normalize_text(query)])
    points = client.query_points(collection, query=vector.tolist(), using=VECTOR, limit=limit, with_payload=True).points
    return [
        Hit(float(p.score), p.payload.get("document_id", "?"), p.payload.get("chunk_id", "?"), p.payload.get("text", ""),
            p.payload.get("metadata") or {})
        for p in points
    ]
