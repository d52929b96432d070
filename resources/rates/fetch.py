"""Read a URL's bytes: http(s) with timeouts and retries, or a local file:// snapshot."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import requests

from resources.http_retry import TRANSIENT_ERRORS, raise_for_transient, retrying
from resources.rates.models import RatesError, RatesTransportError

USER_AGENT = "asset-platform/0.1 (+currency_rates)"
MAX_BYTES = 50 * 1024 * 1024


def fetch_bytes(
    provider: str, url: str, *, connect_timeout: float, read_timeout: float, attempts: int, max_wait: float
) -> bytes:
    scheme = urlparse(url).scheme
    if scheme == "file":
        path = Path(unquote(urlparse(url).path))
        try:
            return path.read_bytes()
        except OSError as exc:
            raise RatesError(provider, url, f"cannot read the snapshot file ({exc.strerror})") from exc
    if scheme not in ("http", "https"):
        raise RatesError(provider, url, f"unsupported URL scheme {scheme!r} (use http, https or file)")

    @retrying(attempts=attempts, max_wait=max_wait)
    def _get() -> bytes:
        response = requests.get(
            url, timeout=(connect_timeout, read_timeout), headers={"User-Agent": USER_AGENT}, stream=True
        )
        with response:
            raise_for_transient(response)
            if response.status_code >= 400:
                raise RatesError(provider, url, f"HTTP {response.status_code}")
            body = response.raw.read(MAX_BYTES + 1, decode_content=True)
            if len(body) > MAX_BYTES:
                raise RatesError(provider, url, f"response larger than {MAX_BYTES} bytes")
            return body

    try:
        return _get()
    except TRANSIENT_ERRORS as exc:  # transport failures that outlived every retry; anything else is a bug, raised as itself
        tries = _get.statistics.get("attempt_number", 1)
        raise RatesTransportError(
            provider, url, f"unreachable after {tries} attempt(s): {exc.__class__.__name__}: {exc}"
        ) from exc
