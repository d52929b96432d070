"""Rate providers on their real wire formats, read through RatesResource from file:// URLs, and every
way a payload can be unusable: each fails with RatesPayloadError naming the provider, URL and problem."""

from datetime import date
from decimal import Decimal

import pytest

from resources.rates import BUNDLED_SNAPSHOT, RatesPayloadError, RatesResource
from tests.support.rates import CBR_RATES, HTML_ERROR_PAGE, cbr_xml, ecb_xml, rates_json

DAY = date(2026, 3, 5)


def fetch(tmp_path, provider: str, payload: bytes, as_of: date = DAY, name: str = "rates.dat"):
    path = tmp_path / name
    path.write_bytes(payload)
    return RatesResource(provider=provider, url=path.as_uri()).fetch(as_of)


def payload_error(tmp_path, provider: str, payload: bytes, as_of: date = DAY) -> RatesPayloadError:
    path = tmp_path / "bad.dat"
    with pytest.raises(RatesPayloadError) as caught:
        fetch(tmp_path, provider, payload, as_of, name=path.name)
    message = str(caught.value)
    assert message.startswith(f"{provider} rates from {path.as_uri()}: "), message
    assert caught.value.provider == provider and caught.value.url == path.as_uri()
    return caught.value


# --- CBR -----------------------------------------------------------------------------------------


def test_cbr_windows_1251_comma_decimals_and_nominals(tmp_path):
    rates = fetch(tmp_path, "cbr", cbr_xml())
    assert rates.provider == "cbr" and rates.base == "RUB" and rates.rate_date == DAY
    assert rates.rates["RUB"] == Decimal(1)
    assert rates.rates["USD"] == Decimal("80.5639")
    # Nominal 100: the rate is per one unit, exactly Value / Nominal.
    assert rates.rates["JPY"] == Decimal("0.534117")
    assert rates.rates["KZT"] == Decimal("0.154236")
    assert rates.rates["AMD"] == Decimal("0.207731")
    assert rates.rates["HUF"] == Decimal("0.229604")
    assert all(isinstance(v, Decimal) for v in rates.rates.values())
    assert set(rates.rates) == set(CBR_RATES) | {"RUB"}


def test_cbr_bundled_snapshot_parses():
    rates = RatesResource(provider="cbr", url=BUNDLED_SNAPSHOT.as_uri()).fetch(DAY)
    assert rates.base == "RUB"
    assert {"USD", "EUR", "CNY", "JPY", "KZT", "AMD", "HUF"} <= set(rates.rates)
    assert rates.rates["USD"] == Decimal("80.5639")
    assert rates.rates["AMD"] == Decimal("0.207731")  # <Nominal>100</Nominal><Value>20,7731</Value>
    assert all(v > 0 for v in rates.rates.values())


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (HTML_ERROR_PAGE, "got an HTML page instead of XML"),
        (b"", "empty response, expected XML"),
        (b"   \n ", "empty response, expected XML"),
        (cbr_xml()[:300], "malformed or truncated XML"),
        (cbr_xml().replace(b"<CharCode>USD</CharCode>", b""), "Valute #1 CharCode: None is not a 3-letter currency code"),
        (cbr_xml().replace(b"<Value>80,5639</Value>", b""), "Valute USD lacks Value or Nominal"),
        (cbr_xml().replace(b"<Nominal>100</Nominal>", b"", 1), "Valute JPY lacks Value or Nominal"),
        (cbr_xml().replace(b' Date="05.03.2026"', b""), "ValCurs/@Date None is not DD.MM.YYYY"),
        (cbr_xml().replace(b"80,5639", b"n/a"), "Valute USD Value: 'n/a' is not a number"),
        (cbr_xml().replace(b"80,5639", b"0,0000"), "Valute USD Value: '0.0000' is not positive"),
        (cbr_xml().replace(b"80,5639", b"-80,5639"), "Valute USD Value: '-80.5639' is not positive"),
        (cbr_xml().replace(b"80,5639", b"NaN"), "Valute USD Value: 'NaN' is not a finite number"),
        (cbr_xml().replace(b"80,5639", b"Infinity"), "Valute USD Value: 'Infinity' is not a finite number"),
        (cbr_xml().replace(b"<Nominal>100</Nominal>", b"<Nominal>0</Nominal>", 1), "Valute JPY Nominal: '0' is not positive"),
        (cbr_xml().replace(b"<CharCode>EUR</CharCode>", b"<CharCode>USD</CharCode>"), "currency USD appears twice"),
        (cbr_xml().replace(b"ValCurs", b"Rates"), "root element is <Rates>, expected <ValCurs>"),
        (cbr_xml({}), "no Valute elements: the rate set is empty"),
    ],
    ids=[
        "html", "empty", "blank", "truncated", "no-charcode", "no-value", "no-nominal", "no-date", "non-numeric",
        "zero", "negative", "nan", "infinity", "zero-nominal", "duplicate", "wrong-root", "no-valutes",
    ],
)
def test_cbr_bad_payloads(tmp_path, payload, problem):
    error = payload_error(tmp_path, "cbr", payload)
    assert problem in error.problem, error.problem


