"""What the row cleanups share: the retention cutoff, bounded DELETE batches, and the errors of batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError

# What one batch can run into on a live database (a lock or statement timeout, a deadlock, a trigger or
# constraint refusing the row): counted and reported, the other batches go on. A ProgrammingError
# (a bug in our SQL) is not among them: it fails the run as itself.
BATCH_ERRORS = (OperationalError, IntegrityError, InternalError)
ERRORS_LISTED = 10


@dataclass
class BatchErrors:
    count: int = 0
    examples: list[str] = field(default_factory=list)  # the first ERRORS_LISTED, "what: error"

    def add(self, what: str, exc: Exception) -> None:
        self.count += 1
        if len(self.examples) < ERRORS_LISTED:
            first_line = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else ""
            self.examples.append(f"{what}: {exc.__class__.__name__}: {first_line}")


def retention_cutoff(retention_days: int, batch_rows: int, now: datetime | None = None) -> datetime:
    """`now - retention`: rows strictly older are deleted, a row exactly at the cutoff is kept."""
    if retention_days < 0:
        raise ValueError(f"retention_days must be >= 0, got {retention_days}")
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
    return (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)


def delete_in_batches(engine: Engine, table: Table, condition, batch_rows: int, errors: BatchErrors) -> tuple[int, int]:
    """Delete the rows matching `condition`, at most `batch_rows` per statement, each committed on its
    own so no statement holds long locks. Batches go in id order past the previous one, so a batch that
    fails (recorded in `errors`) is skipped, not retried forever. Returns (rows deleted, statements run)."""
    deleted = statements = 0
    last_id = None
    while True:
        batch = select(table.c.id).where(condition).order_by(table.c.id).limit(batch_rows)
        if last_id is not None:
            batch = batch.where(table.c.id > last_id)
        with engine.connect() as conn:
            ids = list(conn.execute(batch).scalars())
        if not ids:
            return deleted, statements
        last_id = ids[-1]
        try:
            with engine.begin() as conn:
                deleted += conn.execute(delete(table).where(table.c.id.in_(ids), condition)).rowcount
        except BATCH_ERRORS as exc:
            errors.add(f"{table.name} ids {ids[0]}..{ids[-1]}", exc)
        statements += 1
        if len(ids) < batch_rows:
            return deleted, statements
