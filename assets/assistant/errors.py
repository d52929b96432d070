"""Transport trouble (retried 3 × 60 s, as the seed's autoretry) versus bugs and bad data (fail at once)."""

from __future__ import annotations

import dagster as dg
from sqlalchemy.exc import DBAPIError

from resources.embedding_api import EmbeddingAPIError
from resources.vectors import VectorStoreLockedError


class AssistantUnavailableError(RuntimeError):
    """Qdrant, the embeddings server or the database did not answer; the index keeps its last good state."""


def is_transport(exc: BaseException) -> bool:
    """Connection refused, timeouts, 5xx/429 from Qdrant; the embeddings server after its own retries;
    local Qdrant held by another process; a dropped database connection."""
    if isinstance(exc, (EmbeddingAPIError, VectorStoreLockedError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or exc.__class__.__name__ in ("OperationalError", "InterfaceError")
    try:
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
    except ImportError:  # pragma: no cover - qdrant-client is a dependency
        return False
    if isinstance(exc, ResponseHandlingException):
        return True
    if isinstance(exc, UnexpectedResponse):
        return exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429)
    try:
        import httpx

        return isinstance(exc, httpx.TransportError)
    except ImportError:  # pragma: no cover
        return False


def retry_transport(exc: BaseException, what: str, attempts: int, delay_s: float) -> None:
    """Raise RetryRequested for transport trouble (up to `attempts` more tries, `delay_s` apart); return otherwise."""
    if is_transport(exc):
        cause = AssistantUnavailableError(f"{what}: {exc.__class__.__name__}: {exc}")
        raise dg.RetryRequested(max_retries=attempts, seconds_to_wait=delay_s) from cause
