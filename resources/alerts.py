"""Run alerts as a resource: a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, ...).

An empty `webhook_url` means alerts are off. Posting has a timeout and retries transient failures
(timeouts, refused connections, 5xx, 429); a 4xx fails at once with the answer's text.
"""

from __future__ import annotations

import dagster as dg
import requests
from pydantic import Field

from orchestration.settings import setting_field

from resources.http_retry import raise_for_transient, retrying


class AlertDeliveryError(RuntimeError):
    """The webhook refused the message (4xx) or stayed unreachable through every retry."""


class AlertWebhookResource(dg.ConfigurableResource):
    webhook_url: str = setting_field("ALERT_WEBHOOK_URL")
    webserver_url: str = setting_field("DAGSTER_WEBSERVER_URL")
    timeout_s: float = Field(default=10.0, description="Per-request timeout, seconds.")
    attempts: int = Field(default=4, description="Tries in all for transient failures (exponential backoff with jitter).")
    max_wait_s: float = Field(default=8.0, description="Longest wait between two tries, seconds.")

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url.strip())

    def run_url(self, run_id: str) -> str | None:
        base = self.webserver_url.strip().rstrip("/")
        return f"{base}/runs/{run_id}" if base else None

    def post(self, message: dict) -> int:
        """POST the JSON message; returns the HTTP status (2xx)."""

        @retrying(self.attempts, max_wait=self.max_wait_s)
        def send() -> requests.Response:
            response = requests.post(self.webhook_url, json=message, timeout=self.timeout_s)
            raise_for_transient(response)
            return response

        try:
            response = send()
        except Exception as exc:  # noqa: BLE001 - transport errors after the last try: say which and why
            raise AlertDeliveryError(f"alert webhook unreachable after {self.attempts} tries: {exc}") from exc
        if response.status_code >= 300:
            raise AlertDeliveryError(
                f"alert webhook answered HTTP {response.status_code}: {response.text[:200]!r}"
            )
        return response.status_code
