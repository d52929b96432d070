"""The embeddings client (TEXT_EMBED_URL) against a real local HTTP server serving OpenAI's wire format:
what is sent, and every kind of answer (good, another model, malformed, 5xx, 4xx, nobody listening)."""

import json

import numpy as np
import pytest

from resources import embedders
from resources.embedders import DEFAULT_TEXT_MODEL, TextEmbedderResource, loaded_devices
from resources.embedding_api import EmbeddingAPIError, EmbeddingsClient
from tests.support.http import Reply

PATH = "/v1/embeddings"


@pytest.fixture(autouse=True)
def no_servers_left_behind(monkeypatch):
    """The process-wide server registry, empty for each test (and for the tests after these)."""
    monkeypatch.setattr(embedders, "_servers", {})


def answer(vectors, model="all-MiniLM-L6-v2", order=None) -> Reply:
    rows = [{"object": "embedding", "index": i, "embedding": list(map(float, v))} for i, v in enumerate(vectors)]
    if order is not None:
        rows = [rows[i] for i in order]
    body = {"object": "list", "data": rows, "model": model, "usage": {"prompt_tokens": 3, "total_tokens": 3}}
    return Reply(200, json.dumps(body).encode(), "application/json")


def fast(url: str, model: str = "all-MiniLM-L6-v2", **kw) -> EmbeddingsClient:
    return EmbeddingsClient(url, model, retry_max_wait_s=0.01, retry_multiplier_s=0.001, **kw)


def test_request_names_the_model_and_rows_come_back_in_input_order(http_server):
    http_server.route(PATH, answer([[1, 0], [0, 2], [3, 4]], order=[2, 0, 1]))
    client = fast(http_server.url(), api_key="sk-embed")
    vectors = client.embed(["a", "b", "c"])

    np.testing.assert_array_equal(vectors, np.array([[1, 0], [0, 2], [3, 4]], dtype=np.float32))
    assert vectors.dtype == np.float32
    method, path, body, headers = http_server.requests[0]
    assert (method, path) == ("POST", PATH)
    assert json.loads(body) == {"model": "all-MiniLM-L6-v2", "input": ["a", "b", "c"], "encoding_format": "float"}
    assert headers["Authorization"] == "Bearer sk-embed"


def test_the_resource_normalizes_chunks_requests_and_reports_the_server(http_server):
    """The client prepares the texts (the default e5 model: "passage: " for documents, "query: " for
    queries; Persian spelled one way) and sends them as they are: the server embeds what it gets."""
    http_server.route(PATH, answer([[3, 4], [0, 5]], model=DEFAULT_TEXT_MODEL), answer([[6, 8]], model=DEFAULT_TEXT_MODEL),
                      answer([[1, 0]], model=DEFAULT_TEXT_MODEL))
    embedder = TextEmbedderResource(url=http_server.url("/"), request_size=2)
    vectors = embedder.encode(["one", "two", "three"])

    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0, 1], [0.6, 0.8]], rtol=1e-6)
    embedder.encode_queries(["كتاب ۲"])
    assert [json.loads(body)["input"] for _, _, body, _ in http_server.requests] == [
        ["passage: one", "passage: two"], ["passage: three"], ["query: کتاب 2"]]
    assert embedder.dimension == 2 and http_server.hits(PATH) == 3  # learnt from the answers: no probe
    assert embedder.model_name == DEFAULT_TEXT_MODEL  # the same name as the model loaded in the run
    assert loaded_devices()["text"] == f"server {http_server.url('/').rstrip('/')}"
    assert "Authorization" not in http_server.requests[0][3]


def test_a_model_without_roles_gets_its_texts_as_they_are(http_server):
    http_server.route(PATH, answer([[1, 0]]))
    TextEmbedderResource(model="all-MiniLM-L6-v2", url=http_server.url("/")).encode_queries(["Red t-shirt"])
    assert json.loads(http_server.requests[0][2])["input"] == ["Red t-shirt"]


def test_a_server_of_another_model_is_refused_naming_both(http_server):
    http_server.route(PATH, answer([[1, 0]], model="text-embedding-3-small"))
    with pytest.raises(EmbeddingAPIError) as error:
        fast(http_server.url()).embed(["a"])
    message = str(error.value)
    assert "TEXT_EMBED_URL=" in message and "'text-embedding-3-small'" in message and "TEXT_MODEL" in message


@pytest.mark.parametrize(
    "reply, expected",
    [
        (Reply(200, b"<html>gateway</html>", "text/html"), "not an embeddings answer"),
        (Reply(200, b'{"data": [{"embedding": [1]}]}', "application/json"), "not an embeddings answer"),
        (answer([[1, 0]]), "1 embeddings of shape (1, 2) for 2 inputs"),
        (Reply(200, b'{"model": "all-MiniLM-L6-v2", "data": [{"index": 0, "embedding": [NaN, 1]}, '
                    b'{"index": 1, "embedding": [1, 1]}]}', "application/json"), "non-finite"),
    ],
)
def test_malformed_answers_fail_with_what_was_wrong(http_server, reply, expected):
    http_server.route(PATH, reply)
    with pytest.raises(EmbeddingAPIError, match="TEXT_EMBED_URL") as error:
        fast(http_server.url(), attempts=1).embed(["a", "b"])
    assert expected in str(error.value)


def test_5xx_and_429_are_retried_then_the_answer_is_used(http_server):
    http_server.route(PATH, Reply(503, b"loading"), Reply(429, b"slow down"), answer([[1, 0]]))
    assert fast(http_server.url()).embed(["a"]).shape == (1, 2)
    assert http_server.hits(PATH) == 3


def test_a_4xx_is_not_retried_and_its_message_is_shown(http_server):
    body = json.dumps({"error": {"message": "missing or wrong bearer key", "type": "authentication_error"}}).encode()
    http_server.route(PATH, Reply(401, body, "application/json"))
    with pytest.raises(EmbeddingAPIError, match="HTTP 401: missing or wrong bearer key"):
        fast(http_server.url()).embed(["a"])
    assert http_server.hits(PATH) == 1


def test_nobody_listening_fails_after_the_retries_and_says_what_to_do():
    client = fast("http://127.0.0.1:9", attempts=2, connect_timeout_s=1)
    with pytest.raises(EmbeddingAPIError) as error:
        client.embed(["a"])
    message = str(error.value)
    assert "TEXT_EMBED_URL='http://127.0.0.1:9'" in message and "ConnectionError" in message
    assert "platformctl embed serve" in message and "Unset TEXT_EMBED_URL" in message
