"""`repriced_products`: product prices in the store currency from the newest usable rate set."""

from datetime import datetime, timedelta, timezone

import dagster as dg
from sqlalchemy import func, select

from appdb.tables import product
from assets.commerce import checks
from assets.commerce.rate_rules import assess_stored_rates
from assets.commerce.repricing import reprice_products
from resources.commerce import CommerceSettings
from resources.database import DatabaseResource


@dg.asset(
    key="repriced_products",
    group_name="commerce",
    deps=[dg.AssetDep("currency_rates", partition_mapping=dg.LastPartitionMapping())],
    kinds={"sql"},
    description=(
        "Product prices converted from source_price/source_currency into STORE_CURRENCY (table product) from "
        "the newest complete rate set; "
        "replaces seed 000's currency-update-prices."
    ),
    check_specs=[
        dg.AssetCheckSpec(checks.PRICES_CONVERTED, asset="repriced_products",
                          description="Every product with a convertible source price has a price in the store currency."),
    ],
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=30), warn_window=timedelta(hours=25)),
    metadata={"dagster/table_name": "product"},
)
def repriced_products(
    context: dg.AssetExecutionContext, database: DatabaseResource, commerce: CommerceSettings
) -> dg.MaterializeResult:
    with database.connect() as conn:
        found = assess_stored_rates(conn, commerce.currencies_needed, commerce.max_rate_age_days, datetime.now(timezone.utc))
    if found.problems:
        raise dg.Failure(description="refusing to reprice: " + "; ".join(found.problems))
    stored = found.complete

    report = reprice_products(database.engine, stored.partition_key, commerce.store_currency, commerce.reprice_chunk_rows)
    context.log.info(
        f"repriced from {report.partition_key}: {report.changed} changed, {report.unchanged} unchanged, "
        f"skipped {report.skipped}"
    )
    with database.connect() as conn:
        not_converted = conn.execute(
            select(func.count()).select_from(product).where(
                product.c.source_price.is_not(None),
                product.c.source_currency.in_(list(stored.rates)),
                (product.c.price.is_(None)) | (product.c.price_currency != commerce.store_currency.upper()),
            )
        ).scalar_one()
    skipped_md = "\n".join(
        f"- **{reason}**: {count} (e.g. {', '.join(report.skipped_examples.get(reason, []))})"
        for reason, count in report.skipped.items()
    )
    return dg.MaterializeResult(
        metadata={
            "rate_partition": report.partition_key,
            "rate_date": stored.rate_date.isoformat(),
            "newer_incomplete_set_skipped": found.newest.partition_key if found.newest.partition_key != stored.partition_key else "none",
            "store_currency": report.store_currency,
            "rows_changed": report.changed,
            "rows_unchanged": report.unchanged,
            "rows_skipped": sum(report.skipped.values()),
            "skipped_by_reason": dg.MetadataValue.md(skipped_md or "nothing skipped"),
            "statements": report.chunks,
            "duration_seconds": round(report.duration_s, 3),
            "rows_per_second": round(report.eligible / report.duration_s) if report.duration_s else 0,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.PRICES_CONVERTED,
                passed=not_converted == 0,
                metadata={"products_not_converted": not_converted},
            )
        ],
    )
