"""Rebuild the index from the beginning of the feed into a new collection, verify it against what the
feed says is live, then swap the alias (searches use the old collection until that instant). The
previous generation is kept for a rollback (point the alias back); older ones are dropped."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Engine

from assets.rag.index.collection import count_document, create_physical, physical_name, point_alias, stale_generations
from assets.rag.index.listing import LiveChunks
from assets.rag.index.store import drop_cursor, set_cursor
from assets.rag.index.sync import ChunkSync, Embedder, SyncReport
from resources.ingest import IngestSource

SAMPLE_DOCUMENTS = 50


class VerificationError(RuntimeError):
    """The rebuilt collection does not hold what the feed says is live; the alias was not moved."""


@dataclass
class FullSyncReport:
    sync: SyncReport
    collection: str
    previous: str | None
    dropped: list[str]
    expected_points: int
    points: int
    documents: int
    sampled_documents: int


def full_sync(
    engine: Engine,
    source: IngestSource,
    client: Any,
    embedder: Embedder,
    *,
    alias: str,
    dimension: int,
    batch: int,
    server: bool,
    run_id: str | None,
    on_page: Callable[[SyncReport], None] | None = None,
) -> FullSyncReport:
    target = physical_name(alias)
    create_physical(client, target, dimension, server=server)
    live = LiveChunks()
    try:
        sync = ChunkSync(
            engine, source, client, embedder, collection=target, dimension=dimension, cursor_key=target,
            rejections_key=alias, batch=batch, run_id=run_id, on_plan=live.apply, on_page=on_page,
        ).run("")
        points = client.count(target, exact=True).count
        if points != live.total:
            raise VerificationError(
                f"rebuilt collection {target!r} holds {points} points, the ingest listing {live.total} live chunks"
            )
        sample = random.Random(target).sample(sorted(live.documents), min(SAMPLE_DOCUMENTS, len(live.documents)))
        wrong = {d: (count_document(client, target, d), len(live.documents[d])) for d in sample}
        wrong = {d: counts for d, counts in wrong.items() if counts[0] != counts[1]}
        if wrong:
            raise VerificationError(f"rebuilt collection {target!r}: points per document differ from the listing "
                                    f"(document: points, chunks): {dict(list(wrong.items())[:10])}")
    except BaseException:
        client.delete_collection(target)  # never swapped in; a retry builds a new one
        drop_cursor(engine, target)
        raise
    previous = point_alias(client, alias, target)
    set_cursor(engine, alias, sync.cursor_after, run_id)
    drop_cursor(engine, target)
    dropped = stale_generations(client, alias, keep={target, previous} if previous else {target})
    for name in dropped:
        client.delete_collection(name)
    return FullSyncReport(sync, target, previous, dropped, live.total, points, len(live.documents), len(sample))
