"""Small SQL helpers the content domain shares (dialect-portable UPSERTs, UTC timestamps, batches)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

DIALECT_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def dialect_insert(conn: Connection, table):
    return DIALECT_INSERT[conn.dialect.name](table)


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
