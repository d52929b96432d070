"""The index's bookkeeping in RAG_DATABASE_URL: read the cursor and tombstones; after a written page,
record its tombstones and rejections and move the cursor, all in one transaction."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import Engine, and_, delete, func, insert, select, tuple_, update

from assets.rag.index.items import Rejection
from assets.rag.index.tables import rag_ingest_cursor, rag_rejected_item, rag_tombstone


def now() -> datetime:
    return datetime.now(timezone.utc)


def read_cursor(engine: Engine, collection: str) -> str:
    with engine.connect() as conn:
        value = conn.execute(select(rag_ingest_cursor.c.cursor).where(rag_ingest_cursor.c.collection == collection)).scalar()
    return value or ""


def cursor_row(engine: Engine, collection: str):
    with engine.connect() as conn:
        return conn.execute(select(rag_ingest_cursor).where(rag_ingest_cursor.c.collection == collection)).first()


def tombstones_of(engine: Engine, documents: Iterable[str]) -> dict[tuple[str, str], float]:
    """{(document_id, chunk_id or ''): deleted_ts} of these documents."""
    documents = sorted(set(documents))
    found: dict[tuple[str, str], float] = {}
    with engine.connect() as conn:
        for start in range(0, len(documents), 500):
            rows = conn.execute(
                select(rag_tombstone.c.document_id, rag_tombstone.c.chunk_id, rag_tombstone.c.deleted_ts)
                .where(rag_tombstone.c.document_id.in_(documents[start : start + 500]))
            )
            found.update({(d, c): ts for d, c, ts in rows})
    return found


def commit_page(
    engine: Engine,
    *,
    collection: str,
    since: str,
    next_cursor: str,
    items: int,
    tombstones: dict[tuple[str, str], float],
    rejections: list[Rejection],
    rejections_collection: str,
    run_id: str | None,
) -> None:
    """After the page's points are written: its tombstones (newest wins), its rejections (replacing
    any recorded by an earlier read of the same page) and the cursor, in one transaction."""
    stamp = now()
    with engine.begin() as conn:
        _record_tombstones(conn, tombstones, stamp)
        conn.execute(
            delete(rag_rejected_item).where(
                and_(rag_rejected_item.c.collection == rejections_collection, rag_rejected_item.c.since == since)
            )
        )
        if rejections:
            conn.execute(
                insert(rag_rejected_item),
                [
                    {"collection": rejections_collection, "since": since, "position": r.position,
                     "document_id": r.document_id, "chunk_id": r.chunk_id, "reason": r.reason, "detail": r.detail[:2000],
                     "item": r.item, "recorded_at": stamp}
                    for r in rejections
                ],
            )
        moved = conn.execute(
            update(rag_ingest_cursor)
            .where(rag_ingest_cursor.c.collection == collection)
            .values(cursor=next_cursor, pages_read=rag_ingest_cursor.c.pages_read + 1, items_read=rag_ingest_cursor.c.items_read + items,
                    last_run_id=run_id, updated_at=stamp)
        ).rowcount
        if not moved:
            conn.execute(
                insert(rag_ingest_cursor).values(collection=collection, cursor=next_cursor, pages_read=1, items_read=items,
                                                 last_run_id=run_id, updated_at=stamp)
            )


def set_cursor(engine: Engine, collection: str, cursor: str, run_id: str | None) -> None:
    """Point `collection`'s cursor at `cursor` (a full sync hands its end position to the alias)."""
    with engine.begin() as conn:
        conn.execute(delete(rag_ingest_cursor).where(rag_ingest_cursor.c.collection == collection))
        conn.execute(insert(rag_ingest_cursor).values(collection=collection, cursor=cursor, pages_read=0, items_read=0,
                                                     last_run_id=run_id, updated_at=now()))


def drop_cursor(engine: Engine, collection: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(rag_ingest_cursor).where(rag_ingest_cursor.c.collection == collection))


def rejected_counts(engine: Engine, collection: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(rag_rejected_item.c.reason, func.count()).where(rag_rejected_item.c.collection == collection)
            .group_by(rag_rejected_item.c.reason)
        )
        return dict(rows.all())


def document_tombstones(engine: Engine, limit: int) -> list[tuple[str, float]]:
    """The most recent whole-document deletes: (document_id, deleted_ts)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(rag_tombstone.c.document_id, rag_tombstone.c.deleted_ts)
            .where(rag_tombstone.c.chunk_id == "").order_by(rag_tombstone.c.deleted_ts.desc()).limit(limit)
        )
        return [(d, ts) for d, ts in rows]


def _record_tombstones(conn, tombstones: dict[tuple[str, str], float], stamp: datetime) -> None:
    """Insert new tombstones, move existing ones forward (a newer delete wins)."""
    if not tombstones:
        return
    existing = dict(
        ((d, c), ts)
        for d, c, ts in conn.execute(
            select(rag_tombstone.c.document_id, rag_tombstone.c.chunk_id, rag_tombstone.c.deleted_ts)
            .where(tuple_(rag_tombstone.c.document_id, rag_tombstone.c.chunk_id).in_(list(tombstones)))
        )
    )
    new = [{"document_id": d, "chunk_id": c, "deleted_ts": ts, "recorded_at": stamp}
           for (d, c), ts in tombstones.items() if (d, c) not in existing]
    if new:
        conn.execute(insert(rag_tombstone), new)
    for (d, c), ts in tombstones.items():
        if (d, c) in existing and existing[(d, c)] < ts:
            conn.execute(
                update(rag_tombstone)
                .where(and_(rag_tombstone.c.document_id == d, rag_tombstone.c.chunk_id == c))
                .values(deleted_ts=ts, recorded_at=stamp)
            )


def commit_tombstone(engine: Engine, document_id: str, chunk_id: str, deleted_ts: float) -> None:
    """Record one delete made outside the feed (rag_delete_document_job); a newer one is kept."""
    with engine.begin() as conn:
        _record_tombstones(conn, {(document_id, chunk_id): deleted_ts}, now())
