"""Repricing in SQL: `price` = `source_price` converted into the store currency from one stored rate set.

One UPDATE ... FROM per product-id range, each guarded by IS DISTINCT FROM so rows whose price would
not change are neither written nor locked; a second run with the same rates changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Engine, and_, func, or_, select, update

from appdb.tables import currency_rate, product
from assets.commerce.currencies import minor_unit

EXAMPLES = 10


@dataclass
class RepriceReport:
    partition_key: str
    store_currency: str
    changed: int = 0
    eligible: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    chunks: int = 0
    duration_s: float = 0.0

    @property
    def unchanged(self) -> int:
        return self.eligible - self.changed


def reprice_statement(partition_key: str, store_currency: str, lo: int, hi: int, now: datetime):
    """The UPDATE for products with lo <= id < hi (see the module docstring)."""
    source = currency_rate.alias("source_rate")
    store = currency_rate.alias("store_rate")
    new_price = func.round(product.c.source_price * source.c.rate / store.c.rate, minor_unit(store_currency))
    return (
        update(product)
        .where(
            product.c.id >= lo,
            product.c.id < hi,
            product.c.source_price.is_not(None),
            source.c.partition_key == partition_key,
            source.c.currency == product.c.source_currency,
            store.c.partition_key == partition_key,
            store.c.currency == store_currency,
            or_(
                product.c.price.is_distinct_from(new_price),
                product.c.price_currency.is_distinct_from(store_currency),
            ),
        )
        .values(price=new_price, price_currency=store_currency, updated_at=now)
    )


def _count_skipped(conn, partition_key: str, report: RepriceReport) -> None:
    """Count every product and each reason to skip one in a single pass over the table."""
    rate = currency_rate.alias("rate")
    catalog = product.outerjoin(
        rate, and_(rate.c.partition_key == partition_key, rate.c.currency == product.c.source_currency)
    )
    reasons = {
        "no_source_price": product.c.source_price.is_(None),
        "no_source_currency": and_(product.c.source_price.is_not(None), product.c.source_currency.is_(None)),
        "no_rate_for_currency": and_(
            product.c.source_price.is_not(None), product.c.source_currency.is_not(None), rate.c.currency.is_(None)
        ),
    }
    total, *counts = conn.execute(
        select(func.count(), *(func.count().filter(condition) for condition in reasons.values())).select_from(catalog)
    ).one()
    for (reason, condition), count in zip(reasons.items(), counts):
        if count:
            report.skipped[reason] = count
            rows = conn.execute(
                select(product.c.id, product.c.source_currency)
                .select_from(catalog)
                .where(condition)
                .order_by(product.c.id)
                .limit(EXAMPLES)
            ).all()
            report.skipped_examples[reason] = [f"{row.id} ({row.source_currency or '-'})" for row in rows]
    report.eligible = total - sum(report.skipped.values())


def reprice_products(
    engine: Engine, partition_key: str, store_currency: str, chunk_rows: int = 100_000
) -> RepriceReport:
    """Reprice every product from the rate set `partition_key`; each id range commits on its own.

    Committing per range keeps locks short on a large catalog; because the rate set is fixed, a run
    interrupted midway is completed by the next one without touching what is already right."""
    started = time.perf_counter()
    store_currency = store_currency.upper()
    report = RepriceReport(partition_key=partition_key, store_currency=store_currency)
    now = datetime.now(timezone.utc)
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(product.c.id), func.max(product.c.id))).one()
        _count_skipped(conn, partition_key, report)
    if lo is not None:
        for start in range(lo, hi + 1, max(1, chunk_rows)):
            with engine.begin() as conn:
                result = conn.execute(reprice_statement(partition_key, store_currency, start, start + chunk_rows, now))
                report.changed += result.rowcount
            report.chunks += 1
    report.duration_s = time.perf_counter() - started
    return report
