"""Questions against the knowledge index: the best documents, one hit per document (its best chunk)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from assets.assistant.index import TEXT


class QueryEmbedder(Protocol):
    def encode_queries(self, texts: list[str]) -> Any: ...


@dataclass
class Hit:
    entity_type: str
    entity_id: int
    title: str
    score: float
    doc_key: str
    text: str

    def as_json(self) -> dict:
        return asdict(self)


def search(client: Any, alias: str, embedder: QueryEmbedder, question: str, limit: int = 5) -> list[Hit]:
    [vector] = embedder.encode_queries([question])
    # Several chunks of one long document may rank high: ask for more, keep each document's best.
    points = client.query_points(alias, query=vector.tolist(), using=TEXT, limit=max(limit * 4, limit), with_payload=True).points
    hits: dict[str, Hit] = {}
    for point in points:
        payload = point.payload or {}
        key = str(payload.get("doc_key"))
        if key not in hits:
            hits[key] = Hit(
                entity_type=str(payload.get("entity_type")), entity_id=int(payload.get("entity_id", 0)),
                title=str(payload.get("title", "")), score=float(point.score), doc_key=key, text=str(payload.get("text", "")),
            )
    return sorted(hits.values(), key=lambda hit: -hit.score)[:limit]
