"""Commerce: exchange rates and repriced products (seed 000)."""

from __future__ import annotations

import dagster as dg

from assets.commerce.currency_rates import currency_rates, latest_rate_set_usable
from assets.commerce.repriced_products import repriced_products
from assets.commerce.schedules import build_schedules, currency_rates_job, reprice_products_job


def build_defs(settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[currency_rates, repriced_products],
        asset_checks=[latest_rate_set_usable],
        jobs=[currency_rates_job, reprice_products_job],
        schedules=build_schedules(settings.get("SCHEDULE_TIMEZONE")),
    )