# --- ECB -----------------------------------------------------------------------------------------

HISTORY = {
    date(2026, 3, 5): {"USD": "1.0860", "JPY": "162.50", "RUB": "92.8417"},
    date(2026, 3, 4): {"USD": "1.0800", "JPY": "161.00", "RUB": "93.1000"},
    date(2026, 3, 2): {"USD": "1.0750", "JPY": "160.00", "RUB": "94.0000"},
}


def test_ecb_daily_inverts_to_units_of_eur(tmp_path):
    rates = fetch(tmp_path, "ecb", ecb_xml({DAY: HISTORY[DAY]}))
    assert rates.provider == "ecb" and rates.base == "EUR" and rates.rate_date == DAY
    assert rates.rates["EUR"] == Decimal(1)
    assert rates.rates["USD"] == Decimal(1) / Decimal("1.0860")
    assert rates.rates["JPY"] == Decimal(1) / Decimal("162.50")
    assert set(rates.rates) == {"EUR", "USD", "JPY", "RUB"}


@pytest.mark.parametrize(
    ("as_of", "expected_day"),
    [
        (date(2026, 3, 5), date(2026, 3, 5)),
        (date(2026, 3, 9), date(2026, 3, 5)),  # after the newest day: the newest
        (date(2026, 3, 4), date(2026, 3, 4)),
        (date(2026, 3, 3), date(2026, 3, 2)),  # no publication that day: the one before
        (date(2026, 3, 2), date(2026, 3, 2)),
    ],
)
def test_ecb_history_picks_newest_day_on_or_before_as_of(tmp_path, as_of, expected_day):
    rates = fetch(tmp_path, "ecb", ecb_xml(HISTORY), as_of=as_of)
    assert rates.rate_date == expected_day
    assert rates.rates["USD"] == Decimal(1) / Decimal(HISTORY[expected_day]["USD"])


def test_ecb_history_older_than_every_day_is_a_clear_error(tmp_path):
    error = payload_error(tmp_path, "ecb", ecb_xml(HISTORY), as_of=date(2026, 3, 1))
    assert error.problem == "no rates on or before 2026-03-01 (oldest day in the document is 2026-03-02)"


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (HTML_ERROR_PAGE, "got an HTML page instead of XML"),
        (b"", "empty response, expected XML"),
        (ecb_xml(HISTORY)[:-40], "malformed or truncated XML"),
        (cbr_xml(), "no Cube[@time] elements: not an ECB reference-rate document"),
        (ecb_xml({DAY: {}}), "the day 2026-03-05 holds no rates"),
        (ecb_xml({DAY: {"USD": "abc"}}), "2026-03-05 USD rate: 'abc' is not a number"),
        (ecb_xml({DAY: {"USD": "0"}}), "2026-03-05 USD rate: '0' is not positive"),
        (ecb_xml({DAY: {"USD": "-1.08"}}), "2026-03-05 USD rate: '-1.08' is not positive"),
        (ecb_xml({DAY: {"USD": "NaN"}}), "2026-03-05 USD rate: 'NaN' is not a finite number"),
        (ecb_xml({DAY: {"USD": "Infinity"}}), "2026-03-05 USD rate: 'Infinity' is not a finite number"),
        (ecb_xml({DAY: {"USD": "1.08"}}).replace(b" rate='1.08'", b""), "2026-03-05 USD rate: None is not a number"),
        (ecb_xml({DAY: {"USD": "1.08"}}).replace(b"currency='USD' ", b""), "Cube currency: None is not a 3-letter"),
        (ecb_xml({DAY: {"USD": "1.08"}}).replace(b"2026-03-05", b"05.03.2026"), "Cube/@time '05.03.2026' is not YYYY-MM-DD"),
        (ecb_xml({DAY: {"USD": "1.08"}}).replace(b"</Cube>\n\t</Cube>", b"<Cube currency='USD' rate='1.09'/></Cube>\n\t</Cube>"),
         "currency USD appears twice"),
    ],
    ids=[
        "html", "empty", "truncated", "wrong-root", "empty-day", "non-numeric", "zero", "negative", "nan",
        "infinity", "no-rate", "no-currency", "bad-time", "duplicate",
    ],
)
def test_ecb_bad_payloads(tmp_path, payload, problem):
    error = payload_error(tmp_path, "ecb", payload)
    assert problem in error.problem, error.problem


