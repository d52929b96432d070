"""The application database as a Dagster resource: SQLite file by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import dagster as dg
from pydantic import Field
from sqlalchemy import Connection, Engine

from appdb.engine import shared_engine
from orchestration.settings import setting_field


class DatabaseResource(dg.ConfigurableResource):
    """Connections to the applications' database. The engine is created on first use, once per process."""

    # Required: the same resource serves DATABASE_URL and the domain databases (ASSISTANT_/CONTENT_/RAG_...).
    url: str = Field(description="SQLAlchemy URL of DATABASE_URL or a domain's *_DATABASE_URL, e.g. sqlite:///.data/app.db or postgresql+psycopg2://...")
    pool_size: int = setting_field("DB_POOL_SIZE", int)
    max_overflow: int = Field(default=5, description="Extra connections allowed under burst (PostgreSQL).")

    @property
    def engine(self) -> Engine:
        return shared_engine(self.url, pool_size=self.pool_size, max_overflow=self.max_overflow)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn
