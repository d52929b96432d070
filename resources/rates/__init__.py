"""Currency-rate sources behind one resource (CBR, ECB, generic JSON; http(s) or file://)."""

from __future__ import annotations

from datetime import date

import dagster as dg
from pydantic import Field

from resources.rates.fetch import fetch_bytes
from resources.rates.models import RatesError, RatesPayloadError, RatesTransportError, RateSet
from resources.rates.providers import PROVIDERS

__all__ = ["RatesResource", "RateSet", "RatesError", "RatesPayloadError", "RatesTransportError", "PROVIDERS"]


class RatesResource(dg.ConfigurableResource):
    """Fetches the rate set as of a date from the configured provider."""

    provider: str = Field(default="cbr", description=f"One of: {', '.join(PROVIDERS)}.")
    url: str = Field(default="", description="http(s) or file:// URL; empty means the provider's public URL.")
    connect_timeout_s: float = Field(default=5.0)
    read_timeout_s: float = Field(default=20.0)
    attempts: int = Field(default=4, description="Tries in all for transient failures (timeouts, 5xx, 429).")
    max_backoff_s: float = Field(default=20.0, description="Upper bound of one wait between tries.")

    def source_url(self, as_of: date) -> str:
        spec = self._spec()
        return spec.dated_url(self.url or spec.default_url, as_of)

    def fetch(self, as_of: date) -> RateSet:
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

    def _spec(self):
        try:
            return PROVIDERS[self.provider.strip().lower()]
        except KeyError:
            raise RatesError(
                self.provider, self.url or "-", f"unknown RATES_PROVIDER; choose one of {', '.join(PROVIDERS)}"
            ) from None
