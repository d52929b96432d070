"""`reprice_products` (the plain function under repriced_products) on SQLite and PostgreSQL: exact values,
cross rates, minor units, rows left alone, products it cannot price, idempotence, chunking."""

import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import event, text

from appdb.engine import build_engine
from assets.commerce.repricing import reprice_products
from resources.rates.parsers import parse_ecb, parse_json
from tests.commerce.helpers import LONG_AGO, PARTITION, add_products, cbr_rates, prices, store_rates
from tests.support.rates import ecb_xml, rates_json


def cents(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_cbr_rates_into_rub_exact(engine):
    store_rates(engine, cbr_rates())
    usd, jpy, kzt, eur, rub = add_products(
        engine, (10, "USD"), (1000, "JPY"), ("12345.67", "KZT"), ("99.99", "EUR"), ("250.5", "RUB")
    )
    report = reprice_products(engine, PARTITION, "RUB")
    got = prices(engine)
    assert got[usd][:2] == (Decimal("805.64"), "RUB")  # 10 x 80.5639 = 805.639
    assert got[jpy][:2] == (Decimal("534.12"), "RUB")  # 1000 x 53.4117 / 100 = 534.117
    assert got[kzt][:2] == (Decimal("1904.15"), "RUB")  # 12345.67 x 15.4236 / 100 = 1904.1467...
    assert got[eur][:2] == (Decimal("9283.24"), "RUB")  # 99.99 x 92.8417 = 9283.2416...
    assert got[rub][:2] == (Decimal("250.50"), "RUB")
    assert all(updated != LONG_AGO for _, _, updated in got.values())
    assert (report.changed, report.unchanged, report.eligible, report.skipped) == (5, 0, 5, {})


def test_cross_rates_from_an_eur_based_provider_into_rub(engine):
    ecb = {"USD": "1.0860", "JPY": "162.50", "RUB": "92.8417", "CNY": "7.8312"}
    store_rates(engine, parse_ecb(ecb_xml({date(2026, 3, 5): ecb}), "file:///ecb.xml", date(2026, 3, 5)))
    usd, jpy, eur, cny, rub = add_products(engine, (10, "USD"), (1000, "JPY"), (100, "EUR"), (50, "CNY"), (1, "RUB"))
    reprice_products(engine, PARTITION, "RUB")
    got = prices(engine)
    # RUB per unit = (EUR per unit) / (EUR per RUB) = RUB-per-EUR / unit-per-EUR.
    assert got[usd][:2] == (cents(10 * Decimal("92.8417") / Decimal("1.0860")), "RUB") == (Decimal("854.90"), "RUB")
    assert got[jpy][0] == cents(1000 * Decimal("92.8417") / Decimal("162.50")) == Decimal("571.33")
    assert got[eur][0] == Decimal("9284.17")
    assert got[cny][0] == cents(50 * Decimal("92.8417") / Decimal("7.8312")) == Decimal("592.77")
    assert got[rub][0] == Decimal("1.00")


def test_json_provider_with_usd_base_into_rub(engine):
    store_rates(engine, parse_json(rates_json("USD", "2026-03-05", {"RUB": "80.5639", "EUR": "0.9208"}), "file:///r.json"))
    usd, eur = add_products(engine, (10, "USD"), (100, "EUR"))
    reprice_products(engine, PARTITION, "RUB")
    got = prices(engine)
    assert got[usd][:2] == (Decimal("805.64"), "RUB")
    assert got[eur][0] == cents(100 * Decimal("80.5639") / Decimal("0.9208")) == Decimal("8749.34")


def test_store_currency_usd_with_cbr_rates(engine):
    store_rates(engine, cbr_rates())
    rub, eur, usd, jpy = add_products(engine, (1000, "RUB"), (100, "EUR"), ("19.99", "USD"), (5000, "JPY"))
    reprice_products(engine, PARTITION, "usd")
    got = prices(engine)
    assert got[rub][:2] == (Decimal("12.41"), "USD")  # 1000 / 80.5639 = 12.4125...
    assert got[eur][:2] == (Decimal("115.24"), "USD")  # 100 x 92.8417 / 80.5639 = 115.2398...
    assert got[usd][:2] == (Decimal("19.99"), "USD")
    assert got[jpy][:2] == (cents(5000 * Decimal("0.534117") / Decimal("80.5639")), "USD") == (Decimal("33.15"), "USD")


def test_store_currency_jpy_rounds_to_whole_yen(engine):
    store_rates(engine, cbr_rates())
    usd, rub, jpy = add_products(engine, (10, "USD"), (1, "RUB"), ("1234.56", "JPY"))
    reprice_products(engine, PARTITION, "JPY")
    got = prices(engine)
    assert got[usd][:2] == (Decimal("1508"), "JPY")  # 805.639 / 0.534117 = 1508.35...
    assert got[rub][:2] == (Decimal("2"), "JPY")  # 1 / 0.534117 = 1.872...
    assert got[jpy][:2] == (Decimal("1235"), "JPY")


def test_rows_already_right_are_untouched_and_a_second_run_changes_nothing(engine):
    store_rates(engine, cbr_rates())
    right, wrong_price, wrong_currency, new = add_products(
        engine, (10, "USD", "805.64", "RUB"), (10, "USD", "800", "RUB"), (10, "RUB", "10", "USD"), (1, "EUR")
    )
    report = reprice_products(engine, PARTITION, "RUB")
    got = prices(engine)
    assert got[right] == (Decimal("805.64"), "RUB", LONG_AGO.replace(tzinfo=None))
    assert got[wrong_price][:2] == (Decimal("805.64"), "RUB") and got[wrong_price][2] != LONG_AGO.replace(tzinfo=None)
    assert got[wrong_currency][:2] == (Decimal("10.00"), "RUB") and got[wrong_currency][2] != LONG_AGO.replace(tzinfo=None)
    assert got[new][:2] == (Decimal("92.84"), "RUB")
    assert (report.changed, report.unchanged) == (3, 1)

    second = reprice_products(engine, PARTITION, "RUB")
    assert (second.changed, second.unchanged) == (0, 4)
    assert prices(engine) == got  # updated_at included: nothing was written


def test_products_without_a_rate_or_source_price_keep_their_price_and_are_reported(engine):
    store_rates(engine, cbr_rates())
    gbp, gbp_unpriced, no_source, no_currency, usd = add_products(
        engine,
        (100, "GBP", "10500", "RUB"),
        (5, "GBP"),
        (None, "USD", "777", "RUB"),
        (100, None, "12", "RUB"),
        (1, "USD"),
    )
    before = prices(engine)
    report = reprice_products(engine, PARTITION, "RUB")
    got = prices(engine)
    for kept in (gbp, gbp_unpriced, no_source, no_currency):
        assert got[kept] == before[kept]  # never nulled or zeroed, not even touched
    assert got[gbp][0] == Decimal("10500") and got[gbp_unpriced][0] is None and got[no_source][0] == Decimal("777")
    assert got[usd][0] == Decimal("80.56")
    assert report.skipped == {"no_source_price": 1, "no_source_currency": 1, "no_rate_for_currency": 2}
    assert report.skipped_examples == {
        "no_source_price": [f"{no_source} (USD)"],
        "no_source_currency": [f"{no_currency} (-)"],
        "no_rate_for_currency": [f"{gbp} (GBP)", f"{gbp_unpriced} (GBP)"],
    }
    assert (report.changed, report.eligible) == (1, 1)


def test_small_chunks_give_the_same_result(engine):
    store_rates(engine, cbr_rates())
    rows = [(Decimal(i) + Decimal("0.37"), ["USD", "EUR", "JPY", "KZT", "RUB", "GBP"][i % 6]) for i in range(40)]
    ids = add_products(engine, *rows)
    report = reprice_products(engine, PARTITION, "RUB", chunk_rows=7)
    chunked = {i: p[:2] for i, p in prices(engine).items()}
    assert report.chunks == -(-(max(ids) - min(ids) + 1) // 7) and report.changed == 34

    rates = {code: rate for code, rate in cbr_rates().rates.items()}
    expected = {
        i: (cents(price * rates[code]), "RUB") if code in rates else (None, None) for i, (price, code) in zip(ids, rows)
    }
    assert chunked == expected
    assert reprice_products(engine, PARTITION, "RUB", chunk_rows=7).changed == 0
    assert reprice_products(engine, PARTITION, "RUB", chunk_rows=100_000).changed == 0


def test_empty_catalog(engine):
    store_rates(engine, cbr_rates())
    report = reprice_products(engine, PARTITION, "RUB")
    assert (report.changed, report.eligible, report.chunks, report.skipped) == (0, 0, 0, {})


def test_many_changes_after_no_op_chunks_on_one_connection_stay_fast(pg_url):
    """Regression: the product change-capture trigger once froze a one-row estimate of its transition
    tables on the first (no-op) chunk and then joined 20,000 rows with a nested loop for minutes."""
    engine = build_engine(pg_url, pool_size=1, max_overflow=0)  # every chunk on the same connection
    event.listen(engine, "connect", lambda dbapi, _: dbapi.cursor().execute("SET statement_timeout = '30s'"))
    store_rates(engine, cbr_rates())
    add_products(engine, *[(10, "USD", "805.64", "RUB")] * 5)  # ids 1..5: already right
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO product (id, title, source_price, source_currency, updated_at) "
                "SELECT i, 'new', 10, 'USD', now() FROM generate_series(1000001, 1020000) AS i"
            )
        )
    started = time.perf_counter()
    report = reprice_products(engine, PARTITION, "RUB", chunk_rows=200_000)  # 5 no-op chunks, then 20,000 rows
    assert (report.changed, report.chunks) == (20_000, 6)
    assert time.perf_counter() - started < 20
    engine.dispose()
