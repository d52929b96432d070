"""Business rules over rate sets: completeness, plausible moves, usability for repricing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Mapping

from sqlalchemy import Connection

from assets.commerce.rates_store import StoredRates, load_latest, load_latest_complete
from resources.rates import PROVIDERS


def missing_currencies(rates: Mapping[str, Decimal], required: list[str]) -> list[str]:
    return sorted(code for code in required if code not in rates)


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
    complete: StoredRates | None, newest: StoredRates | None, needed: list[str], max_age_days: int, today: date
) -> list[str]:
    """Why repricing must not run (empty when it may), judging the newest complete set `complete`.

    Staleness is the rate date against `today` in the provider's calendar, not the fetch time: a feed
    that keeps answering the same old document looks fresh by fetch time. max_age_days < 0 = never stale."""
    if complete is None:
        if newest is None:
            return ["no rate set has been stored yet: materialize currency_rates first"]
        missing = ", ".join(missing_currencies(newest.rates, needed))
        return [f"no complete rate set stored: the newest, {newest.partition_key}, lacks {missing}"]
    age_days = (today - complete.rate_date).days
    if 0 <= max_age_days < age_days:
        return [
            f"rate set {complete.partition_key} is dated {complete.rate_date}, {age_days} days before {today} "
            f"(limit {max_age_days} days)"
        ]
    return []


@dataclass(frozen=True)
class Assessment:
    complete: StoredRates | None  # what repricing would use
    newest: StoredRates | None
    today: date | None
    problems: list[str]


def assess_stored_rates(conn: Connection, needed: list[str], max_age_days: int, now: datetime) -> Assessment:
    """The newest complete stored set and why it must not be used (judged in its provider's calendar)."""
    complete = load_latest_complete(conn, needed)
    newest = load_latest(conn)
    judged = complete or newest
    today = PROVIDERS[judged.provider].date_at(now) if judged and judged.provider in PROVIDERS else now.date()
    return Assessment(complete, newest, today, usability_problems(complete, newest, needed, max_age_days, today))
