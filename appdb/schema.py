"""Create the schema idempotently: safe on an empty database and on one that already has tables."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from appdb.tables import metadata


def init_schema(engine: Engine) -> list[str]:
    """Create the missing tables; return the names of those created (empty on a second run)."""
    before = set(inspect(engine).get_table_names())
    metadata.create_all(engine, checkfirst=True)
    after = set(inspect(engine).get_table_names())
    return sorted(after - before)
