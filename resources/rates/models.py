"""What every rates provider returns, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class RatesError(Exception):
    """Rates could not be obtained. The message names the provider, the URL and what is wrong."""

    def __init__(self, provider: str, url: str, problem: str):
        super().__init__(f"{provider} rates from {url}: {problem}")
        self.provider = provider
        self.url = url
        self.problem = problem


class RatesPayloadError(RatesError):
    """The source answered, but not with a usable rate set. Retrying would not help."""


class RatesTransportError(RatesError):
    """The source could not be reached or kept failing after every retry."""


@dataclass(frozen=True)
class RateSet:
    """Rates as of one date: `rates[c]` = units of `base` that one unit of `c` is worth (base included, = 1)."""

    provider: str
    url: str
    base: str
    rate_date: date
    rates: dict[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.base not in self.rates:
            self.rates[self.base] = Decimal(1)
