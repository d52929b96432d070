"""Reading and writing stored rate sets (table `currency_rate`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select

from appdb.tables import currency_rate
from resources.rates import RateSet


@dataclass(frozen=True)
class StoredRates:
    partition_key: str
    provider: str
    base: str
    rate_date: date
    fetched_at: datetime
    rates: dict[str, Decimal]


def replace_partition(conn: Connection, partition_key: str, rate_set: RateSet, fetched_at: datetime) -> int:
    """Swap a partition's rows for the new set inside the caller's transaction: never a half-written set."""
    conn.execute(delete(currency_rate).where(currency_rate.c.partition_key == partition_key))
    rows = [
        {
            "currency": code,
            "base_currency": rate_set.base,
            "rate": rate,
            "rate_date": rate_set.rate_date,
            "partition_key": partition_key,
            "provider": rate_set.provider,
            "fetched_at": fetched_at,
        }
        for code, rate in sorted(rate_set.rates.items())
    ]
    conn.execute(insert(currency_rate), rows)
    return len(rows)


def load_partition(conn: Connection, partition_key: str) -> StoredRates | None:
    rows = conn.execute(
        select(
            currency_rate.c.currency,
            currency_rate.c.rate,
            currency_rate.c.base_currency,
            currency_rate.c.provider,
            currency_rate.c.rate_date,
            currency_rate.c.fetched_at,
        ).where(currency_rate.c.partition_key == partition_key)
    ).all()
    if not rows:
        return None
    return StoredRates(
        partition_key=partition_key,
        provider=rows[0].provider,
        base=rows[0].base_currency,
        rate_date=rows[0].rate_date,
        fetched_at=rows[0].fetched_at,
        rates={row.currency: Decimal(str(row.rate)) for row in rows},
    )


def latest_partition_key(conn: Connection, before: str | None = None) -> str | None:
    """The newest stored partition (keys sort chronologically), optionally strictly before `before`."""
    query = select(func.max(currency_rate.c.partition_key))
    if before is not None:
        query = query.where(currency_rate.c.partition_key < before)
    return conn.execute(query).scalar_one_or_none()


def load_latest(conn: Connection, before: str | None = None) -> StoredRates | None:
    key = latest_partition_key(conn, before)
    return load_partition(conn, key) if key else None


def load_latest_complete(conn: Connection, needed: list[str]) -> StoredRates | None:
    """The newest stored set holding every currency in `needed`: an incomplete newer set (kept for the
    operator to inspect) never stands in the way of repricing from the last complete one."""
    key = conn.execute(
        select(currency_rate.c.partition_key)
        .where(currency_rate.c.currency.in_(needed))
        .group_by(currency_rate.c.partition_key)
        .having(func.count() == len(set(needed)))
        .order_by(currency_rate.c.partition_key.desc())
        .limit(1)
    ).scalar_one_or_none()
    return load_partition(conn, key) if key else None
