"""The Qdrant side of the assistant: documents from `assistant_document` into the collection behind
the alias ASSISTANT_COLLECTION (`assistant_knowledge`); the logic behind `assistant_knowledge_index`.

Points: id uuid5("assistant:<doc key>#<chunk>"), a `text` vector of the chunk (title + lines), payload
doc_key, entity_type, entity_id, title, updated_at, chunk, chunks, content_hash, model and the chunk's
text. Three ways to run:

- incremental: the documents whose `indexed_hash` differs from their `content_hash`, and tombstones
  (one indexed query; Qdrant is not scanned);
- reconcile: every point's payload against every document: missing, stale (other hash or model,
  chunks not matching) and extra points are healed (drift);
- rebuild: everything into a new collection, a catch-up pass for documents that changed meanwhile,
  a check (point count, a query answers), then one atomic alias switch; the old collection is dropped
  afterwards. Until the switch, searches read the old collection; a failure leaves the alias alone
  and deletes the half-built collection.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Protocol

from sqlalchemy import Engine, and_, bindparam, delete, select, update

from assets.assistant.tables import assistant_document
from resources.vectors import point_id

TEXT = "text"
PAGE = 512
SCROLL = 2048
PAYLOAD_INDEXES = {"doc_key": "keyword", "entity_type": "keyword"}
_FIELDS = ["doc_key", "chunk", "chunks", "content_hash", "model"]


class Embedder(Protocol):
    model_name: str

    def encode(self, texts: list[str]) -> Any: ...


class IndexCheckError(RuntimeError):
    """A rebuilt collection failed its check before the alias switch (the alias was left alone)."""


def chunk_point_id(key: str, chunk: int) -> str:
    return point_id("assistant", f"{key}#{chunk}")


def chunk_texts(title: str, body: str, max_chars: int) -> list[str]:
    """The document in pieces of at most about `max_chars`, cut at line ends, each led by the title
    (a chunk found alone still says what it is about)."""
    lines = [line[i : i + max_chars] for line in body.splitlines() or [""] for i in range(0, max(len(line), 1), max_chars)]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > max_chars:
            pieces.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    pieces.append("\n".join(current))
    return [f"{title}\n{piece}" for piece in pieces]


def live_collection(client: Any, alias: str) -> str | None:
    """The collection the alias points at; None before the first build."""
    for found in client.get_aliases().aliases:
        if found.alias_name == alias:
            return found.collection_name
    if client.collection_exists(alias):
        raise ValueError(
            f"{alias!r} is a Qdrant collection, not an alias: the assistant index switches an alias; "
            f"delete that collection (or set ASSISTANT_COLLECTION to another name) and run assistant_rebuild_job"
        )
    return None


@dataclass
class Coverage:
    documents: int = 0
    points: int = 0
    missing: list[str] = field(default_factory=list)  # active documents without points
    stale: list[str] = field(default_factory=list)  # points of another hash or model, or chunks not matching
    extra: list[str] = field(default_factory=list)  # points of documents that are not active

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


@dataclass
class IndexReport:
    mode: str
    collection: str = ""
    previous_collection: str | None = None
    documents_written: int = 0
    points_written: int = 0
    points_deleted: int = 0
    documents_removed: int = 0
    unchanged: int = 0
    drift: Coverage | None = None  # what a reconcile found (and healed)
    caught_up: int = 0  # rebuild: documents that changed while it ran
    timings: Counter = field(default_factory=Counter)


class KnowledgeIndex:
    def __init__(
        self,
        engine: Engine,
        client: Any,
        alias: str,
        embedder: Embedder,
        *,
        chunk_chars: int = 1500,
        embed_batch: int = 128,
        ensure_collection: Callable[[Any, str], None],
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.engine, self.client, self.alias, self.embedder = engine, client, alias, embedder
        self.chunk_chars, self.embed_batch = chunk_chars, embed_batch
        self.ensure_collection = ensure_collection
        self.now = now

    # -- the live collection -------------------------------------------------------------------
    def live(self) -> str | None:
        return live_collection(self.client, self.alias)

    # -- reading ---------------------------------------------------------------------------------
    def _documents(self, where) -> Iterator[list]:
        d = assistant_document.c
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(d.doc_key, d.entity_type, d.entity_id, d.title, d.body, d.content_hash, d.rendered_at)
                    .where(where, d.doc_key > last).order_by(d.doc_key).limit(PAGE)
                ).all()
            if not rows:
                return
            yield rows
            last = rows[-1].doc_key

    def _points(self, collection: str, keys: list[str] | None = None) -> dict[str, dict[int, dict]]:
        """{doc key: {chunk: payload + id}} of the collection (or of these documents)."""
        from qdrant_client import models

        query = None if keys is None else models.Filter(must=[models.FieldCondition(key="doc_key", match=models.MatchAny(any=keys))])
        found: dict[str, dict[int, dict]] = defaultdict(dict)
        offset = None
        while True:
            records, offset = self.client.scroll(
                collection, scroll_filter=query, limit=SCROLL, offset=offset, with_payload=_FIELDS, with_vectors=False
            )
            for record in records:
                payload = record.payload or {}
                found[str(payload.get("doc_key"))][int(payload.get("chunk", 0))] = {**payload, "id": str(record.id)}
            if offset is None:
                return found

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, collection: str, rows: list, existing: dict[str, dict[int, dict]], report: IndexReport) -> None:
        from qdrant_client import models

        model = self.embedder.model_name
        planned = []
        surplus = []
        for row in rows:
            texts = chunk_texts(row.title, row.body, self.chunk_chars)
            for chunk, text in enumerate(texts):
                planned.append((chunk_point_id(row.doc_key, chunk), text, {
                    "doc_key": row.doc_key, "entity_type": row.entity_type, "entity_id": int(row.entity_id),
                    "title": row.title, "updated_at": _iso(row.rendered_at), "chunk": chunk, "chunks": len(texts),
                    "content_hash": row.content_hash, "model": model, "text": text,
                }))
            surplus += [p["id"] for chunk, p in existing.get(row.doc_key, {}).items() if chunk >= len(texts)]
        for start in range(0, len(planned), self.embed_batch):
            batch = planned[start : start + self.embed_batch]
            started = time.perf_counter()
            vectors = self.embedder.encode([text for _, text, _ in batch])
            report.timings["embedding"] += time.perf_counter() - started
            started = time.perf_counter()
            self.client.upsert(collection, points=[
                models.PointStruct(id=pid, vector={TEXT: vector.tolist()}, payload=payload)
                for (pid, _, payload), vector in zip(batch, vectors)
            ])
            report.timings["qdrant_write"] += time.perf_counter() - started
        if surplus:
            self._delete(collection, surplus, report)
        report.documents_written += len(rows)
        report.points_written += len(planned)

    def _delete(self, collection: str, ids: list[str], report: IndexReport) -> None:
        from qdrant_client import models

        started = time.perf_counter()
        for start in range(0, len(ids), PAGE):
            self.client.delete(collection, points_selector=models.PointIdsList(points=ids[start : start + PAGE]))
        report.points_deleted += len(ids)
        report.timings["qdrant_delete"] += time.perf_counter() - started

    def _mark_indexed(self, pairs: list[tuple[str, str]]) -> None:
        """indexed_hash = the hash written, unless the document was re-rendered meanwhile."""
        d = assistant_document.c
        with self.engine.begin() as conn:
            for start in range(0, len(pairs), PAGE):
                conn.execute(
                    update(assistant_document).where(and_(d.doc_key == bindparam("k"), d.content_hash == bindparam("h")))
                    .values(indexed_hash=bindparam("h")),
                    [{"k": k, "h": h} for k, h in pairs[start : start + PAGE]],
                )

    def _clear_tombstones(self, collection: str, report: IndexReport) -> None:
        """Points of deleted or deactivated entities' documents, then their rows."""
        d = assistant_document.c
        while True:
            with self.engine.connect() as conn:
                keys = [r.doc_key for r in conn.execute(
                    select(d.doc_key).where(d.active.is_(False)).order_by(d.doc_key).limit(PAGE)).all()]
            if not keys:
                return
            points = self._points(collection, keys)
            self._delete(collection, [p["id"] for chunks in points.values() for p in chunks.values()], report)
            with self.engine.begin() as conn:
                conn.execute(delete(assistant_document).where(d.doc_key.in_(keys), d.active.is_(False)))
            report.documents_removed += len(keys)

    # -- the three modes ---------------------------------------------------------------------------
    def incremental(self) -> IndexReport:
        collection = self.live()
        if collection is None:
            return self.rebuild()
        report = IndexReport(mode="incremental", collection=collection)
        d = assistant_document.c
        for rows in self._documents(and_(d.active.is_(True), d.indexed_hash.is_distinct_from(d.content_hash))):
            started = time.perf_counter()
            existing = self._points(collection, [r.doc_key for r in rows])
            report.timings["qdrant_read"] += time.perf_counter() - started
            self._write(collection, rows, existing, report)
            self._mark_indexed([(r.doc_key, r.content_hash) for r in rows])
        self._clear_tombstones(collection, report)
        return report

    def diff(self, collection: str) -> tuple[Coverage, dict[str, dict[int, dict]], list, list[tuple[str, str]]]:
        """Compare every point with every active document: the coverage, the points, the rows to write
        and the (key, hash) of the documents found in place."""
        d = assistant_document.c
        points = self._points(collection)
        model = self.embedder.model_name
        coverage = Coverage(points=sum(len(chunks) for chunks in points.values()))
        todo, fine = [], []
        active: set[str] = set()
        for rows in self._documents(d.active.is_(True)):
            for row in rows:
                active.add(row.doc_key)
                coverage.documents += 1
                chunks = points.get(row.doc_key)
                if not chunks:
                    coverage.missing.append(row.doc_key)
                    todo.append(row)
                elif any(p.get("content_hash") != row.content_hash or p.get("model") != model for p in chunks.values()) or (
                    set(chunks) != set(range(int(next(iter(chunks.values())).get("chunks", 0))))
                ):
                    coverage.stale.append(row.doc_key)
                    todo.append(row)
                else:
                    fine.append((row.doc_key, row.content_hash))
        coverage.extra = sorted(key for key in points if key not in active)
        return coverage, points, todo, fine

    def reconcile(self) -> IndexReport:
        collection = self.live()
        if collection is None:
            return self.rebuild()
        report = IndexReport(mode="reconcile", collection=collection)
        started = time.perf_counter()
        coverage, points, todo, fine = self.diff(collection)
        report.timings["compare"] += time.perf_counter() - started
        report.drift = coverage
        report.unchanged = len(fine)
        for start in range(0, len(todo), PAGE):
            rows = todo[start : start + PAGE]
            self._write(collection, rows, points, report)
            self._mark_indexed([(r.doc_key, r.content_hash) for r in rows])
        extra = [p["id"] for key in coverage.extra for p in points[key].values()]
        if extra:
            self._delete(collection, extra, report)
        self._mark_indexed_where_different(fine)
        self._clear_tombstones(collection, report)
        return report

    def _mark_indexed_where_different(self, pairs: list[tuple[str, str]]) -> None:
        d = assistant_document.c
        with self.engine.connect() as conn:
            behind = {r.doc_key for r in conn.execute(
                select(d.doc_key).where(d.active.is_(True), d.indexed_hash.is_distinct_from(d.content_hash))).all()}
        self._mark_indexed([(k, h) for k, h in pairs if k in behind])

    def rebuild(self) -> IndexReport:
        previous = self.live()
        name = f"{self.alias}-{self.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
        report = IndexReport(mode="rebuild", collection=name, previous_collection=previous)
        d = assistant_document.c
        self.ensure_collection(self.client, name)
        try:
            built: dict[str, str] = {}
            for rows in self._documents(d.active.is_(True)):
                self._write(name, rows, {}, report)
                built.update((r.doc_key, r.content_hash) for r in rows)
            # Documents re-rendered while the rebuild ran (the sensor's runs wrote them to the old collection).
            started = time.perf_counter()
            changed = []
            still: set[str] = set()
            for rows in self._documents(d.active.is_(True)):
                for row in rows:
                    still.add(row.doc_key)
                    if built.get(row.doc_key) != row.content_hash:
                        changed.append(row)
            gone = [key for key in built if key not in still]
            if changed or gone:
                points = self._points(name, [r.doc_key for r in changed] + gone)
                if changed:
                    self._write(name, changed, points, report)
                    built.update((r.doc_key, r.content_hash) for r in changed)
                self._delete(name, [p["id"] for key in gone for p in points.get(key, {}).values()], report)
                for key in gone:
                    built.pop(key, None)
            report.caught_up = len(changed) + len(gone)
            report.timings["catch_up"] += time.perf_counter() - started
            self._check(name, report.points_written - report.points_deleted)
            self._switch(name, previous)
        except BaseException:
            self._drop(name)
            raise
        self._mark_indexed(sorted(built.items()))
        self._clear_tombstones(name, report)
        self._drop_old(name)
        return report

    def _check(self, name: str, expected: int) -> None:
        count = self.client.count(name, exact=True).count
        if count != expected:
            raise IndexCheckError(f"rebuilt collection {name} holds {count} points, expected {expected}; alias {self.alias!r} left as it was")
        if expected:
            [sample] = self.client.scroll(name, limit=1, with_vectors=True)[0]
            vector = sample.vector[TEXT] if isinstance(sample.vector, dict) else sample.vector
            hits = self.client.query_points(name, query=vector, using=TEXT, limit=1).points
            if not hits:
                raise IndexCheckError(f"rebuilt collection {name} answers no query; alias {self.alias!r} left as it was")

    def _switch(self, name: str, previous: str | None) -> None:
        from qdrant_client import models

        operations = []
        if previous is not None:
            operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
        operations.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=name, alias_name=self.alias)))
        # One request: on a server the alias moves atomically, searches never see it missing.
        self.client.update_collection_aliases(change_aliases_operations=operations)

    def _drop(self, name: str) -> None:
        try:
            self.client.delete_collection(name)
        except Exception:  # noqa: BLE001 - the original error matters more; the next rebuild drops leftovers
            pass

    def _drop_old(self, live: str) -> None:
        """Earlier generations (and leftovers of failed rebuilds), never the live one."""
        for collection in self.client.get_collections().collections:
            if collection.name.startswith(f"{self.alias}-") and collection.name != live:
                self.client.delete_collection(collection.name)

    def coverage(self) -> Coverage:
        collection = self.live()
        if collection is None:
            d = assistant_document.c
            with self.engine.connect() as conn:
                keys = [r.doc_key for r in conn.execute(select(d.doc_key).where(d.active.is_(True)))]
            return Coverage(documents=len(keys), missing=keys)
        return self.diff(collection)[0]


def _iso(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()
