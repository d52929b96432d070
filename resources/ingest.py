"""The ingest system of seed 004 (the RAG core's document source) as a resource.

Wire format (DESIGN.md "Wire formats"): `GET {INGEST_URL}/api/v1/chunks?since=<cursor>&limit=<n>` with
`X-API-Key` answers `{"items": [...], "next_cursor": str, "has_more": bool}`; an empty `since` starts at
the beginning. 5xx, 429, timeouts and dropped connections are retried with backoff; 401/403 fail at
once with "ingest refused the key" (another try gets the same answer); any other 4xx or a body that is
not the wire format fails at once naming what was wrong.

`INGEST_URL=file:///path.json` serves a JSON file of items (a list, or `{"items": [...]}`) through the
same interface, paged by position: the offline demo, and `make dev` keeps syncing it as it grows.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import dagster as dg
import requests
from pydantic import Field

from orchestration.settings import setting_field
from resources.http_retry import TRANSIENT_ERRORS, raise_for_transient, retrying

CHUNKS_PATH = "/api/v1/chunks"
DEMO_DOCUMENTS = Path(__file__).resolve().parent.parent / "assets" / "rag" / "index" / "demo_documents.json"


class IngestError(RuntimeError):
    """The ingest system answered something the sync cannot use (the message says what)."""


class IngestKeyRefused(IngestError):
    """401/403: the key is wrong; retrying would loop on the same answer."""


class IngestNotConfigured(IngestError):
    """INGEST_URL is unset or not a usable URL: a setting to fix, not something a retry changes."""


class IngestUnavailable(IngestError):
    """Still failing after the retries (down, 5xx, 429, timeouts, dropped connections)."""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


class IngestSource(Protocol):
    location: str

    def page(self, since: str, limit: int) -> Page: ...


def parse_page(body: Any, where: str) -> Page:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise IngestError(f"{where}: not an ingest page (no 'items' list): {str(body)[:200]!r}")
    cursor = body.get("next_cursor")
    if not isinstance(cursor, str):
        raise IngestError(f"{where}: 'next_cursor' must be a string, got {cursor!r}")
    return Page(items=body["items"], next_cursor=cursor, has_more=bool(body.get("has_more")))


class HTTPIngestSource:
    """The ingest API over HTTP; thread-safe (one `requests.Session` per thread, no proxy variables)."""

    def __init__(self, url: str, api_key: str, *, connect_timeout_s: float, read_timeout_s: float,
                 attempts: int, retry_max_wait_s: float, retry_multiplier_s: float):
        self.location = url.rstrip("/")
        self._endpoint = self.location + CHUNKS_PATH
        self._headers = {"X-API-Key": api_key, "Accept": "application/json"}
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._attempts = attempts
        self._local = threading.local()
        self._get = retrying(attempts, max_wait=retry_max_wait_s, multiplier=retry_multiplier_s)(self._get_once)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
        return session

    def _get_once(self, since: str, limit: int) -> Any:
        response = self._session().get(
            self._endpoint, params={"since": since, "limit": limit}, headers=self._headers, timeout=self._timeout
        )
        if response.status_code in (401, 403):
            raise IngestKeyRefused(
                f"ingest refused the key: HTTP {response.status_code} from {self._endpoint} (check INGEST_API_KEY)"
            )
        raise_for_transient(response)
        if response.status_code >= 400:
            raise IngestError(f"ingest answered HTTP {response.status_code} for since={since!r}: {response.text[:200]!r}")
        try:
            return response.json()  # reading the body may still drop: a transient error, retried
        except ValueError as exc:
            raise IngestError(f"ingest page since={since!r} is not JSON: {response.text[:200]!r}") from exc

    def page(self, since: str, limit: int) -> Page:
        try:
            body = self._get(since, limit)
        except TRANSIENT_ERRORS as exc:
            raise IngestUnavailable(
                f"ingest unavailable after {self._attempts} attempts ({exc.__class__.__name__}: {exc}); "
                f"the cursor stays at {since!r}"
            ) from exc
        return parse_page(body, f"ingest page since={since!r}")


class FileIngestSource:
    """A JSON file of items paged by position (cursor = the index of the next item). Re-read when the
    file changes, so appending items makes them new for the next sync."""

    def __init__(self, path: Path):
        self.path = path
        self.location = path.as_uri()
        self._cache: tuple[int, list] | None = None

    def _items(self) -> list:
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError as exc:
            raise IngestUnavailable(f"INGEST_URL={self.location}: {exc}") from exc
        if self._cache is None or self._cache[0] != stamp:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise IngestError(f"INGEST_URL={self.location}: not JSON ({exc})") from exc
            items = data.get("items") if isinstance(data, dict) else data
            if not isinstance(items, list):
                raise IngestError(f"INGEST_URL={self.location}: expected a list of items or {{'items': [...]}}")
            self._cache = (stamp, items)
        return self._cache[1]

    def page(self, since: str, limit: int) -> Page:
        items = self._items()
        try:
            start = int(since or 0)
        except ValueError:
            raise IngestError(f"cursor {since!r} is not a position in {self.location}") from None
        chunk = items[start : start + max(1, limit)]
        end = start + len(chunk)
        return Page(items=chunk, next_cursor=str(end), has_more=end < len(items))


class IngestResource(dg.ConfigurableResource):
    """Where the RAG documents come from: the ingest API (http/https) or a JSON file (file://)."""

    url: str = setting_field("INGEST_URL")
    api_key: str = setting_field("INGEST_API_KEY")
    batch: int = setting_field("RAG_SYNC_BATCH", int)
    read_timeout_s: float = setting_field("INGEST_TIMEOUT_SECONDS", float)
    connect_timeout_s: float = Field(default=5.0, description="Connect timeout of one ingest request, seconds.")
    attempts: int = Field(default=5, description="Tries per page on transient failures (5xx, 429, timeouts, drops).")
    retry_max_wait_s: float = Field(default=30.0, description="Longest wait between two tries, seconds.")
    retry_multiplier_s: float = Field(default=0.5, description="Backoff base: waits up to m * 2^n seconds.")

    @property
    def configured(self) -> bool:
        return bool(self.url.strip())

    def source(self, attempts: int | None = None) -> IngestSource:
        """The configured source; `attempts` overrides the tries per request (a sensor's probe wants few)."""
        if not self.configured:
            # Never a silent fallback to the demo documents: production would index demo data.
            raise IngestNotConfigured(
                "INGEST_URL is not set: set it to the ingest system's API root (http/https), or to file:// of a "
                f"JSON list of chunks (`make demo` uses the bundled Persian documents, {DEMO_DOCUMENTS.as_uri()})"
            )
        url = self.url.strip()
        parsed = urlparse(url)
        if parsed.scheme == "file":
            return FileIngestSource(Path(unquote(parsed.path)))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise IngestNotConfigured(f"INGEST_URL={url!r}: expected http(s)://host[:port] or file:///path.json")
        return HTTPIngestSource(
            url, self.api_key, connect_timeout_s=self.connect_timeout_s, read_timeout_s=self.read_timeout_s,
            attempts=attempts or self.attempts, retry_max_wait_s=self.retry_max_wait_s, retry_multiplier_s=self.retry_multiplier_s,
        )
