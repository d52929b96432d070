"""Small SQL helpers shared by the users-side modules (both dialects)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, Table


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value) -> datetime | None:
    """A timestamp read back from either dialect as an aware UTC datetime (SQLite returns naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def insert_for(engine: Engine, table: Table):
    """The dialect's INSERT, which has on_conflict_do_nothing / on_conflict_do_update."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
