"""Retries for network calls: exponential backoff with jitter on transport failures only.

A timeout, a refused connection, a 5xx or a 429 is worth another try; a 4xx or a malformed payload
is not (another try would get the same answer), so those fail at once.
"""

from __future__ import annotations

import logging
import threading

import requests
import urllib3.exceptions
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class TransientHTTPError(Exception):
    """A response that says "try again later" (5xx, 429, 408)."""

    def __init__(self, url: str, status: int):
        super().__init__(f"{url} answered HTTP {status}")
        self.url = url
        self.status = status


# Failures while reading a streamed body surface as urllib3's own exceptions (a connection dropped
# mid-body, a read that timed out after the headers), not as requests' wrappers.
TRANSIENT_ERRORS = (
    TransientHTTPError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def retrying(attempts: int, max_wait: float = 30.0, multiplier: float = 0.5):
    """Decorator: retry transient failures `attempts` times in all, waiting 0..min(max_wait, m*2^n) s."""
    return retry(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_random_exponential(multiplier=multiplier, max=max_wait),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )


def raise_for_transient(response: requests.Response) -> None:
    if response.status_code in RETRYABLE_STATUS:
        raise TransientHTTPError(response.url, response.status_code)


class JSONPoster:
    """POSTs JSON bodies to one URL with an optional bearer key; thread-safe (one `requests.Session` per
    thread, never configured from proxy variables); transient failures retried with backoff."""

    def __init__(
        self,
        url: str,
        api_key: str = "",
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        attempts: int,
        retry_max_wait_s: float,
        retry_multiplier_s: float,
    ):
        self.url = url
        self.api_key = api_key
        self.timeout = (connect_timeout_s, read_timeout_s)
        self._local = threading.local()
        self.post = retrying(attempts, max_wait=retry_max_wait_s, multiplier=retry_multiplier_s)(self._post_once)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # the endpoint is configured, not taken from proxy variables
        return session

    def _post_once(self, body: dict) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        response = self._session().post(self.url, json=body, headers=headers, timeout=self.timeout)
        raise_for_transient(response)
        return response
