"""`currency_rates`: one rate set per 4-hour window, fetched from the configured provider."""


import time
from datetime import datetime, timedelta, timezone

import dagster as dg

from assets.commerce import checks
from assets.commerce.rate_rules import insane_rates, large_moves, missing_currencies, usability_problems
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
        dg.AssetCheckSpec(checks.RATES_COMPLETE, asset="currency_rates",
                          description="Every currency in RATES_CURRENCIES and the store currency is present."),
        dg.AssetCheckSpec(checks.RATES_POSITIVE_FINITE, asset="currency_rates",
                          description="Every rate is a finite positive number."),
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
    as_of = context.partition_time_window.start.date()
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
    fetch_s = time.perf_counter() - started

    with database.begin() as conn:
        previous = load_latest(conn, before=partition_key)
        written = replace_partition(conn, partition_key, rate_set, datetime.now(timezone.utc))

    missing = missing_currencies(rate_set.rates, commerce.currencies_needed)
    insane = insane_rates(rate_set.rates)
    moves = large_moves(rate_set.rates, previous.rates, commerce.max_daily_change) if previous else {}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "provider": rate_set.provider,
            "source_url": dg.MetadataValue.url(rate_set.url) if rate_set.url.startswith("http") else rate_set.url,
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
                metadata={"missing": ", ".join(missing) or "none", "required": ", ".join(commerce.currencies_needed)},
            ),
            dg.AssetCheckResult(
                check_name=checks.RATES_POSITIVE_FINITE, passed=not insane, metadata={"bad_rates": str(insane or "none")}
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
    description="The newest stored rate set is recent and complete enough to reprice from (blocks repricing).",
)
def latest_rate_set_usable(database: DatabaseResource, commerce: CommerceSettings) -> dg.AssetCheckResult:
    with database.connect() as conn:
        stored = load_latest(conn)
    problems = usability_problems(stored, commerce.currencies_needed, commerce.max_rate_age_hours)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "partition": stored.partition_key if stored else "none",
            "fetched_at": stored.fetched_at.isoformat() if stored else "never",
            "problems": "; ".join(problems) or "none",
        },
    )
