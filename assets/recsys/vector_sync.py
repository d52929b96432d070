"""Bring the product points of some shards up to date: the plain logic behind `product_vectors`.

Per shard: read the products in pages, hash what each vector is built from, compare with what the
point was built from, embed only what changed, write partial updates to Qdrant, then record the new
hashes in `product_vector_state` (only after the write succeeded). Points of products that must not
have one (unavailable, merged, without text, deleted) are removed.

What "the point was built from" comes from: the points' own payload (a filtered scroll of the shard)
whenever the Qdrant storage may have changed behind the platform's back, and the state table when
local-mode storage is provably untouched since the shard was last verified (no scan of a store that
loads every vector into memory to open).
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Protocol

from sqlalchemy import Engine, delete, insert, select

from appdb.recsys_tables import product_vector_pin, product_vector_shard, product_vector_state
from assets.recsys import images
from assets.recsys.catalog import (
    DELETED,
    UNAVAILABLE,
    CatalogProduct,
    iter_shard_products,
    payload_hash,
    product_payload,
    text_hash,
)
from assets.recsys.points import IMAGE, TEXT, PointState, WriteBatch, apply, fetch, scan_shard
from resources.media import MediaStore

OTHER_SHARD = "other_shard"
EXAMPLES = 5
IMAGE_CACHE_SIZE = 20_000  # vectors of distinct image bytes kept per run (identical files embed once)


class TextEmbedder(Protocol):
    model_name: str

    def encode(self, texts: list[str]) -> Any: ...


class ImageEmbedder(Protocol):
    model_name: str
    # Whether loader threads may run `preprocess` (torch ops) while the model works; else they only
    # read and decode, and the run's thread preprocesses just before the forward pass.
    preprocess_in_loaders: bool

    def preprocess(self, image: Any) -> Any: ...

    def encode_tensors(self, tensors: list) -> Any: ...


class VectorStore(Protocol):
    def client(self) -> Any: ...

    def storage_fingerprint(self, collection: str) -> str | None: ...


@dataclass
class SyncOptions:
    force: bool = False
    product_ids: list[int] | None = None  # None: whole shards
    # Of those, the ones to index even when unavailable (run config `product_ids`, the seed's
    # --product-id): pinned in product_vector_pin, kept by every later run while unavailable.
    pin_ids: list[int] | None = None
    text_batch_size: int = 256
    image_batch_size: int = 32
    upsert_batch_size: int = 256


class Tally:
    """Counts by reason with a few example product ids each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[int]] = {}

    def add(self, reason: str, product_id: int) -> None:
        self.counts[reason] += 1
        sample = self.examples.setdefault(reason, [])
        if len(sample) < EXAMPLES:
            sample.append(product_id)

    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, dict]:
        return {reason: {"count": n, "examples": self.examples[reason]} for reason, n in sorted(self.counts.items())}


@dataclass
class SyncReport:
    shards: list[int]
    text_model: str
    image_model: str
    products_seen: int = 0
    text_embedded: int = 0
    image_embedded: int = 0  # products that got a new image vector
    image_encoded: int = 0  # images through the model (identical bytes only once)
    image_retry: int = 0  # images whose read failed (storage error): read again by the next run
    points_created: int = 0
    points_updated: int = 0
    payload_only_updates: int = 0
    image_vectors_removed: int = 0  # the product no longer has an image
    unchanged: int = 0
    bookkeeping_only: int = 0  # state rows rewritten, the point already right (crash recovery, image now bad)
    qdrant_requests: int = 0
    media_objects_listed: int = 0
    verified_shards: list[int] = field(default_factory=list)
    trusted_shards: list[int] = field(default_factory=list)
    excluded: Tally = field(default_factory=Tally)  # products that must have no point, by reason
    deleted: Tally = field(default_factory=Tally)  # points removed, by reason
    image_skipped: Tally = field(default_factory=Tally)  # products left without a (new) image vector
    skipped: Tally = field(default_factory=Tally)  # requested ids outside the run's shards
    pinned: Tally = field(default_factory=Tally)  # unavailable products indexed on request (pinned now or before)
    timings: Counter[str] = field(default_factory=Counter)

    @property
    def points_changed(self) -> int:
        return self.points_created + self.points_updated + self.deleted.total()

    @property
    def image_reused(self) -> int:
        return self.image_embedded - self.image_encoded


