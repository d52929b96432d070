"""Helpers of the commerce tests: stored rate sets, products, what the tables hold."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from appdb.engine import build_engine
from appdb.tables import currency_rate, product
from assets.commerce.rates_store import replace_partition
from resources.rates.parsers import parse_cbr
from tests.support.rates import CBR_RATES, cbr_xml

PARTITION = "2026-03-05-04:00"
LONG_AGO = datetime(2025, 6, 1, tzinfo=timezone.utc)


def store_rates(engine, rate_set, partition: str = PARTITION, age: timedelta = timedelta(minutes=5)) -> None:
    with engine.begin() as conn:
        replace_partition(conn, partition, rate_set, datetime.now(timezone.utc) - age)


def moscow_today() -> date:
    return datetime.now(ZoneInfo("Europe/Moscow")).date()


def cbr_rates(without: tuple[str, ...] = (), day: date | None = None, **overrides):
    """The CBR test set (RUB base) parsed from its wire format, with (nominal, value) overrides; dated
    today in Moscow unless `day` is given (repricing judges the rate date)."""
    table = {code: quote for code, quote in {**CBR_RATES, **overrides}.items() if code not in without}
    return parse_cbr(cbr_xml(table, day or moscow_today()), "file:///cbr.xml")


def add_products(engine, *rows: tuple) -> list[int]:
    """Rows of (source_price, source_currency[, price, price_currency]); updated_at is LONG_AGO."""
    ids = []
    with engine.begin() as conn:
        for row in rows:
            source_price, source_currency, *priced = row
            price, price_currency = priced if priced else (None, None)
            ids.append(
                conn.execute(
                    insert(product).values(
                        title=f"product {len(ids)}",
                        source_price=None if source_price is None else Decimal(str(source_price)),
                        source_currency=source_currency,
                        price=None if price is None else Decimal(str(price)),
                        price_currency=price_currency,
                        updated_at=LONG_AGO,
                    )
                ).inserted_primary_key[0]
            )
    return ids


def prices(engine) -> dict[int, tuple]:
    """id -> (price, price_currency, updated_at as naive UTC)."""
    with engine.connect() as conn:
        rows = conn.execute(select(product.c.id, product.c.price, product.c.price_currency, product.c.updated_at)).all()
    return {r.id: (r.price, r.price_currency, _naive_utc(r.updated_at)) for r in rows}


def stored_rates(engine, partition: str = PARTITION) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    currency_rate.c.currency,
                    currency_rate.c.base_currency,
                    currency_rate.c.rate,
                    currency_rate.c.rate_date,
                    currency_rate.c.partition_key,
                    currency_rate.c.provider,
                )
                .where(currency_rate.c.partition_key == partition)
                .order_by(currency_rate.c.currency)
            )
        ]


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)
