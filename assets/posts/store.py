"""Reading posts by day window and writing `post_enrichment` idempotently, on SQLite and PostgreSQL.

The UPSERT rewrites a row only when its `data_hash` differs (`IS DISTINCT FROM` in the conflict
clause), so re-running a partition touches nothing that is already right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

from sqlalchemy import Connection, Engine, and_, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from appdb.tables import post, post_enrichment
from assets.posts.grounding import data_hash

DIALECT_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}
ROWS_PER_STATEMENT = 500


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def day_key(value: datetime) -> str:
    """The daily partition of a post: the UTC date of posted_at."""
    return as_utc(value).date().isoformat()


def in_window(start: datetime, end: datetime):
    return and_(post.c.posted_at >= as_utc(start), post.c.posted_at < as_utc(end))


def iter_pages(engine: Engine, query, key_column, page_rows: int) -> Iterator[list]:
    """Rows of `query` in pages by ascending `key_column` (keyset: constant memory, no OFFSET)."""
    last = None
    while True:
        paged = query.order_by(key_column).limit(page_rows)
        if last is not None:
            paged = paged.where(key_column > last)
        with engine.connect() as conn:
            rows = conn.execute(paged).all()
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], key_column.name)
        if len(rows) < page_rows:
            return


def dialect_insert(conn: Connection, table):
    return DIALECT_INSERT[conn.dialect.name](table)


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def add(self, other: "UpsertCounts") -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert_enrichments(conn: Connection, kind: str, items: dict[int, Any], now: datetime) -> UpsertCounts:
    """Write `data` per post for `kind` inside the caller's transaction; count what changed."""
    counts = UpsertCounts()
    if not items:
        return counts
    rows = [
        {"post_id": post_id, "kind": kind, "data": data, "data_hash": data_hash(data), "updated_at": now}
        for post_id, data in sorted(items.items())
    ]
    for chunk in _chunks(rows, ROWS_PER_STATEMENT):
        existing = dict(
            conn.execute(
                select(post_enrichment.c.post_id, post_enrichment.c.data_hash).where(
                    post_enrichment.c.kind == kind, post_enrichment.c.post_id.in_([r["post_id"] for r in chunk])
                )
            ).all()
        )
        for row in chunk:
            old = existing.get(row["post_id"])
            if old is None:
                counts.inserted += 1
            elif old != row["data_hash"]:
                counts.updated += 1
            else:
                counts.unchanged += 1
        statement = dialect_insert(conn, post_enrichment).values(chunk)
        statement = statement.on_conflict_do_update(
            index_elements=[post_enrichment.c.post_id, post_enrichment.c.kind],
            set_={
                "data": statement.excluded.data,
                "data_hash": statement.excluded.data_hash,
                "updated_at": statement.excluded.updated_at,
            },
            where=post_enrichment.c.data_hash.is_distinct_from(statement.excluded.data_hash),
        )
        conn.execute(statement)
    return counts


def delete_enrichments(conn: Connection, kind: str, post_ids: list[int]) -> int:
    deleted = 0
    for chunk in _chunks(sorted(post_ids), ROWS_PER_STATEMENT):
        deleted += conn.execute(
            delete(post_enrichment).where(post_enrichment.c.kind == kind, post_enrichment.c.post_id.in_(chunk))
        ).rowcount
    return deleted
