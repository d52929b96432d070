"""What the ingest feed says is live: every page from the beginning applied in order, kept as
{document_id: {chunk_id: updated_ts}} with the deletes seen (memory: the ids of the live chunks and of
the deletes). The full sync builds it while it writes; the consistency check reads the feed to build it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from assets.rag.index.items import PagePlan, plan_page
from resources.ingest import IngestSource


@dataclass
class LiveChunks:
    documents: dict[str, dict[str, float]] = field(default_factory=dict)
    # The feed's deletes, as the sync's tombstones: an upsert no newer than a delete stays deleted.
    document_deletes: dict[str, float] = field(default_factory=dict)
    chunk_deletes: dict[tuple[str, str], float] = field(default_factory=dict)

    def apply(self, plan: PagePlan) -> None:
        for document_id, ts in plan.document_deletes.items():
            self.document_deletes[document_id] = max(ts, self.document_deletes.get(document_id, ts))
            chunks = {c: t for c, t in self.documents.get(document_id, {}).items() if t > ts}
            if chunks:
                self.documents[document_id] = chunks
            else:
                self.documents.pop(document_id, None)
        for (document_id, chunk_id), ts in plan.chunk_deletes.items():
            self.chunk_deletes[(document_id, chunk_id)] = max(ts, self.chunk_deletes.get((document_id, chunk_id), ts))
            chunks = self.documents.get(document_id, {})
            if chunks.get(chunk_id, ts + 1) <= ts:
                del chunks[chunk_id]
                if not chunks:
                    self.documents.pop(document_id, None)
        for (document_id, chunk_id), chunk in plan.upserts.items():
            deleted = max(self.document_deletes.get(document_id, -math.inf),
                          self.chunk_deletes.get((document_id, chunk_id), -math.inf))
            if chunk.ts <= deleted:
                continue
            chunks = self.documents.setdefault(document_id, {})
            chunks[chunk_id] = max(chunk.ts, chunks.get(chunk_id, chunk.ts))

    @property
    def deleted_documents(self) -> set[str]:
        """Deleted in the feed and not re-created since."""
        return set(self.document_deletes) - set(self.documents)

    @property
    def total(self) -> int:
        return sum(len(chunks) for chunks in self.documents.values())


def read_live(source: IngestSource, batch: int, dimension: int) -> tuple[LiveChunks, str]:
    """The live chunks of the whole feed and the cursor after its last page. Delete tombstones are the
    feed's own; rejected items are not live (they are not in the index either)."""
    live, since = LiveChunks(), ""
    while True:
        page = source.page(since, batch)
        live.apply(plan_page(page.items, dimension))
        if not page.has_more or page.next_cursor == since:
            return live, page.next_cursor
        since = page.next_cursor
