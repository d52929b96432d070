"""Currency-rate sources behind one resource (CBR, ECB, generic JSON; http(s) or file://)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field

from orchestration.settings import setting_field
from resources.rates.fetch import fetch_bytes
from resources.rates.models import RatesError, RatesPayloadError, RatesTransportError, RateSet
from resources.rates.providers import PROVIDERS, Provider

__all__ = [
    "BUNDLED_SNAPSHOT", "RatesResource", "RateSet", "RatesError", "RatesPayloadError", "RatesTransportError", "PROVIDERS",
]

# A real CBR XML_daily answer of one fixed date, for the offline demo and tests only (RATES_URL=file://...).
BUNDLED_SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "cbr_daily.xml"


class RatesResource(dg.ConfigurableResource):
    """Fetches the rate set as of a date (or the newest published one) from the configured provider."""

    provider: str = setting_field("RATES_PROVIDER")
    url: str = setting_field("RATES_URL")
    connect_timeout_s: float = Field(default=5.0)
    read_timeout_s: float = Field(default=20.0)
    attempts: int = Field(default=4, description="Tries in all for transient failures (timeouts, 5xx, 429).")
    max_backoff_s: float = Field(default=20.0, description="Upper bound of one wait between tries.")

    @property
    def is_snapshot(self) -> bool:
        """A file:// feed: the same document every time, never live rates."""
        return self._base_url().startswith("file:")

    def date_at(self, at: datetime) -> date:
        """The date of the provider's rate set in force at `at` (CBR: Moscow date; ECB: its 16:00 CET publication)."""
        return self._spec().date_at(at)

    def source_url(self, as_of: date | None) -> str:
        return self._spec().dated_url(self._base_url(), as_of)

    def fetch(self, as_of: date | None) -> RateSet:
        """The set as of `as_of`; `None` = the newest set the provider has published."""
        spec = self._spec()
        url = self.source_url(as_of)
        payload = fetch_bytes(
            spec.name,
            url,
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            attempts=self.attempts,
            max_wait=self.max_backoff_s,
        )
        return spec.parse(payload, url, as_of)

    def _base_url(self) -> str:
        return self.url.strip() or self._spec().default_url

    def _spec(self) -> Provider:
        try:
            return PROVIDERS[self.provider.strip().lower()]
        except KeyError:
            raise RatesError(
                self.provider, self.url or "-", f"unknown RATES_PROVIDER; choose one of {', '.join(PROVIDERS)}"
            ) from None
