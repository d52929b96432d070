"""A client of an OpenAI-compatible embeddings API: `POST {url}/v1/embeddings`.

The wire format is the one OpenAI, Hugging Face text-embeddings-inference, vLLM and our own
`platformctl embed serve` speak. The request names the model (TEXT_MODEL's name) and the answer must
name the same one: vectors are recorded with their model's name, so a server that serves another
model is an error, never silently mixed into a collection. Transport trouble (refused connection,
timeout, 5xx, 429) is retried with backoff, long enough to ride out a server that is still loading.
"""

from __future__ import annotations

import numpy as np
import requests

from resources.http_retry import JSONPoster, TransientHTTPError


class EmbeddingAPIError(RuntimeError):
    """The embeddings API could not be used; the message names TEXT_EMBED_URL and what went wrong."""


class EmbeddingsClient:
    """Thread-safe."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str = "",
        *,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        attempts: int = 6,
        retry_max_wait_s: float = 10.0,
        retry_multiplier_s: float = 0.5,
    ):
        self.base = url.rstrip("/")
        self.model = model
        self._endpoint = JSONPoster(
            self.base + "/v1/embeddings", api_key, connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s,
            attempts=attempts, retry_max_wait_s=retry_max_wait_s, retry_multiplier_s=retry_multiplier_s,
        )

    def _fail(self, detail: str) -> EmbeddingAPIError:
        return EmbeddingAPIError(f"TEXT_EMBED_URL={self.base!r} (model {self.model!r}): {detail}")

    def embed(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, in order (as the server computed them; not re-normalized here)."""
        body = {"model": self.model, "input": list(texts), "encoding_format": "float"}
        try:
            response = self._endpoint.post(body)
        except (requests.RequestException, TransientHTTPError, OSError) as exc:  # retries exhausted
            raise self._fail(
                f"no usable answer after retries ({exc.__class__.__name__}: {str(exc)[:200]}); is the server "
                "running (`platformctl embed serve`)? Unset TEXT_EMBED_URL to load the model in the run instead"
            ) from exc
        if response.status_code >= 400:
            raise self._fail(f"HTTP {response.status_code}: {_error_message(response)}")
        return self._vectors(response, len(texts))

    def _vectors(self, response: requests.Response, expected: int) -> np.ndarray:
        try:
            payload = response.json()
            served = payload.get("model")
            rows = sorted(payload["data"], key=lambda row: row["index"])
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._fail(f"not an embeddings answer: {response.text[:200]!r}") from exc
        if served != self.model:
            raise self._fail(
                f"the server answered with model {served!r}: set TEXT_MODEL to the model it serves "
                "(vectors are recorded under TEXT_MODEL's name), or point TEXT_EMBED_URL at a server of this model"
            )
        if [row["index"] for row in rows] != list(range(expected)) or vectors.ndim != 2:
            raise self._fail(f"{len(rows)} embeddings of shape {vectors.shape} for {expected} inputs")
        if not np.isfinite(vectors).all():
            raise self._fail("the answer holds non-finite values")
        return vectors


def _error_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    except (ValueError, AttributeError):
        pass
    return response.text[:300]
