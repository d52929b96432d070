"""Fixtures of the assistant tests: the demo catalog on SQLite and PostgreSQL, local Qdrant, the bundled text model."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from assets.assistant.demo_catalog import seed_catalog
from assets.assistant.index import TEXT, KnowledgeIndex
from assets.assistant.tables import assistant_change, assistant_document
from resources.embedders import TextEmbedderResource
from resources.vectors import ensure_collection

ALIAS = "assistant_knowledge"


@pytest.fixture
def catalog(engine):
    """`engine` (SQLite and PostgreSQL) holding the demo catalog, its change log emptied."""
    seed_catalog(engine)
    consume_changes(engine)
    return engine


def consume_changes(engine) -> list[str]:
    """The entity keys logged since the last call (as the sensor hands them to the run), then forget them."""
    with engine.begin() as conn:
        rows = conn.execute(select(assistant_change.c.entity_type, assistant_change.c.entity_id).order_by(assistant_change.c.seq)).all()
        conn.execute(delete(assistant_change))
    return sorted({f"{t}:{i}" for t, i in rows})


def documents(engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {row.doc_key: row for row in conn.execute(select(assistant_document)).all()}


@pytest.fixture(scope="session")
def embedder():
    """The bundled model on the CPU, loaded once for the session."""
    return TextEmbedderResource(device="cpu")


@pytest.fixture
def qdrant(tmp_path):
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(tmp_path / "qdrant"), force_disable_check_same_thread=True)
    yield client
    client.close()


def make_index(engine, client, embedder, **kwargs) -> KnowledgeIndex:
    return KnowledgeIndex(
        engine, client, ALIAS, embedder,
        ensure_collection=lambda c, name: ensure_collection(c, name, {TEXT: embedder.dimension}), **kwargs,
    )
