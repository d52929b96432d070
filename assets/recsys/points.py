"""The product points in Qdrant: what exists (with the hashes its vectors were built from) and the writes.

Each point carries, next to the business payload, the content hashes and model names of its vectors:
the collection describes itself, so a run (or the coverage check) can tell a current point from a
stale one without trusting any other bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from resources.vectors import point_id

POINT_KIND = "product"
TEXT = "text"
IMAGE = "image"
STATE_FIELDS = ["product_id", "text_hash", "image_hash", "text_model", "image_model", "payload_hash"]


def product_point_id(product_id: int) -> str:
    return point_id(POINT_KIND, product_id)


@dataclass(frozen=True)
class PointState:
    """What an existing point's vectors and payload were built from."""

    text_hash: str | None
    image_hash: str | None
    text_model: str | None
    image_model: str | None
    payload_hash: str | None


def _state(payload: dict) -> PointState:
    return PointState(
        payload.get("text_hash"),
        payload.get("image_hash"),
        payload.get("text_model"),
        payload.get("image_model"),
        payload.get("payload_hash"),
    )


def scan_shard(client: Any, collection: str, shards: int, shard: int, page: int = 1000) -> dict[int, PointState]:
    """Every point labelled with this shard, by product id (no vectors transferred)."""
    from qdrant_client import models

    if not client.collection_exists(collection):
        return {}
    found: dict[int, PointState] = {}
    offset = None
    condition = models.Filter(must=[models.FieldCondition(key="shard", match=models.MatchValue(value=shard))])
    while True:
        points, offset = client.scroll(
            collection, scroll_filter=condition, limit=page, offset=offset, with_payload=STATE_FIELDS, with_vectors=False
        )
        for point in points:
            pid = (point.payload or {}).get("product_id")
            # A point labelled with this shard under another VECTOR_SHARDS belongs to another shard now.
            if isinstance(pid, int) and pid % shards == shard:
                found[pid] = _state(point.payload)
        if offset is None:
            return found


def fetch(client: Any, collection: str, product_ids: Iterable[int], page: int = 1000) -> dict[int, PointState]:
    """The points of these products (those that exist)."""
    if not client.collection_exists(collection):
        return {}
    ids = list(product_ids)
    found: dict[int, PointState] = {}
    for start in range(0, len(ids), page):
        chunk = [product_point_id(pid) for pid in ids[start : start + page]]
        for point in client.retrieve(collection, ids=chunk, with_payload=STATE_FIELDS, with_vectors=False):
            pid = (point.payload or {}).get("product_id")
            if isinstance(pid, int):
                found[pid] = _state(point.payload)
    return found


@dataclass
class WriteBatch:
    """Qdrant writes of one product batch, sent as few `batch_update_points` requests."""

    creates: list[tuple[int, dict[str, list[float]], dict]] = field(default_factory=list)
    vector_updates: list[tuple[int, dict[str, list[float]]]] = field(default_factory=list)
    image_removals: list[int] = field(default_factory=list)
    payloads: list[tuple[int, dict]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.creates) + len(self.vector_updates) + len(self.image_removals) + len(self.payloads)
            + len(self.deletes)
        )

    def product_ids(self) -> list[int]:
        """Every product whose point this batch changes."""
        ids = {pid for pid, *_ in self.creates} | {pid for pid, _ in self.vector_updates} | {pid for pid, _ in self.payloads}
        return sorted(ids | set(self.image_removals) | set(self.deletes))

    def requests(self, chunk: int) -> list[list[Any]]:
        """Operations grouped into requests of about `chunk` points each. `upsert` only creates points
        (on an existing point it would replace the whole point, dropping the named vector not given);
        existing points get partial updates. Vectors go before the payload that names their hashes, so a
        failure in between leaves hashes that are old (re-embedded next run), never ahead of the vectors."""
        from qdrant_client import models

        def chunks(items):
            return [items[start : start + chunk] for start in range(0, len(items), chunk)]

        ops: list[tuple[int, Any]] = []  # (points touched, operation)
        for part in chunks(self.creates):
            ops.append((len(part), models.UpsertOperation(upsert=models.PointsList(points=[
                models.PointStruct(id=product_point_id(pid), vector=vectors, payload=payload)
                for pid, vectors, payload in part
            ]))))
        for part in chunks(self.vector_updates):
            ops.append((len(part), models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=[
                models.PointVectors(id=product_point_id(pid), vector=vectors) for pid, vectors in part
            ]))))
        for part in chunks(self.image_removals):
            ops.append((len(part), models.DeleteVectorsOperation(delete_vectors=models.DeleteVectors(
                points=[product_point_id(pid) for pid in part], vector=[IMAGE]
            ))))
        # Payloads differ per point: one operation each.
        for pid, payload in self.payloads:
            ops.append((1, models.OverwritePayloadOperation(
                overwrite_payload=models.SetPayload(payload=payload, points=[product_point_id(pid)])
            )))
        for part in chunks(self.deletes):
            ops.append((len(part), models.DeleteOperation(delete=models.PointIdsList(
                points=[product_point_id(pid) for pid in part]
            ))))
        requests: list[list[Any]] = []
        size = chunk
        for weight, op in ops:
            if size + weight > chunk:
                requests.append([])
                size = 0
            requests[-1].append(op)
            size += weight
        return requests


def apply(client: Any, collection: str, batch: WriteBatch, chunk: int) -> int:
    """Send the batch; return the number of requests. Raises on any failure (nothing is recorded then)."""
    requests = batch.requests(chunk)
    for request in requests:
        client.batch_update_points(collection, update_operations=request, wait=True)
    return len(requests)
