"""ensure_collection on Qdrant local mode: created once with every size; an existing collection checked
against the models this process knows, without loading one only for the check."""

import pytest

from resources.vectors import VectorStoreResource, ensure_collection


class Embedder:
    """`dimension` loads the model (counted); `known_dimension` only says what is already known."""

    def __init__(self, size: int, loaded: bool):
        self.size, self.loaded, self.loads = size, loaded, 0

    @property
    def dimension(self) -> int:
        self.loads += 1
        self.loaded = True
        return self.size

    @property
    def known_dimension(self) -> int | None:
        return self.size if self.loaded else None


@pytest.fixture
def client(tmp_path):
    with VectorStoreResource(path=str(tmp_path / "qdrant")).client() as client:
        yield client


def test_creating_needs_every_size_then_an_unloaded_model_is_not_loaded_to_check(client):
    text, image = Embedder(384, loaded=True), Embedder(512, loaded=False)
    assert ensure_collection(client, "products", {"text": text, "image": image}) is True
    params = client.get_collection("products").config.params.vectors
    assert {name: p.size for name, p in params.items()} == {"text": 384, "image": 512}
    assert image.loads == 1  # creation asked for it

    later_image = Embedder(512, loaded=False)  # a text-only run in another process
    assert ensure_collection(client, "products", {"text": Embedder(384, loaded=True), "image": later_image}) is False
    assert later_image.loads == 0


def test_a_known_size_that_differs_is_refused_naming_the_vector(client):
    ensure_collection(client, "products", {"text": 384, "image": 512})
    with pytest.raises(ValueError, match=r"'products' has other vectors .*text: has 384, needs 768"):
        ensure_collection(client, "products", {"text": Embedder(768, loaded=True), "image": Embedder(512, loaded=False)})
    with pytest.raises(ValueError, match="image: has 512, needs 1024"):
        ensure_collection(client, "products", {"text": 384, "image": 1024})
