"""`currency_rates`: one rate set per 4-hour window, fetched from the configured provider."""


import time
from datetime import date, datetime, timedelta, timezone

import dagster as dg

from assets.commerce import checks
from assets.commerce.rate_rules import assess_stored_rates, large_moves, missing_currencies
from assets.commerce.rates_store import load_latest, replace_partition
from orchestration.partitions import RATES_PARTITIONS
from resources.commerce import CommerceSettings
from resources.database import DatabaseResource
from resources.rates import RatesError, RatesResource, RatesTransportError


@dg.asset(
    key="currency_rates",
    group_name="commerce",
    partitions_def=RATES_PARTITIONS,
    kinds={"python", "sql"},
    description=(
        "Exchange rates (units of the provider's base per unit of currency) as of each 4-hour window, "
        "in table currency_rate; replaces seed 000's currency-update-rates."
    ),
    check_specs=[
        # Blocking: a run that fetched an incomplete set is red, naming what is missing (the set is stored
        # for inspection; repricing keeps using the newest complete one).
        dg.AssetCheckSpec(checks.RATES_COMPLETE, asset="currency_rates", blocking=True,
                          description="Every currency in RATES_CURRENCIES and the store currency is present."),
        dg.AssetCheckSpec(checks.RATES_MOVES_PLAUSIBLE, asset="currency_rates",
                          description="No rate moved more than RATES_MAX_DAILY_CHANGE since the previous set (WARN)."),
    ],
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=9), warn_window=timedelta(hours=5)),
    metadata={"dagster/table_name": "currency_rate"},
)
def currency_rates(
    context: dg.AssetExecutionContext, database: DatabaseResource, rates: RatesResource, commerce: CommerceSettings
) -> dg.MaterializeResult:
    partition_key = context.partition_key
    as_of = requested_date(rates, context.partition_time_window, datetime.now(timezone.utc))
    started = time.perf_counter()
    try:
        rate_set = rates.fetch(as_of)
    except RatesError as exc:
        # Nothing was written: the partition keeps whatever good rates it had. Only transport failures
        # deserve the job's step retries; a bad payload or a 4xx would get the same answer again.
        raise dg.Failure(
            description=str(exc),
            metadata={"provider": exc.provider, "url": exc.url},
            allow_retries=isinstance(exc, RatesTransportError),
        ) from exc
    except Exception as exc:
        # Transport trouble is always a RatesTransportError by now: anything else is a bug (or a bad
        # setting). Not retried, named by its own type, with its traceback as the failure's cause.
        raise dg.Failure(
            description=f"unexpected error reading {rates.provider} rates (not a transport error, not retried): "
            f"{exc.__class__.__name__}: {exc}",
            allow_retries=False,
        ) from exc
    fetch_s = time.perf_counter() - started

    with database.begin() as conn:
        previous = load_latest(conn, before=partition_key)
        written = replace_partition(conn, partition_key, rate_set, datetime.now(timezone.utc))

    missing = missing_currencies(rate_set.rates, commerce.currencies_needed)
    moves = large_moves(rate_set.rates, previous.rates, commerce.max_daily_change) if previous else {}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "provider": rate_set.provider,
            "source_url": dg.MetadataValue.url(rate_set.url) if rate_set.url.startswith("http") else rate_set.url,
            "feed": "file snapshot: the same document every run, not live rates" if rates.is_snapshot else "live",
            "requested_date": as_of.isoformat() if as_of else "newest published (live window)",
            "base_currency": rate_set.base,
            "rate_date": rate_set.rate_date.isoformat(),
            "previous_partition": previous.partition_key if previous else "none",
            "fetch_seconds": round(fetch_s, 3),
            "duration_seconds": round(time.perf_counter() - started, 3),
            "rates_preview": dg.MetadataValue.md(
                "| currency | rate |\n|---|---|\n"
                + "\n".join(f"| {c} | {rate_set.rates[c]:.6f} |" for c in commerce.currencies_needed if c in rate_set.rates)
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.RATES_COMPLETE,
                passed=not missing,
                description=f"rate set {partition_key} lacks {', '.join(missing)}" if missing else None,
                metadata={"missing": ", ".join(missing) or "none", "required": ", ".join(commerce.currencies_needed)},
            ),
            dg.AssetCheckResult(
                check_name=checks.RATES_MOVES_PLAUSIBLE,
                passed=not moves,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "moves_beyond_limit": str(moves or "none"),
                    "limit": commerce.max_daily_change,
                    "compared_with": previous.partition_key if previous else "no previous set",
                },
            ),
        ],
    )


@dg.asset_check(
    asset=currency_rates,
    name=checks.RATE_SET_USABLE,
    blocking=True,
    description=(
        "The newest complete stored rate set is recent enough to reprice from: its rate date is at most "
        "RATES_MAX_AGE_DAYS before today in the provider's calendar (blocks repricing)."
    ),
)
def latest_rate_set_usable(database: DatabaseResource, commerce: CommerceSettings) -> dg.AssetCheckResult:
    with database.connect() as conn:
        found = assess_stored_rates(conn, commerce.currencies_needed, commerce.max_rate_age_days, datetime.now(timezone.utc))
    complete, newest = found.complete, found.newest
    return dg.AssetCheckResult(
        passed=not found.problems,
        metadata={
            "partition": complete.partition_key if complete else "none",
            "rate_date": complete.rate_date.isoformat() if complete else "none",
            "today_in_provider_calendar": found.today.isoformat(),
            "fetched_at": complete.fetched_at.isoformat() if complete else "never",
            "newest_stored": newest.partition_key if newest else "none",
            "problems": "; ".join(found.problems) or "none",
        },
    )


def requested_date(rates: RatesResource, window: dg.TimeWindow, now: datetime) -> date | None:
    """The date to ask the provider for: the set in force when the window closes, in the provider's own
    calendar (CBR: the Moscow date); `None` (the newest published set) for the live window, the one
    that closed less than a window ago or is still open."""
    if now - window.end < window.end - window.start:
        return None
    return rates.date_at(window.end - timedelta(microseconds=1))
