"""Business settings of the commerce domain, visible (and overridable) in the UI as resource config."""

import dagster as dg
from pydantic import Field


class CommerceSettings(dg.ConfigurableResource):
    store_currency: str = Field(default="RUB", description="Currency prices are converted into (STORE_CURRENCY).")
    required_currencies: list[str] = Field(
        default=["USD", "EUR", "CNY", "JPY", "KZT"], description="Currencies every rate set must hold."
    )
    max_daily_change: float = Field(default=0.2, description="Relative move between rate sets flagged as WARN.")
    max_rate_age_hours: float = Field(default=26.0, description="Repricing refuses older rate sets.")
    reprice_chunk_rows: int = Field(default=100_000, description="Product id range per UPDATE statement.")

    @property
    def currencies_needed(self) -> list[str]:
        """Every currency repricing needs: the required ones and the store currency itself."""
        return sorted({c.upper() for c in self.required_currencies} | {self.store_currency.upper()})
