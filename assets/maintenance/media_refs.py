"""Every place the database refers to a media key, and how the orphan cleanup reads them.

`MEDIA_REFERENCES` is the registry: one single-column SELECT per table/column holding media keys
(plain relative keys such as "products/12.jpg", compared exactly). A table that starts storing media
adds its SELECT here, and the orphan cleanup keeps its files from then on.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import Connection, Select, select

from appdb.tables import product

MEDIA_REFERENCES: tuple[Select, ...] = (
    select(product.c.image_key).where(product.c.image_key.is_not(None), product.c.image_key != ""),
)

STREAM_ROWS = 20_000
RECHECK_CHUNK = 500


def load_references(conn: Connection, sources: Sequence[Select] = MEDIA_REFERENCES, batch: int = STREAM_ROWS) -> set[str]:
    """All referenced keys as one set, streamed from the database in batches (server-side cursor on PostgreSQL)."""
    keys: set[str] = set()
    for source in sources:
        result = conn.execution_options(yield_per=batch).execute(source)
        for rows in result.partitions():
            keys.update(row[0] for row in rows)
    return keys


def referenced_among(conn: Connection, keys: Iterable[str], sources: Sequence[Select] = MEDIA_REFERENCES) -> set[str]:
    """Which of `keys` some row references right now (the re-check just before deletion)."""
    keys = list(keys)
    found: set[str] = set()
    for source in sources:
        sub = source.subquery()
        column = next(iter(sub.c))
        for start in range(0, len(keys), RECHECK_CHUNK):
            chunk = keys[start : start + RECHECK_CHUNK]
            found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found
