"""What the row cleanups share: the retention cutoff and bounded DELETE batches."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, Table, delete, select


def retention_cutoff(retention_days: int, batch_rows: int, now: datetime | None = None) -> datetime:
    """`now - retention`: rows strictly older are deleted, a row exactly at the cutoff is kept."""
    if retention_days < 0:
        raise ValueError(f"retention_days must be >= 0, got {retention_days}")
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
    return (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)


def delete_in_batches(engine: Engine, table: Table, condition, batch_rows: int) -> tuple[int, int]:
    """Delete the rows matching `condition`, at most `batch_rows` per statement, each committed on its
    own so no statement holds long locks. Returns (rows deleted, statements run)."""
    batch = select(table.c.id).where(condition).order_by(table.c.id).limit(batch_rows)
    deleted = statements = 0
    while True:
        with engine.begin() as conn:
            removed = conn.execute(delete(table).where(table.c.id.in_(batch))).rowcount
        statements += 1
        deleted += removed
        if removed < batch_rows:
            return deleted, statements