@dataclass
class _Plan:
    """One eligible product's decision."""

    product: CatalogProduct
    text: str
    text_hash: str
    payload: dict
    payload_hash: str
    current: PointState | None
    state: dict | None
    embed_text: bool
    image_fingerprint: str | None = None
    read_image: bool = False
    remove_image: bool = False
    image_error: str | None = None
    image_hash: str | None = None  # of the vector the point will hold
    image_model: str | None = None
    text_vector: Any = None
    image_vector: Any = None


def state_rows(engine: Engine, shards: int, shard: int, ids: list[int] | None) -> dict[int, dict]:
    query = select(product_vector_state).where(product_vector_state.c.product_id % shards == shard)
    if ids is not None:
        query = query.where(product_vector_state.c.product_id.in_(ids))
    with engine.connect() as conn:
        return {row.product_id: dict(row._mapping) for row in conn.execute(query)}


def pinned_ids(engine: Engine, shards: int, shard: int, ids: list[int] | None) -> set[int]:
    """Products of the shard indexed on request although unavailable (product_vector_pin)."""
    query = select(product_vector_pin.c.product_id).where(product_vector_pin.c.product_id % shards == shard)
    if ids is not None:
        query = query.where(product_vector_pin.c.product_id.in_(ids))
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def _marks(engine: Engine, collection: str) -> dict[int, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(product_vector_shard.c.shard, product_vector_shard.c.store_fingerprint).where(
                product_vector_shard.c.collection == collection
            )
        )
        return {row.shard: row.store_fingerprint for row in rows}


STATE_KEYS = ("shard", "text_hash", "image_hash", "image_fingerprint", "image_error", "payload_hash", "text_model", "image_model")


