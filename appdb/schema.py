"""Create the schema idempotently: safe on an empty database and on one that already has tables."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from appdb.changes import install_triggers
from appdb.posts_tables import install_post_triggers
from appdb.tables import metadata


def init_schema(engine: Engine) -> list[str]:
    """Create the missing tables and (re)install the change-capture triggers; return the names of the
    tables created (empty on a second run)."""
    before = set(inspect(engine).get_table_names())
    metadata.create_all(engine, checkfirst=True)
    install_triggers(engine)  # change capture for the sensors: replaced in place, every time
    install_post_triggers(engine)
    after = set(inspect(engine).get_table_names())
    return sorted(after - before)
