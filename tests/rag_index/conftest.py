"""RAG index fixtures: the ingest server, local Qdrant, an ingest client with fast retries, small vectors."""

from __future__ import annotations

import numpy as np
import pytest

from resources.ingest import IngestResource
from resources.vectors import VectorStoreResource
from tests.support.ingest import IngestServer

DIM = 8
KEY = "test-key"


def unit(*values: float) -> list[float]:
    """A DIM-sized vector from its first values (the rest 0), as an item's own embedding."""
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector.tolist()


@pytest.fixture
def ingest_server():
    with IngestServer(KEY) as server:
        yield server


def fast_ingest(url: str, key: str = KEY, batch: int = 3, attempts: int = 4) -> IngestResource:
    """An ingest resource whose retries wait milliseconds, not seconds."""
    return IngestResource(url=url, api_key=key, batch=batch, read_timeout_s=5, connect_timeout_s=2, attempts=attempts,
                          retry_max_wait_s=0.05, retry_multiplier_s=0.01)


@pytest.fixture
def ingest(ingest_server):
    return fast_ingest(ingest_server.url)


@pytest.fixture
def vectors(tmp_path):
    return VectorStoreResource(path=str(tmp_path / "qdrant"), lock_wait_s=5)


class LetterEmbedder:
    """A deterministic stand-in for the text model in the sync-logic tests: letter counts folded into
    DIM dimensions (the real model is used by the asset tests)."""

    model_name = "letters-test"
    dimension = DIM

    def __init__(self):
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for ch in text:
                out[row, ord(ch) % DIM] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)
