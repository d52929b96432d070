"""The logic of the `rag_index_consistent` check: points per document against the ingest listing for a
sample of documents, and no point of a deleted document (deleted in the feed or by
rag_delete_document_job) older than its delete."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from assets.rag.index.collection import count_document
from assets.rag.index.items import WHOLE_DOCUMENT
from assets.rag.index.listing import read_live
from assets.rag.index.store import document_tombstones, read_cursor, tombstones_of
from resources.ingest import IngestSource

SAMPLE_DOCUMENTS = 100
RECENT_DELETES = 200


@dataclass
class Consistency:
    sampled: int = 0
    mismatched: dict[str, tuple[int, int]] = field(default_factory=dict)  # document -> (points, live chunks)
    deleted_checked: int = 0
    deleted_with_points: dict[str, int] = field(default_factory=dict)
    pending: bool = False  # the ingest has items after the cursor (a mismatch may be sync lag)

    @property
    def passed(self) -> bool:
        return not self.mismatched and not self.deleted_with_points


def check_consistency(engine: Engine, source: IngestSource, client: Any, *, collection: str, dimension: int,
                      batch: int, seed: int | None = None) -> Consistency:
    result = Consistency()
    live, _ = read_live(source, batch, dimension)
    result.pending = bool(source.page(read_cursor(engine, collection), 1).items)
    documents = sorted(live.documents)
    sample = random.Random(seed).sample(documents, min(SAMPLE_DOCUMENTS, len(documents)))
    stones = tombstones_of(engine, sample)
    for document_id in sample:
        # A delete by rag_delete_document_job is not in the feed: chunks older than it are gone on purpose.
        cut = stones.get((document_id, WHOLE_DOCUMENT), float("-inf"))
        expected = sum(1 for chunk_id, ts in live.documents[document_id].items()
                       if ts > max(cut, stones.get((document_id, chunk_id), float("-inf"))))
        points = count_document(client, collection, document_id)
        if points != expected:
            result.mismatched[document_id] = (points, expected)
    result.sampled = len(sample)
    deleted = {d: float("inf") for d in sorted(live.deleted_documents)[:RECENT_DELETES]}
    deleted.update(dict(document_tombstones(engine, RECENT_DELETES)))
    for document_id, ts in deleted.items():
        points = count_document(client, collection, document_id, up_to_ts=None if ts == float("inf") else ts)
        if points:
            result.deleted_with_points[document_id] = points
    result.deleted_checked = len(deleted)
    return result
