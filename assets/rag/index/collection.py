"""The `rag_chunks` collection behind its alias: searches and incremental syncs use the alias
(RAG_COLLECTION); a full sync builds a new physical collection `<alias>_v<UTC stamp>` and swaps the
alias in one atomic call, so searches keep working throughout."""

from __future__ import annotations

import re
import time
from typing import Any, Callable

VECTOR = "text"
PAYLOAD_INDEXES = {"document_id": "keyword", "updated_ts": "float"}


def physical_name(alias: str) -> str:
    return f"{alias}_v{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{int(time.time() * 1000) % 1000:03d}"


def alias_target(client: Any, alias: str) -> str | None:
    """The collection the alias points to; the alias name itself when it is a plain collection; None."""
    for description in client.get_aliases().aliases:
        if description.alias_name == alias:
            return description.collection_name
    return alias if client.collection_exists(alias) else None


def create_physical(client: Any, name: str, dimension: int, *, server: bool) -> None:
    from qdrant_client import models

    client.create_collection(
        name, vectors_config={VECTOR: models.VectorParams(size=dimension, distance=models.Distance.COSINE)}
    )
    if server:  # local mode ignores payload indexes (and warns about them)
        for field, schema in PAYLOAD_INDEXES.items():
            client.create_payload_index(name, field_name=field, field_schema=models.PayloadSchemaType(schema))


def point_alias(client: Any, alias: str, target: str) -> str | None:
    """Make `alias` point to `target` atomically; return the collection it pointed to before. A plain
    collection that has the alias's name must be removed first (only then is there a short gap)."""
    from qdrant_client import models

    before = alias_target(client, alias)
    operations = []
    if before == alias:
        client.delete_collection(alias)
        before = None
    elif before is not None:
        operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    operations.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=target, alias_name=alias)))
    client.update_collection_aliases(change_aliases_operations=operations)
    return before


def ensure_index(client: Any, alias: str, dimension: Callable[[], int], *, server: bool) -> int:
    """The alias's vector size; a first sync creates the physical collection and the alias."""
    if client.collection_exists(alias):
        return vector_size(client, alias)
    target = physical_name(alias)
    create_physical(client, target, dimension(), server=server)
    point_alias(client, alias, target)
    return vector_size(client, alias)


def vector_size(client: Any, name: str) -> int:
    vectors = client.get_collection(name).config.params.vectors
    if not isinstance(vectors, dict) or VECTOR not in vectors:
        raise ValueError(f"Qdrant collection {name!r} has no {VECTOR!r} vector: not a rag_chunks collection")
    return int(vectors[VECTOR].size)


def stale_generations(client: Any, alias: str, keep: set[str]) -> list[str]:
    """Physical collections of this alias (`<alias>_v<digits>`) other than `keep`."""
    pattern = re.compile(re.escape(alias) + r"_v\d+$")
    return [c.name for c in client.get_collections().collections if pattern.fullmatch(c.name) and c.name not in keep]


def document_filter(document_id: str, *, up_to_ts: float | None = None):
    from qdrant_client import models

    must = [models.FieldCondition(key="document_id", match=models.MatchValue(value=document_id))]
    if up_to_ts is not None:
        must.append(models.FieldCondition(key="updated_ts", range=models.Range(lte=up_to_ts)))
    return models.Filter(must=must)


def count_document(client: Any, collection: str, document_id: str, *, up_to_ts: float | None = None) -> int:
    return client.count(collection, count_filter=document_filter(document_id, up_to_ts=up_to_ts), exact=True).count
