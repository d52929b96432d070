"""Business settings of the commerce domain, visible (and overridable) in the UI as resource config."""

import dagster as dg

from orchestration.settings import setting_field


class CommerceSettings(dg.ConfigurableResource):
    store_currency: str = setting_field("STORE_CURRENCY")
    required_currencies: list[str] = setting_field("RATES_CURRENCIES", list)
    max_daily_change: float = setting_field("RATES_MAX_DAILY_CHANGE", float)
    max_rate_age_days: int = setting_field("RATES_MAX_AGE_DAYS", int)
    reprice_chunk_rows: int = setting_field("REPRICE_CHUNK_ROWS", int)

    @property
    def currencies_needed(self) -> list[str]:
        """Every currency repricing needs: the required ones and the store currency itself."""
        return sorted({c.upper() for c in self.required_currencies} | {self.store_currency.upper()})
