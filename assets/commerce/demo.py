"""The commerce part of `make demo`: fetch the latest rates window, reprice, report."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import func, select

from appdb.tables import product
from orchestration.partitions import RATES_PARTITIONS


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()} if events else {}


def demo_commerce(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    key = RATES_PARTITIONS.get_last_partition_key()
    rates = defs.resolve_job_def("currency_rates_job").execute_in_process(instance=instance, partition_key=key)
    rates_meta = _metadata(rates, "currency_rates")
    reprice = defs.resolve_job_def("reprice_products_job").execute_in_process(instance=instance)
    meta = _metadata(reprice, "repriced_products")
    database = defs.resources["database"]
    with database.connect() as conn:
        examples = conn.execute(
            select(product.c.id, product.c.source_price, product.c.source_currency, product.c.price, product.c.price_currency)
            .where(product.c.source_currency != "RUB", product.c.price.is_not(None))
            .order_by(product.c.id)
            .limit(3)
        ).all()
        total = conn.execute(select(func.count()).select_from(product)).scalar_one()
    lines = [
        f"currency_rates[{key}]: {rates_meta.get('dagster/row_count')} rates from {rates_meta.get('provider')} "
        f"(base {rates_meta.get('base_currency')}, rate date {rates_meta.get('rate_date')})",
        f"repriced_products: {meta.get('rows_changed')} changed, {meta.get('rows_unchanged')} unchanged, "
        f"{meta.get('rows_skipped')} skipped of {total} products in {meta.get('duration_seconds')} s",
    ]
    lines += [f"  product {r.id}: {r.source_price} {r.source_currency} -> {r.price} {r.price_currency}" for r in examples]
    return lines
