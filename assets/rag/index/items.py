"""Ingest items -> what the index does with them: upsert a chunk, delete a chunk or a document, or
reject the item with a reason. Plain functions, no I/O."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from resources.language import normalize_text
from resources.vectors import point_id

# Rejection reasons (the metadata and `rag_rejected_item.reason` use these words).
NOT_AN_OBJECT = "not_an_object"
NO_DOCUMENT_ID = "no_document_id"
NO_CHUNK_ID = "no_chunk_id"
BAD_UPDATED_AT = "bad_updated_at"
NO_TEXT_NO_EMBEDDING = "no_text_no_embedding"
EMBEDDING_NOT_FINITE = "embedding_not_finite"
EMBEDDING_WRONG_DIMENSION = "embedding_wrong_dimension"
EMBEDDING_NOT_NUMBERS = "embedding_not_numbers"

WHOLE_DOCUMENT = ""  # the chunk_id of a whole-document tombstone


def chunk_point_id(document_id: str, chunk_id: str) -> str:
    """UUID5 of (document_id, chunk_id); the length prefix keeps ("a:b", "c") and ("a", "b:c") apart."""
    return point_id("rag_chunk", f"{len(document_id)}:{document_id}:{chunk_id}")


@dataclass
class Chunk:
    document_id: str
    chunk_id: str
    text: str  # normalized
    metadata: dict
    updated_at: str
    ts: float
    embedding: np.ndarray | None  # the item's own vector when usable, else None (embed `text`)
    note: str = ""  # why the item's own embedding was not used, when it had one

    @property
    def key(self) -> tuple[str, str]:
        return self.document_id, self.chunk_id

    @property
    def point_id(self) -> str:
        return chunk_point_id(self.document_id, self.chunk_id)

    def content_hash(self, model: str) -> str:
        """Of what the point holds: text, metadata and where its vector comes from."""
        if self.embedding is not None:
            source = "item:" + hashlib.sha1(np.ascontiguousarray(self.embedding, dtype=np.float32).tobytes()).hexdigest()
        else:
            source = "model:" + model
        body = json.dumps([self.text, self.metadata, source], ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha1(body.encode("utf-8")).hexdigest()


@dataclass
class Deletion:
    document_id: str
    chunk_id: str  # WHOLE_DOCUMENT for every chunk of the document
    ts: float


@dataclass
class Rejection:
    position: int
    document_id: str | None
    chunk_id: str | None
    reason: str
    detail: str
    item: Any


def parse_ts(value: Any) -> float | None:
    """updated_at (ISO 8601; naive = UTC) as epoch seconds, None when it is not a timestamp."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _ident(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    return None


def _stored(item: Any) -> Any:
    """The item as kept with a rejection: without a (possibly long) embedding."""
    if isinstance(item, dict) and isinstance(item.get("embedding"), list):
        return {**item, "embedding": f"<{len(item['embedding'])} values>"}
    return item


def parse_item(position: int, item: Any, dimension: int) -> Chunk | Deletion | Rejection:
    def reject(reason: str, detail: str, doc: str | None = None, chunk: str | None = None) -> Rejection:
        return Rejection(position, doc, chunk, reason, detail, _stored(item))

    if not isinstance(item, dict):
        return reject(NOT_AN_OBJECT, f"item {position} is {type(item).__name__}, not an object")
    doc = _ident(item.get("document_id"))
    chunk = _ident(item.get("chunk_id"))
    if doc is None:
        return reject(NO_DOCUMENT_ID, f"item {position} has no document_id (got {item.get('document_id')!r})", chunk=chunk)
    ts = parse_ts(item.get("updated_at"))
    if ts is None:
        return reject(BAD_UPDATED_AT, f"updated_at {item.get('updated_at')!r} is not an ISO 8601 timestamp", doc, chunk)
    if item.get("deleted") is True:
        return Deletion(doc, chunk or WHOLE_DOCUMENT, ts)
    if chunk is None:
        return reject(NO_CHUNK_ID, "a live item needs a chunk_id", doc)
    text = normalize_text(item["text"]) if isinstance(item.get("text"), str) else ""
    embedding, problem = _embedding(item.get("embedding"), dimension)
    if embedding is None and not text:
        if problem is None:
            return reject(NO_TEXT_NO_EMBEDDING, "neither text nor embedding", doc, chunk)
        return reject(problem[0], problem[1] + " and no text to embed instead", doc, chunk)
    metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    return Chunk(doc, chunk, text, metadata, item["updated_at"], ts, embedding, note=problem[0] if problem else "")


def _embedding(raw: Any, dimension: int) -> tuple[np.ndarray | None, tuple[str, str] | None]:
    """The item's vector if usable, else None and (reason, detail) when it had one."""
    if raw is None:
        return None, None
    if not isinstance(raw, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        return None, (EMBEDDING_NOT_NUMBERS, "embedding is not a list of numbers")
    if len(raw) != dimension:
        return None, (EMBEDDING_WRONG_DIMENSION, f"embedding has {len(raw)} values, the collection {dimension}")
    vector = np.asarray(raw, dtype=np.float32)
    norm = float(np.linalg.norm(vector)) if np.isfinite(vector).all() else math.nan
    if not math.isfinite(norm) or norm == 0.0:
        return None, (EMBEDDING_NOT_FINITE, "embedding has NaN/infinite values or is all zeros")
    return vector / norm, None


@dataclass
class PagePlan:
    """A page reduced to its final effect, in feed order: later items win, deletes win ties."""

    upserts: dict[tuple[str, str], Chunk]
    document_deletes: dict[str, float]
    chunk_deletes: dict[tuple[str, str], float]
    rejections: list[Rejection]
    superseded: int = 0  # upserts undone by a later item of the same page

    @property
    def documents(self) -> set[str]:
        """Every document whose points this page may change."""
        return {d for d, _ in self.upserts} | set(self.document_deletes) | {d for d, _ in self.chunk_deletes}


def plan_page(items: list, dimension: int) -> PagePlan:
    plan = PagePlan({}, {}, {}, [])
    for position, item in enumerate(items):
        parsed = parse_item(position, item, dimension)
        if isinstance(parsed, Rejection):
            plan.rejections.append(parsed)
        elif isinstance(parsed, Deletion):
            if parsed.chunk_id == WHOLE_DOCUMENT:
                plan.document_deletes[parsed.document_id] = max(parsed.ts, plan.document_deletes.get(parsed.document_id, parsed.ts))
                doomed = [k for k, c in plan.upserts.items() if k[0] == parsed.document_id and c.ts <= parsed.ts]
            else:
                key = (parsed.document_id, parsed.chunk_id)
                plan.chunk_deletes[key] = max(parsed.ts, plan.chunk_deletes.get(key, parsed.ts))
                doomed = [key] if key in plan.upserts and plan.upserts[key].ts <= parsed.ts else []
            for key in doomed:
                del plan.upserts[key]
            plan.superseded += len(doomed)
        else:
            deleted_ts = max(plan.document_deletes.get(parsed.document_id, -math.inf), plan.chunk_deletes.get(parsed.key, -math.inf))
            known = plan.upserts.get(parsed.key)
            if deleted_ts >= parsed.ts or (known is not None and known.ts > parsed.ts):
                plan.superseded += 1
                continue
            plan.superseded += known is not None
            plan.upserts[parsed.key] = parsed
    return plan
