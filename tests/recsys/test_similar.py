"""`platformctl similar` on local-mode Qdrant, through the same resources the platform uses."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from assets.recsys.similar import NoVectorError, find_similar
from platformctl.main import cli
from tests.recsys.helpers import COLLECTION

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded(harness):
    harness.sync()
    return harness


@pytest.fixture
def env(embedded, db_url, tmp_path):
    return {"DATABASE_URL": db_url, "QDRANT_PATH": str(tmp_path / "qdrant"), "QDRANT_COLLECTION": COLLECTION,
            "DATA_DIR": str(tmp_path)}


def test_text_neighbours_of_a_t_shirt_are_t_shirts_and_exclude_itself(embedded):
    with embedded.vectors.client() as client:
        result = find_similar(client, COLLECTION, 1, by="text", limit=3)
    ids = [n.product_id for n in result.neighbors]
    assert 1 not in ids and set(ids) <= {2, 7, 8, 9, 14}  # other t-shirts, never the drill (3)
    assert all(n.payload["is_available"] for n in result.neighbors)


def test_unavailable_products_are_never_suggested(embedded):
    embedded.set_product(2, is_available=False)
    embedded.sync()
    with embedded.vectors.client() as client:
        ids = [n.product_id for n in find_similar(client, COLLECTION, 1, by="both", limit=20).neighbors]
    assert 2 not in ids and 1 not in ids and ids


def test_both_falls_back_to_text_without_an_image_vector_and_image_refuses(embedded):
    with embedded.vectors.client() as client:
        result = find_similar(client, COLLECTION, 9, by="both", limit=3)
        assert result.by == "text" and result.notes == ["product 9 has no image vector: text only"]
        with pytest.raises(NoVectorError, match="product 9 has no image vector"):
            find_similar(client, COLLECTION, 9, by="image")
        with pytest.raises(NoVectorError, match="product 11 has no point"):
            find_similar(client, COLLECTION, 11)


def test_cli_prints_the_nearest_products(env):
    result = CliRunner().invoke(cli, ["similar", "1", "--by", "text", "--limit", "2"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "nearest to product 1 ('Red cotton t-shirt') by text:"
    assert len(lines) == 3 and "t-shirt" in lines[1] and "RUB" in lines[1]

    both = CliRunner().invoke(cli, ["similar", "1"], env=env)
    assert both.exit_code == 0 and "by both:" in both.output.splitlines()[0]

    missing = CliRunner().invoke(cli, ["similar", "11"], env=env)
    assert missing.exit_code == 1 and "product 11 has no point" in missing.output