class VectorSync:
    def __init__(
        self,
        engine: Engine,
        media: MediaStore,
        text_embedder: TextEmbedder,
        image_embedder: ImageEmbedder,
        vectors: VectorStore,
        collection: str,
        shards: int,
        options: SyncOptions | None = None,
        *,
        before_first_write: Callable[[Any], None] | None = None,
        before_write: Callable[[list[int]], None] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.engine = engine
        self.media = media
        self.text_embedder = text_embedder
        self.image_embedder = image_embedder
        self.vectors = vectors
        self.collection = collection
        self.shards = shards
        self.options = options or SyncOptions()
        self.before_first_write = before_first_write
        # Called with the ids of every batch before it goes to Qdrant (the cache keys they will owe).
        self.before_write = before_write
        self.log = log or (lambda message: None)
        self.media_index = images.MediaIndex(media)
        self._image_cache: OrderedDict[str, Any] = OrderedDict()
        self._stack = ExitStack()
        self._client = None
        self._collection_ready = False
        self._fingerprint_at_open: str | None = None
        self._loaded: set[int] = set()
        self._writer: ThreadPoolExecutor | None = None
        self._pending = None
        self._preprocess_in_loaders = True
        self._pinned: set[int] = set()
        self._pin_requested: set[int] = set()

    # -- plumbing -------------------------------------------------------------------------------
    @contextmanager
    def _timed(self, phase: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.report.timings[phase] += time.perf_counter() - started

    def _qdrant(self):
        """The client, opened on first need and kept until the end of the run (local mode: one lock)."""
        if self._client is None:
            with self._timed("qdrant_open"):
                self._client = self._stack.enter_context(self.vectors.client())
            self._fingerprint_at_open = self.vectors.storage_fingerprint(self.collection)
        return self._client

    def _writable(self):
        client = self._qdrant()
        if not self._collection_ready:
            if self.before_first_write is not None:
                self.before_first_write(client)
            self._collection_ready = True
        return client

    # -- run ----------------------------------------------------------------------------------------
    def run(self, shard_list: Iterable[int]) -> SyncReport:
        shard_list = sorted(set(shard_list))
        self.report = SyncReport(
            shards=shard_list, text_model=self.text_embedder.model_name, image_model=self.image_embedder.model_name
        )
        started = time.perf_counter()
        wanted = None
        if self.options.product_ids is not None:
            wanted = sorted(set(self.options.product_ids))
            for pid in wanted:
                if pid % self.shards not in shard_list:
                    self.report.skipped.add(OTHER_SHARD, pid)
        fingerprint_at_start = self.vectors.storage_fingerprint(self.collection)
        marks = _marks(self.engine, self.collection)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vector-writer")
        try:
            with self._stack, self._writer:
                try:
                    for shard in shard_list:
                        ids = None if wanted is None else [pid for pid in wanted if pid % self.shards == shard]
                        if ids == []:
                            continue
                        # Once opened, the storage must still be as it was at the start for a mark to hold.
                        unchanged_since_start = (
                            self._client is None or self._fingerprint_at_open == fingerprint_at_start
                        )
                        trust = (
                            ids is None and not self.options.force and fingerprint_at_start is not None
                            and marks.get(shard) == fingerprint_at_start and unchanged_since_start
                        )
                        self._sync_shard(shard, ids, trust)
                except BaseException:
                    self._drain(quietly=True)  # the write in flight finishes (and is recorded) before the client closes
                    raise
                self._drain()
            self._record_marks(fingerprint_at_start)
        finally:
            self.report.media_objects_listed = self.media_index.objects_listed
            self.report.timings["total"] = time.perf_counter() - started
        return self.report

    def _record_marks(self, fingerprint_at_start: str | None) -> None:
        """After the client is closed: remember the storage as it now is for every shard known to be
        consistent with it (verified in this run, or trusted and nobody else wrote before we opened)."""
        if self._client is None:
            return  # nothing written, nothing verified: the marks still hold
        consistent = list(self.report.verified_shards)
        if self._fingerprint_at_open == fingerprint_at_start:
            consistent += self.report.trusted_shards
        fingerprint = self.vectors.storage_fingerprint(self.collection)
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(
                delete(product_vector_shard).where(
                    product_vector_shard.c.collection == self.collection, product_vector_shard.c.shard.in_(consistent)
                )
            )
            if consistent:
                conn.execute(
                    insert(product_vector_shard),
                    [{"collection": self.collection, "shard": s, "store_fingerprint": fingerprint, "verified_at": now}
                     for s in consistent],
                )

    def _sync_shard(self, shard: int, ids: list[int] | None, trust: bool) -> None:
        with self._timed("read_state"):
            state = state_rows(self.engine, self.shards, shard, ids)
            self._pinned = pinned_ids(self.engine, self.shards, shard, ids)
            self._pin_requested = {pid for pid in self.options.pin_ids or () if pid % self.shards == shard}
        if trust:
            self.report.trusted_shards.append(shard)
            points = {
                pid: PointState(row["text_hash"], row["image_hash"], row["text_model"], row["image_model"], row["payload_hash"])
                for pid, row in state.items() if row["text_hash"] is not None
            }
        else:
            self.report.verified_shards.append(shard)
            self._drain()  # the client is not shared with the writer thread
            client = self._qdrant()
            with self._timed("qdrant_verify"):
                points = (
                    scan_shard(client, self.collection, self.shards, shard) if ids is None
                    else fetch(client, self.collection, ids)
                )
        self.log(f"shard {shard}: {len(points)} points, {len(state)} state rows ({'trusted' if trust else 'verified'})")

        seen: set[int] = set()
        pages = iter_shard_products(self.engine, self.shards, shard, ids, page=self.options.text_batch_size)
        while True:
            with self._timed("read_products"):
                page = next(pages, None)
            if page is None:
                break
            seen.update(p.id for p in page)
            self._sync_page(shard, page, points, state)

        gone = sorted((set(points) | set(state) | self._pinned) - seen)
        for start in range(0, len(gone), self.options.upsert_batch_size):
            part = gone[start : start + self.options.upsert_batch_size]
            batch = WriteBatch(deletes=[pid for pid in part if pid in points])
            self._write(batch, rows=[], removed=part, unpin=[pid for pid in part if pid in self._pinned])
            for pid in batch.deletes:
                self.report.deleted.add(DELETED, pid)

    # -- one page of products ---------------------------------------------------------------------
    def _sync_page(self, shard: int, page: list[CatalogProduct], points: dict, state: dict) -> None:
        report = self.report
        report.products_seen += len(page)
        plans: list[_Plan] = []
        batch = WriteBatch()
        removed: list[int] = []
        with self._timed("plan"):
            wanted = self._pinned | self._pin_requested
            keys = [p.image_key for p in page if p.image_key and p.exclusion_unless(wanted) is None]
            if keys:
                with self._timed("media_list"):
                    self.media_index.prepare(keys)
            pin: list[int] = []  # unavailable products asked for by id: pinned before their point is written
            unpin: list[int] = []  # pinned products that no longer need it (available again, or excluded)
            for p in page:
                reason = p.exclusion_unless(wanted)
                if p.id in self._pinned and (reason is not None or p.is_available):
                    unpin.append(p.id)
                if reason is None and not p.is_available:
                    report.pinned.add(UNAVAILABLE, p.id)
                    if p.id not in self._pinned:
                        pin.append(p.id)
                if reason is not None:
                    report.excluded.add(reason, p.id)
                    if p.id in points or p.id in state:
                        if p.id in points:
                            batch.deletes.append(p.id)
                            report.deleted.add(reason, p.id)
                        removed.append(p.id)
                    continue
                plans.append(self._plan(p, points.get(p.id), state.get(p.id)))
            if pin:
                self._pin(pin)

        to_embed = [plan for plan in plans if plan.embed_text]
        if to_embed:
            self._load_model(self.text_embedder, "text_model_load")
        with self._timed("text_embed"):
            if to_embed:
                vectors = self.text_embedder.encode([plan.text for plan in to_embed])
                for plan, vector in zip(to_embed, vectors):
                    plan.text_vector = vector
        report.text_embedded += len(to_embed)
        self._embed_images([plan for plan in plans if plan.read_image])

        rows = []
        for plan in plans:
            row = self._final_state(shard, plan)
            wrote = self._point_writes(shard, plan, batch)
            if not wrote and plan.state is not None and all(plan.state[k] == row[k] for k in STATE_KEYS):
                report.unchanged += 1
                continue
            if not wrote:
                report.bookkeeping_only += 1
            rows.append(row)
        self._write(batch, rows, removed, unpin)

    def _plan(self, p: CatalogProduct, current: PointState | None, state: dict | None) -> _Plan:
        force = self.options.force
        text = p.text
        payload = product_payload(p)
        plan = _Plan(
            product=p, text=text, text_hash=text_hash(text), payload=payload, payload_hash=payload_hash(payload),
            current=current, state=state, embed_text=False,
        )
        plan.embed_text = (
            force or current is None or current.text_hash != plan.text_hash
            or current.text_model != self.report.text_model
        )
        # The image vector the point holds now is kept unless replaced or the product lost its image.
        plan.image_hash = current.image_hash if current else None
        plan.image_model = current.image_model if current and current.image_hash else None
        if not p.image_key:
            plan.remove_image = plan.image_hash is not None
            plan.image_hash = plan.image_model = None
            return plan
        fingerprint = self.media_index.fingerprint_of(p.image_key)
        plan.image_fingerprint = fingerprint
        if fingerprint is None:
            plan.image_error = images.MISSING
            self.report.image_skipped.add(images.MISSING, p.id)
            return plan
        same_file = state is not None and state["image_fingerprint"] == fingerprint
        if (
            not force and same_file and current is not None and current.image_hash is not None
            and current.image_hash == state["image_hash"] and current.image_model == self.report.image_model
            and state["image_error"] is None  # else this file was never embedded (a failed read, a bad file)
        ):
            return plan  # image unchanged: nothing read
        if (
            not force and same_file and state["image_error"] and state["image_error"] not in images.TRANSIENT
            and (current is None or current.image_hash == state["image_hash"])
        ):
            plan.image_error = state["image_error"]  # the same bad file as last time: not read again
            self.report.image_skipped.add(plan.image_error, p.id)
            return plan
        plan.read_image = True
        return plan

    def _load_model(self, embedder: Any, phase: str) -> None:
        """Load a model on first need, timed on its own (not counted as embedding time)."""
        if id(embedder) not in self._loaded and hasattr(embedder, "load"):
            with self._timed(phase):
                embedder.load()
        self._loaded.add(id(embedder))

    def _embed_images(self, plans: list[_Plan]) -> None:
        """Read, hash, decode and embed the candidates; identical bytes go through the model once."""
        if not plans:
            return
        self._load_model(self.image_embedder, "image_model_load")
        self._preprocess_in_loaders = self.image_embedder.preprocess_in_loaders
        size = max(1, self.options.image_batch_size)
        chunks = [plans[start : start + size] for start in range(0, len(plans), size)]
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="image-load") as pool:
            # Reading and decoding the next chunk overlaps with the model working on this one.
            upcoming = [pool.submit(self._load_one, plan) for plan in chunks[0]]
            for index, chunk in enumerate(chunks):
                futures = upcoming
                if index + 1 < len(chunks):
                    upcoming = [pool.submit(self._load_one, plan) for plan in chunks[index + 1]]
                with self._timed("image_load_wait"):
                    loaded = [future.result() for future in futures]
                self._encode_chunk(chunk, loaded)

    def _holds(self, plan: _Plan, digest: str | None) -> bool:
        """The point already has the vector of exactly these bytes, from this model."""
        return (
            not self.options.force and plan.current is not None and digest is not None
            and plan.current.image_hash == digest and plan.current.image_model == self.report.image_model
        )

    def _load_one(self, plan: _Plan):
        """(digest, error, detail, the model's input (a tensor, or a decoded image to preprocess) or None)."""
        loaded = images.read_image(self.media, plan.product.image_key)
        if loaded.error:
            return loaded.digest, loaded.error, loaded.detail, None
        if self._holds(plan, loaded.digest):
            return loaded.digest, None, "", None
        image, error, detail = images.decode(loaded.data)
        if error:
            return loaded.digest, error, detail, None
        return loaded.digest, None, "", self.image_embedder.preprocess(image) if self._preprocess_in_loaders else image

    def _encode_chunk(self, chunk: list[_Plan], loaded: list) -> None:
        report = self.report
        found: dict[str, Any] = {}  # digest -> vector, for this chunk
        todo: dict[str, Any] = {}  # digest -> tensor; identical bytes go through the model once
        for plan, (digest, error, detail, tensor) in zip(chunk, loaded):
            if error:
                plan.image_error = error
                report.image_skipped.add(error, plan.product.id)
                if error in images.TRANSIENT:
                    report.image_retry += 1
                self.log(f"product {plan.product.id}: image {plan.product.image_key!r} skipped: {error} ({detail})")
            elif tensor is not None and digest not in found and digest not in todo:
                if digest in self._image_cache:
                    found[digest] = self._image_cache[digest]
                else:
                    todo[digest] = tensor
        if todo:
            with self._timed("image_embed"):
                inputs = list(todo.values())
                if not self._preprocess_in_loaders:
                    inputs = [self.image_embedder.preprocess(image) for image in inputs]
                vectors = self.image_embedder.encode_tensors(inputs)
            report.image_encoded += len(todo)
            for digest, vector in zip(todo, vectors):
                found[digest] = vector
                self._image_cache[digest] = vector
                if len(self._image_cache) > IMAGE_CACHE_SIZE:
                    self._image_cache.popitem(last=False)
        for plan, (digest, error, _detail, tensor) in zip(chunk, loaded):
            if error:
                continue
            plan.image_hash, plan.image_model = digest, report.image_model
            if tensor is not None:  # else: the bytes of the vector the point already holds
                plan.image_vector = found[digest]
                report.image_embedded += 1

    # -- writes -------------------------------------------------------------------------------------
    def _point_payload(self, shard: int, plan: _Plan) -> dict:
        return {
            **plan.payload,
            "shard": shard,
            "text_hash": plan.text_hash,
            "text_model": self.report.text_model,
            "image_hash": plan.image_hash,
            "image_model": plan.image_model,
            "payload_hash": plan.payload_hash,
        }

    def _point_writes(self, shard: int, plan: _Plan, batch: WriteBatch) -> bool:
        """Add this product's Qdrant operations to the batch; False when the point is already right."""
        pid = plan.product.id
        if plan.current is None:
            vectors = {TEXT: plan.text_vector.tolist()}
            if plan.image_vector is not None:
                vectors[IMAGE] = plan.image_vector.tolist()
            batch.creates.append((pid, vectors, self._point_payload(shard, plan)))
            self.report.points_created += 1
            return True
        target = PointState(plan.text_hash, plan.image_hash, self.report.text_model, plan.image_model, plan.payload_hash)
        vectors = {}
        if plan.text_vector is not None:
            vectors[TEXT] = plan.text_vector.tolist()
        if plan.image_vector is not None:
            vectors[IMAGE] = plan.image_vector.tolist()
        if not vectors and not plan.remove_image and target == plan.current:
            return False
        if vectors:
            batch.vector_updates.append((pid, vectors))
        if plan.remove_image:
            batch.image_removals.append(pid)
            self.report.image_vectors_removed += 1
        if not vectors and not plan.remove_image:
            self.report.payload_only_updates += 1
        batch.payloads.append((pid, self._point_payload(shard, plan)))
        self.report.points_updated += 1
        return True

    def _final_state(self, shard: int, plan: _Plan) -> dict:
        return {
            "product_id": plan.product.id,
            "shard": shard,
            "text_hash": plan.text_hash,
            "image_hash": plan.image_hash,
            "image_fingerprint": plan.image_fingerprint,
            "image_error": plan.image_error,
            "payload_hash": plan.payload_hash,
            "text_model": self.report.text_model,
            "image_model": plan.image_model,
            "updated_at": datetime.now(timezone.utc),
        }

    def _pin(self, ids: list[int]) -> None:
        """Record the request before the point exists: a crash in between leaves a pin the next run honours."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(delete(product_vector_pin).where(product_vector_pin.c.product_id.in_(ids)))
            conn.execute(insert(product_vector_pin), [{"product_id": pid, "pinned_at": now} for pid in ids])
        self._pinned |= set(ids)

    def _write(self, batch: WriteBatch, rows: list[dict], removed: list[int], unpin: list[int] = ()) -> None:
        """Queue one page's writes. They run in the writer thread while the next page is read and
        embedded (a model and a Qdrant/database write both release the GIL); one write in flight at
        most, in order, and its failure stops the run at the next page."""
        self._drain()
        if len(batch):
            self._writable()  # opened (and the collection ensured) in this thread
            if self.before_write is not None:
                self.before_write(batch.product_ids())
        self._pending = self._writer.submit(self._write_now, batch, rows, removed, list(unpin))

    def _drain(self, quietly: bool = False) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        with self._timed("write_wait"):
            try:
                pending.result()
            except Exception:
                if not quietly:
                    raise

    def _write_now(self, batch: WriteBatch, rows: list[dict], removed: list[int], unpin: list[int] = ()) -> None:
        """Qdrant first; the bookkeeping only once Qdrant said yes."""
        if len(batch):
            with self._timed("qdrant_write"):
                self.report.qdrant_requests += apply(self._client, self.collection, batch, self.options.upsert_batch_size)
        if rows or removed:
            with self._timed("state_write"), self.engine.begin() as conn:
                ids = [row["product_id"] for row in rows] + removed
                conn.execute(delete(product_vector_state).where(product_vector_state.c.product_id.in_(ids)))
                if rows:
                    conn.execute(insert(product_vector_state), rows)
        if unpin:
            with self.engine.begin() as conn:
                conn.execute(delete(product_vector_pin).where(product_vector_pin.c.product_id.in_(unpin)))
