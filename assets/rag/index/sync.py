"""Apply the ingest feed to a Qdrant collection, page by page: the logic behind `rag_chunks` and
`rag_full_sync_job`.

Per page: items are reduced to their final effect (`plan_page`), upserts older than a recorded delete
are dropped, deletes remove points no newer than themselves (by payload filter), upserts skip points
that are newer (a page replayed or going backwards) or unchanged (same content hash), the rest get
the item's own vector or one from the text model; then, in one database transaction, the page's
tombstones and rejections are recorded and the cursor moves. A crash anywhere re-reads the page:
point ids are UUID5 of (document_id, chunk_id), so nothing is duplicated. Fetching the next page,
embedding this one and writing the previous one overlap (`ChunkSync.run`).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
from sqlalchemy import Engine

from assets.rag.index.collection import VECTOR, document_filter
from assets.rag.index.items import WHOLE_DOCUMENT, Chunk, PagePlan, chunk_point_id, plan_page
from assets.rag.index.store import commit_page, tombstones_of
from resources.ingest import IngestError, IngestSource, Page


class Embedder(Protocol):
    model_name: str

    def encode(self, texts: list[str]) -> Any: ...


@dataclass
class SyncReport:
    cursor_before: str
    cursor_after: str = ""
    pages: int = 0
    items: int = 0
    points_written: int = 0
    points_created: int = 0
    unchanged: int = 0
    stale_skipped: int = 0  # an older version than the point's (a repeated or backward page)
    deleted_later: int = 0  # a recorded delete is newer than the item
    superseded: int = 0  # undone by a later item of the same page
    document_deletes: int = 0
    chunk_deletes: int = 0
    chunk_points_deleted: int = 0
    from_item: int = 0
    embedded: int = 0
    item_embedding_unused: Counter = field(default_factory=Counter)  # reason -> count (text embedded instead)
    rejected: Counter = field(default_factory=Counter)
    rejected_examples: list[str] = field(default_factory=list)
    timings: Counter = field(default_factory=Counter)


def payload(chunk: Chunk, content_hash: str, embedded_by: str) -> dict:
    return {
        "document_id": chunk.document_id,
        "chunk_id": chunk.chunk_id,
        "text": chunk.text,
        "metadata": chunk.metadata,
        "updated_at": chunk.updated_at,
        "updated_ts": chunk.ts,
        "content_hash": content_hash,
        "embedded_by": embedded_by,
    }


class ChunkSync:
    """Sync `collection` (an alias or a physical collection of `dimension`) from the feed; the cursor
    is stored under `cursor_key`, rejections under `rejections_key`."""

    def __init__(
        self,
        engine: Engine,
        source: IngestSource,
        client: Any,
        embedder: Embedder,
        *,
        collection: str,
        dimension: int,
        cursor_key: str,
        rejections_key: str,
        batch: int,
        run_id: str | None = None,
        on_plan: Callable[[PagePlan], None] | None = None,
        on_page: Callable[[SyncReport], None] | None = None,
    ):
        self.engine, self.source, self.client, self.embedder = engine, source, client, embedder
        self.collection, self.dimension = collection, dimension
        self.cursor_key, self.rejections_key = cursor_key, rejections_key
        self.batch, self.run_id = max(1, batch), run_id
        self.on_plan, self.on_page = on_plan, on_page

    def run(self, since: str, *, max_pages: int | None = None) -> SyncReport:
        """Pages from `since` until the feed has no more (or `max_pages`). Three things overlap: the
        next page is fetched, this page's texts are embedded, and the previous page is written to
        Qdrant and committed. Qdrant is never read while a write is in flight, and a page that
        touches a document of the page being written waits for that write first (so its reads see it)."""
        report = SyncReport(cursor_before=since, cursor_after=since)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-prefetch") as prefetch, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdrant-writer") as writer:
            fetching = prefetch.submit(self._fetch, since, report)
            ready: _Prepared | None = None  # embedded, not yet written
            try:
                while True:
                    try:
                        page = fetching.result()
                    except Exception:
                        if ready is not None:  # keep what is embedded: the cursor moves past it before failing
                            self._write(ready, report)
                        raise
                    if page.next_cursor == since and page.items and page.has_more:
                        raise IngestError(f"ingest returned items for since={since!r} without moving the cursor")
                    more = page.has_more and page.next_cursor != since
                    last = not more or (max_pages is not None and report.pages + (ready is not None) + 1 >= max_pages)
                    fetching = None if last else prefetch.submit(self._fetch, page.next_cursor, report)
                    if page.items or page.next_cursor != since:
                        plan = self._plan(page, report)
                        if ready is not None and plan.documents & ready.plan.documents:
                            self._write(ready, report)
                            ready = None
                        todo = self._select(plan, report)
                        writing = writer.submit(self._write, ready, report) if ready is not None else None
                        vectors = self._encode(todo, report)
                        if writing is not None:
                            writing.result()
                        ready = _Prepared(page, since, plan, todo, vectors)
                    since = page.next_cursor
                    if last:
                        if ready is not None:
                            self._write(ready, report)
                        return report
            finally:
                if fetching is not None:
                    fetching.cancel()

    def _fetch(self, since: str, report: SyncReport) -> Page:
        started = time.perf_counter()
        page = self.source.page(since, self.batch)
        report.timings["ingest_read"] += time.perf_counter() - started
        return page

    def _plan(self, page: Page, report: SyncReport) -> PagePlan:
        started = time.perf_counter()
        plan = plan_page(page.items, self.dimension)
        report.superseded += plan.superseded
        report.timings["plan"] += time.perf_counter() - started
        return plan

    def _select(self, plan: PagePlan, report: SyncReport) -> list[tuple[Chunk, str]]:
        """Drop upserts older than a recorded delete, then those whose point is newer or the same;
        return the chunks to write with their content hashes."""
        if plan.upserts:
            stones = tombstones_of(self.engine, {doc for doc, _ in plan.upserts})
            for key, chunk in list(plan.upserts.items()):
                if max(stones.get((key[0], WHOLE_DOCUMENT), -math.inf), stones.get(key, -math.inf)) >= chunk.ts:
                    del plan.upserts[key]
                    report.deleted_later += 1
        if self.on_plan is not None:
            self.on_plan(plan)
        chunks = list(plan.upserts.values())
        if not chunks:
            return []
        model = self.embedder.model_name
        started = time.perf_counter()
        records = self.client.retrieve(self.collection, [c.point_id for c in chunks], with_payload=["updated_ts", "content_hash"])
        existing = {str(r.id): r.payload for r in records}
        report.timings["qdrant_read"] += time.perf_counter() - started
        todo: list[tuple[Chunk, str]] = []
        for chunk in chunks:
            have = existing.get(chunk.point_id)
            content_hash = chunk.content_hash(model)
            if chunk.note:
                report.item_embedding_unused[chunk.note] += 1
            if have is not None:
                have_ts = float(have.get("updated_ts", -math.inf))
                if have_ts > chunk.ts:
                    report.stale_skipped += 1
                    continue
                if have.get("content_hash") == content_hash:
                    report.unchanged += 1
                    if have_ts < chunk.ts:  # same content, newer version: keep the timestamp deletes compare with
                        self.client.set_payload(self.collection, {"updated_ts": chunk.ts, "updated_at": chunk.updated_at},
                                                points=[chunk.point_id])
                    continue
            report.points_created += have is None
            todo.append((chunk, content_hash))
        return todo

    def _encode(self, todo: list[tuple[Chunk, str]], report: SyncReport) -> dict[str, np.ndarray]:
        """Vectors of the chunks without a usable embedding of their own (the text model)."""
        to_embed = [chunk for chunk, _ in todo if chunk.embedding is None]
        report.from_item += len(todo) - len(to_embed)
        if not to_embed:
            return {}
        started = time.perf_counter()
        encoded = np.asarray(self.embedder.encode([chunk.text for chunk in to_embed]), dtype=np.float32)
        report.timings["embedding"] += time.perf_counter() - started
        if encoded.shape[1] != self.dimension:
            raise ValueError(
                f"TEXT_MODEL {self.embedder.model_name!r} gives {encoded.shape[1]}-dimensional vectors but collection "
                f"{self.collection!r} holds {self.dimension}: run rag_full_sync_job to rebuild the index with the new model"
            )
        report.embedded += len(to_embed)
        return {chunk.point_id: vector for chunk, vector in zip(to_embed, encoded)}

    def _write(self, ready: "_Prepared", report: SyncReport) -> None:
        """Deletes and upserts of one page, then its database transaction (tombstones, rejections, cursor)."""
        plan = ready.plan
        self._delete(plan, report)
        if ready.todo:
            from qdrant_client import models

            model = self.embedder.model_name
            started = time.perf_counter()
            points = [
                models.PointStruct(
                    id=chunk.point_id,
                    vector={VECTOR: (chunk.embedding if chunk.embedding is not None else ready.vectors[chunk.point_id]).tolist()},
                    payload=payload(chunk, content_hash, "ingest" if chunk.embedding is not None else model),
                )
                for chunk, content_hash in ready.todo
            ]
            self.client.upsert(self.collection, points=points, wait=True)
            report.points_written += len(points)
            report.timings["qdrant_write"] += time.perf_counter() - started
        started = time.perf_counter()
        tombstones = {(doc, WHOLE_DOCUMENT): ts for doc, ts in plan.document_deletes.items()}
        tombstones.update(plan.chunk_deletes)
        commit_page(
            self.engine, collection=self.cursor_key, since=ready.since, next_cursor=ready.page.next_cursor,
            items=len(ready.page.items), tombstones=tombstones, rejections=plan.rejections,
            rejections_collection=self.rejections_key, run_id=self.run_id,
        )
        report.timings["database"] += time.perf_counter() - started
        report.pages += 1
        report.items += len(ready.page.items)
        report.cursor_after = ready.page.next_cursor
        for rejection in plan.rejections:
            report.rejected[rejection.reason] += 1
            if len(report.rejected_examples) < 10:
                report.rejected_examples.append(f"{rejection.reason}: {rejection.detail}")
        if self.on_page is not None:
            self.on_page(report)

    def _delete(self, plan: PagePlan, report: SyncReport) -> None:
        from qdrant_client import models

        started = time.perf_counter()
        for document_id, ts in plan.document_deletes.items():
            # Only points no newer than the delete: a document re-created later keeps its new chunks.
            self.client.delete(self.collection, points_selector=models.FilterSelector(filter=document_filter(document_id, up_to_ts=ts)))
        report.document_deletes += len(plan.document_deletes)
        if plan.chunk_deletes:
            wanted = {chunk_point_id(d, c): ts for (d, c), ts in plan.chunk_deletes.items()}
            records = self.client.retrieve(self.collection, list(wanted), with_payload=["updated_ts"])
            doomed = [r.id for r in records if float(r.payload.get("updated_ts", -math.inf)) <= wanted[str(r.id)]]
            if doomed:
                self.client.delete(self.collection, points_selector=models.PointIdsList(points=doomed))
            report.chunk_deletes += len(plan.chunk_deletes)
            report.chunk_points_deleted += len(doomed)
        report.timings["qdrant_delete"] += time.perf_counter() - started


@dataclass
class _Prepared:
    """A page whose chunks are selected and embedded, waiting for its write."""

    page: Page
    since: str
    plan: PagePlan
    todo: list[tuple[Chunk, str]]
    vectors: dict[str, np.ndarray]
