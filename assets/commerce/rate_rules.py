"""Business rules over rate sets: completeness, sanity, plausible moves, staleness. Plain functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Mapping

from assets.commerce.rates_store import StoredRates


def missing_currencies(rates: Mapping[str, Decimal], required: list[str]) -> list[str]:
    return sorted(code for code in required if code not in rates)


def insane_rates(rates: Mapping[str, Decimal]) -> dict[str, str]:
    return {code: str(rate) for code, rate in rates.items() if not rate.is_finite() or rate <= 0}


def large_moves(
    current: Mapping[str, Decimal], previous: Mapping[str, Decimal], max_change: float
) -> dict[str, float]:
    """Currencies whose rate moved by more than `max_change` (relative) since the previous set."""
    moves: dict[str, float] = {}
    for code, rate in current.items():
        before = previous.get(code)
        if before and before > 0 and rate > 0:
            change = float(rate / before - 1)
            if abs(change) > max_change:
                moves[code] = round(change, 4)
    return moves


def usability_problems(
    stored: StoredRates | None, needed: list[str], max_age_hours: float, now: datetime | None = None
) -> list[str]:
    """Why a rate set must not be used for repricing (empty when it may)."""
    if stored is None:
        return ["no rate set has been stored yet: materialize currency_rates first"]
    problems = []
    now = now or datetime.now(timezone.utc)
    fetched = stored.fetched_at if stored.fetched_at.tzinfo else stored.fetched_at.replace(tzinfo=timezone.utc)
    age = now - fetched
    if age > timedelta(hours=max_age_hours):
        problems.append(
            f"rate set {stored.partition_key} was fetched {age.total_seconds() / 3600:.1f} h ago "
            f"(limit {max_age_hours:g} h)"
        )
    missing = missing_currencies(stored.rates, needed)
    if missing:
        problems.append(f"rate set {stored.partition_key} lacks {', '.join(missing)}")
    insane = insane_rates(stored.rates)
    if insane:
        problems.append(f"rate set {stored.partition_key} has non-positive rates {insane}")
    return problems
