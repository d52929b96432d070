"""Does a shard's part of the collection match the catalog? The plain logic of the `vector_coverage` check.

missing: a product that should have a point has none (an unavailable product indexed on request, see
product_vector_pin, should have one). stale: its point or its bookkeeping was built
from something other than the product as it is now (text, payload, image file, model), or the
bookkeeping disagrees with the point, or the last read of its image failed (storage error). extra: a point for a product that must not have one.
Re-materializing the shard fixes every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from assets.recsys.catalog import DELETED, iter_shard_products, payload_hash, product_payload, text_hash
from assets.recsys.images import TRANSIENT, MediaIndex
from assets.recsys.points import scan_shard
from assets.recsys.vector_sync import Tally, pinned_ids, state_rows


@dataclass
class ShardCoverage:
    shard: int
    expected: int = 0
    points: int = 0
    missing: Tally = field(default_factory=Tally)
    stale: Tally = field(default_factory=Tally)  # by the first reason found
    extra: Tally = field(default_factory=Tally)

    @property
    def passed(self) -> bool:
        return not (self.missing.total() or self.stale.total() or self.extra.total())

    def metadata(self) -> dict:
        def examples(tally: Tally) -> list[int]:
            return sorted(pid for ids in tally.examples.values() for pid in ids)[:10]

        return {
            "expected_points": self.expected,
            "points": self.points,
            "missing": self.missing.total(),
            "missing_examples": examples(self.missing),
            "stale": self.stale.total(),
            "stale_by_reason": self.stale.as_dict(),
            "extra": self.extra.total(),
            "extra_by_reason": self.extra.as_dict(),
        }


def _stale_reason(p, point, state, fingerprint, text_model: str, image_model: str) -> str | None:
    if point.text_hash != text_hash(p.text):
        return "text_changed"
    if point.text_model != text_model:
        return "text_model_changed"
    if point.payload_hash != payload_hash(product_payload(p)):
        return "payload_changed"
    if state is None or (state["text_hash"], state["image_hash"], state["payload_hash"]) != (
        point.text_hash, point.image_hash, point.payload_hash
    ):
        return "bookkeeping_differs"
    if not p.image_key:
        return "image_removed" if point.image_hash else None
    if state["image_error"] in TRANSIENT:
        return "image_read_failed"  # a storage error: the next run reads it again
    if state["image_fingerprint"] != fingerprint:
        return "image_changed"
    if point.image_hash is not None and point.image_model != image_model:
        return "image_model_changed"
    if point.image_hash is None and state["image_error"] is None and fingerprint is not None:
        return "image_not_embedded"
    return None


def shard_coverage(
    engine: Engine, client: Any, collection: str, media: MediaIndex, shards: int, shard: int,
    text_model: str, image_model: str, page: int = 1000,
) -> ShardCoverage:
    result = ShardCoverage(shard)
    points = scan_shard(client, collection, shards, shard)
    state = state_rows(engine, shards, shard, None)
    pinned = pinned_ids(engine, shards, shard, None)  # unavailable, indexed on request: expected, not extra
    result.points = len(points)
    seen: set[int] = set()
    for products in iter_shard_products(engine, shards, shard, page=page):
        media.prepare([p.image_key for p in products if p.image_key])
        for p in products:
            seen.add(p.id)
            reason = p.exclusion_unless(pinned)
            if reason is not None:
                if p.id in points:
                    result.extra.add(reason, p.id)
                continue
            result.expected += 1
            point = points.get(p.id)
            if point is None:
                result.missing.add("no_point", p.id)
                continue
            fingerprint = media.fingerprint_of(p.image_key) if p.image_key else None
            stale = _stale_reason(p, point, state.get(p.id), fingerprint, text_model, image_model)
            if stale:
                result.stale.add(stale, p.id)
    for pid in sorted(set(points) - seen):
        result.extra.add(DELETED, pid)
    return result
