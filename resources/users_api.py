"""The users system (seed 004) as a resource: POSTs notifications with `Idempotency-Key` and `X-API-Key`.

Wire format (DESIGN.md "Users system"): 2xx and 409 (already recorded under that key) = delivered;
5xx, 429, 408 and transport errors (refused, reset, timeout) = retry later; any other 4xx = not
deliverable (dead-lettered with the answer). One request per call and no retry inside it: the outbox
backs off per row (assets/rag/users/delivery.py), so a slow row never holds up a batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import dagster as dg
import urllib3
from pydantic import Field

from orchestration.settings import setting_field
from resources.http_retry import RETRYABLE_STATUS, is_transient

# The endpoint of each outbox kind.
ENDPOINTS = {
    "query_result": "/api/v1/events/query-result",
    "usage_statistics": "/api/v1/events/usage-statistics",
    "system": "/api/v1/notifications",
}

SENT, RETRY, DEAD = "sent", "retry", "dead"


@dataclass(frozen=True)
class Delivery:
    outcome: str  # sent | retry | dead
    status: int | None = None  # HTTP status; None for a transport error
    error: str | None = None


def classify(status: int, body: str) -> Delivery:
    if 200 <= status < 300 or status == 409:
        return Delivery(SENT, status)
    if status >= 500 or status in RETRYABLE_STATUS:
        return Delivery(RETRY, status, f"HTTP {status}: {body[:300]}")
    return Delivery(DEAD, status, f"HTTP {status}: {body[:500]}")


class UsersClient:
    """Thread-safe: one urllib3 pool of keep-alive connections shared by the sending threads (requests'
    per-call overhead halved the throughput on two cores); never configured from proxy variables."""

    def __init__(self, base_url: str, api_key: str, connect_timeout_s: float, read_timeout_s: float, max_connections: int = 32):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=max_connections, block=False, retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
        )

    def send(self, kind: str, idempotency_key: str, payload: dict) -> Delivery:
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key, "X-API-Key": self.api_key}
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            response = self._pool.request("POST", self.base_url + ENDPOINTS[kind], body=body, headers=headers)
        except Exception as exc:  # noqa: BLE001 - every failure becomes this row's recorded outcome
            kind_of = "transport" if is_transient(exc) else "request"
            return Delivery(RETRY, None, f"{kind_of} error: {exc.__class__.__name__}: {str(exc)[:300]}")
        return classify(response.status, response.data.decode(errors="replace"))

    def close(self) -> None:
        self._pool.clear()


class UsersApiResource(dg.ConfigurableResource):
    """The users system's HTTP API (USERS_URL); empty URL = delivery is skipped (and said so)."""

    url: str = setting_field("USERS_URL")
    api_key: str = setting_field("USERS_API_KEY")
    connect_timeout_s: float = Field(default=5.0, description="Connect timeout of one request, seconds.")
    read_timeout_s: float = setting_field("NOTIFY_TIMEOUT_SECONDS", float)

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def client(self) -> UsersClient:
        if not self.enabled:
            raise ValueError("USERS_URL is not set: no users system to deliver to")
        return UsersClient(self.url, self.api_key, self.connect_timeout_s, self.read_timeout_s)
