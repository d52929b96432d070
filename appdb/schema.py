"""Create the schema idempotently: safe on an empty database and on one that already has tables.

Every table module is listed once in `SCHEMA_PARTS`, with the variable of the database its tables
live in (each application owns its database in production; in the embedded default every URL is the
same SQLite file). A module registers its tables on `appdb.base.metadata` and may define
`install_triggers(engine)` (change capture), which runs after its tables exist.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Iterable

from sqlalchemy import Engine, inspect

from appdb.base import metadata


@dataclass(frozen=True)
class SchemaPart:
    module: str  # dotted module name of a table module
    database: str  # the environment variable of its database URL (see orchestration/settings.py)


SCHEMA_PARTS: tuple[SchemaPart, ...] = (
    SchemaPart("appdb.tables", "DATABASE_URL"),
    SchemaPart("appdb.platform_tables", "DATABASE_URL"),
    SchemaPart("appdb.changes", "DATABASE_URL"),
    SchemaPart("appdb.recsys_tables", "DATABASE_URL"),
    SchemaPart("appdb.posts_tables", "DATABASE_URL"),
    # Seed 003 wellbeing chat (issue 16).
    SchemaPart("assets.content.tables", "CONTENT_DATABASE_URL"),
    # Seed 004 users side (issue 15): query log, users, outbox, caches, conversations.
    SchemaPart("assets.rag.users.tables", "RAG_DATABASE_URL"),
    # Seed 002 (issue 13): the configurator catalog, the assistant's documents and change log.
    SchemaPart("assets.assistant.tables", "ASSISTANT_DATABASE_URL"),
    # Seed 004 RAG core, document index (issue 14): ingest cursor, tombstones, rejected items.
    SchemaPart("assets.rag.index.tables", "RAG_DATABASE_URL"),
)

DATABASE_VARIABLES: tuple[str, ...] = tuple(dict.fromkeys(part.database for part in SCHEMA_PARTS))


def _modules(databases: Iterable[str] | None) -> list[ModuleType]:
    wanted = None if databases is None else set(databases)
    return [importlib.import_module(p.module) for p in SCHEMA_PARTS if wanted is None or p.database in wanted]


def init_schema(engine: Engine, databases: Iterable[str] | None = None) -> list[str]:
    """Create the missing tables of the parts that live in `databases` (None: every part, as tests and
    the embedded default want) and (re)install their change-capture triggers; return the names of
    the tables created (empty on a second run)."""
    modules = _modules(databases)
    tables = [t for t in metadata.sorted_tables if t.name in _table_names(modules)]
    before = set(inspect(engine).get_table_names())
    metadata.create_all(engine, tables=tables, checkfirst=True)
    for module in modules:
        install = getattr(module, "install_triggers", None)
        if install is not None:
            install(engine)  # replaced in place, every time
    after = set(inspect(engine).get_table_names())
    return sorted(after - before)


def _table_names(modules: list[ModuleType]) -> set[str]:
    from sqlalchemy import Table

    return {value.name for module in modules for value in vars(module).values() if isinstance(value, Table)}