# --- generic JSON --------------------------------------------------------------------------------


def test_json_rates_are_inverted_to_units_of_base(tmp_path):
    rates = fetch(tmp_path, "json", rates_json("EUR", "2026-03-05", {"USD": 1.086, "RUB": "92.8417", "EUR": 1}))
    assert rates.provider == "json" and rates.base == "EUR" and rates.rate_date == DAY
    assert rates.rates["USD"] == Decimal(1) / Decimal("1.086")
    assert rates.rates["RUB"] == Decimal(1) / Decimal("92.8417")
    assert rates.rates["EUR"] == Decimal(1)


def test_json_base_is_added_when_absent(tmp_path):
    rates = fetch(tmp_path, "json", rates_json("USD", "2026-03-05T00:00:00Z", {"RUB": 80.5639}))
    assert rates.base == "USD" and rates.rates["USD"] == Decimal(1) and rates.rate_date == DAY


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (HTML_ERROR_PAGE, "got an HTML page instead of JSON"),
        (b"", "empty response, expected JSON"),
        (rates_json()[:25], "malformed or truncated JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"date": "2026-03-05", "rates": {"USD": 1.08}}', "missing field(s): base"),
        (b'{"base": "EUR", "rates": {"USD": 1.08}}', "missing field(s): date"),
        (b'{"base": "EUR", "date": "2026-03-05"}', "missing field(s): rates"),
        (b'{"base": "EUR", "date": "yesterday", "rates": {"USD": 1.08}}', "date 'yesterday' is not YYYY-MM-DD"),
        (b'{"base": "EURO", "date": "2026-03-05", "rates": {"USD": 1.08}}', "base: 'EURO' is not a 3-letter"),
        (rates_json(rates={}), "rates must be a non-empty object"),
        (b'{"base": "EUR", "date": "2026-03-05", "rates": [1.08]}', "rates must be a non-empty object"),
        (rates_json(rates={"USD": "abc"}), "rates.USD: 'abc' is not a number"),
        (rates_json(rates={"USD": None}), "rates.USD: None is not a number"),
        (rates_json(rates={"USD": True}), "rates.USD: True is not a number"),
        (rates_json(rates={"USD": 0}), "rates.USD: 0 is not positive"),
        (rates_json(rates={"USD": -1.08}), "rates.USD: -1.08 is not positive"),
        (b'{"base": "EUR", "date": "2026-03-05", "rates": {"USD": NaN}}', "rates.USD: nan is not a finite number"),
        (b'{"base": "EUR", "date": "2026-03-05", "rates": {"USD": Infinity}}', "rates.USD: inf is not a finite number"),
        (b'{"base": "EUR", "date": "2026-03-05", "rates": {"USD": 1.08, "usd": 1.09}}', "currency USD appears twice"),
    ],
    ids=[
        "html", "empty", "truncated", "not-object", "no-base", "no-date", "no-rates", "bad-date", "bad-base",
        "empty-rates", "rates-list", "non-numeric", "null", "bool", "zero", "negative", "nan", "infinity", "duplicate",
    ],
)
def test_json_bad_payloads(tmp_path, payload, problem):
    error = payload_error(tmp_path, "json", payload)
    assert problem in error.problem, error.problem
