"""Nearest available products to a product, by its text vector, its image vector or both (fused by
reciprocal rank). The same calls work on local-mode Qdrant and on a server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assets.recsys.points import IMAGE, TEXT, product_point_id

BY_CHOICES = ("text", "image", "both")


class NoVectorError(LookupError):
    """The product has no point (or not the vector asked for)."""


@dataclass(frozen=True)
class Neighbor:
    product_id: int
    score: float
    payload: dict


@dataclass
class SimilarResult:
    product_id: int
    by: str  # what was actually used
    neighbors: list[Neighbor]
    notes: list[str] = field(default_factory=list)


def find_similar(client: Any, collection: str, product_id: int, by: str = "both", limit: int = 10) -> SimilarResult:
    from qdrant_client import models

    if by not in BY_CHOICES:
        raise ValueError(f"--by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    if not client.collection_exists(collection):
        raise NoVectorError(f"Qdrant collection {collection!r} does not exist: materialize product_vectors first")
    point_id = product_point_id(product_id)
    found = client.retrieve(collection, ids=[point_id], with_vectors=True, with_payload=False)
    if not found:
        raise NoVectorError(
            f"product {product_id} has no point in {collection!r} (unavailable, merged, without text, or its "
            "shard not materialized yet)"
        )
    vectors = found[0].vector or {}
    notes: list[str] = []
    if by in ("image", "both") and IMAGE not in vectors:
        if by == "image":
            raise NoVectorError(f"product {product_id} has no image vector (missing or unreadable image)")
        notes.append(f"product {product_id} has no image vector: text only")
        by = "text"
    candidates = models.Filter(
        must=[models.FieldCondition(key="is_available", match=models.MatchValue(value=True))],
        must_not=[models.HasIdCondition(has_id=[point_id])],
    )
    if by == "both":
        response = client.query_points(
            collection,
            prefetch=[
                models.Prefetch(query=vectors[TEXT], using=TEXT, filter=candidates, limit=limit * 4),
                models.Prefetch(query=vectors[IMAGE], using=IMAGE, filter=candidates, limit=limit * 4),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=limit,
            with_payload=True,
        )
    else:
        name = TEXT if by == "text" else IMAGE
        response = client.query_points(
            collection, query=vectors[name], using=name, query_filter=candidates, limit=limit, with_payload=True
        )
    neighbors = [
        Neighbor(int(point.payload["product_id"]), float(point.score), point.payload) for point in response.points
    ]
    return SimilarResult(product_id, by, neighbors, notes)
