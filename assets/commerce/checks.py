"""Check names of the commerce domain (constants: referenced by assets, jobs and tests)."""

RATES_COMPLETE = "rates_complete"
RATES_MOVES_PLAUSIBLE = "rates_moves_plausible"
RATE_SET_USABLE = "latest_rate_set_usable"
PRICES_CONVERTED = "prices_converted"
