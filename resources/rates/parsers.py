"""Parsers for the real wire formats. Each either returns a complete, validated RateSet or raises
RatesPayloadError saying exactly what is wrong; nothing half-parsed ever leaves this module."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from resources.rates.models import RatesPayloadError, RateSet

ECB_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


def _fail(provider: str, url: str, problem: str) -> RatesPayloadError:
    return RatesPayloadError(provider, url, problem)


def _reject_non_document(provider: str, url: str, payload: bytes, expected: str) -> None:
    head = payload.lstrip()[:200].lower()
    if not head:
        raise _fail(provider, url, f"empty response, expected {expected}")
    if head.startswith(b"<!doctype html") or head.startswith(b"<html") or b"<html" in head:
        raise _fail(provider, url, f"got an HTML page instead of {expected}")


def _parse_xml(provider: str, url: str, payload: bytes) -> ET.Element:
    _reject_non_document(provider, url, payload, "XML")
    try:
        return SafeET.fromstring(payload)
    except ET.ParseError as exc:
        raise _fail(provider, url, f"malformed or truncated XML ({exc})") from exc
    except DefusedXmlException as exc:
        raise _fail(provider, url, f"XML refused as unsafe ({exc.__class__.__name__})") from exc


def _positive_decimal(provider: str, url: str, raw: object, where: str) -> Decimal:
    text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise _fail(provider, url, f"{where}: {raw!r} is not a number") from None
    if not value.is_finite():
        raise _fail(provider, url, f"{where}: {raw!r} is not a finite number")
    if value <= 0:
        raise _fail(provider, url, f"{where}: {raw!r} is not positive")
    return value


def _currency_code(provider: str, url: str, raw: str | None, where: str) -> str:
    code = (raw or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise _fail(provider, url, f"{where}: {raw!r} is not a 3-letter currency code")
    return code


def _put(provider: str, url: str, rates: dict[str, Decimal], code: str, value: Decimal) -> None:
    if code in rates:
        raise _fail(provider, url, f"currency {code} appears twice")
    rates[code] = value


def parse_cbr(payload: bytes, url: str) -> RateSet:
    """Central Bank of Russia XML_daily: RUB base, comma decimals, `Nominal` units per quote (100 JPY)."""
    provider = "cbr"
    root = _parse_xml(provider, url, payload)
    if root.tag != "ValCurs":
        raise _fail(provider, url, f"root element is <{root.tag}>, expected <ValCurs>")
    raw_date = root.get("Date")
    try:
        rate_date = datetime.strptime(raw_date or "", "%d.%m.%Y").date()
    except ValueError:
        raise _fail(provider, url, f"ValCurs/@Date {raw_date!r} is not DD.MM.YYYY") from None
    rates: dict[str, Decimal] = {}
    for index, valute in enumerate(root.findall("Valute"), start=1):
        where = f"Valute #{index}"
        code = _currency_code(provider, url, valute.findtext("CharCode"), f"{where} CharCode")
        where = f"Valute {code}"
        value_text = valute.findtext("Value")
        nominal_text = valute.findtext("Nominal")
        if value_text is None or nominal_text is None:
            raise _fail(provider, url, f"{where} lacks Value or Nominal")
        value = _positive_decimal(provider, url, value_text.replace(",", "."), f"{where} Value")
        nominal = _positive_decimal(provider, url, nominal_text.replace(",", "."), f"{where} Nominal")
        _put(provider, url, rates, code, value / nominal)
    if not rates:
        raise _fail(provider, url, "no Valute elements: the rate set is empty")
    return RateSet(provider=provider, url=url, base="RUB", rate_date=rate_date, rates=rates)


def parse_ecb(payload: bytes, url: str, as_of: date | None = None) -> RateSet:
    """ECB eurofxref (daily, 90-day or full history): EUR base, `rate` = units of currency per 1 EUR.

    With history, the newest day on or before `as_of` is used."""
    provider = "ecb"
    root = _parse_xml(provider, url, payload)
    days = root.findall(f".//{ECB_NS}Cube[@time]")
    if not days:
        raise _fail(provider, url, "no Cube[@time] elements: not an ECB reference-rate document")
    parsed_days: list[tuple[date, ET.Element]] = []
    for cube in days:
        raw = cube.get("time")
        try:
            parsed_days.append((date.fromisoformat(raw or ""), cube))
        except ValueError:
            raise _fail(provider, url, f"Cube/@time {raw!r} is not YYYY-MM-DD") from None
    eligible = [d for d in parsed_days if as_of is None or d[0] <= as_of]
    if not eligible:
        oldest = min(d for d, _ in parsed_days)
        raise _fail(provider, url, f"no rates on or before {as_of} (oldest day in the document is {oldest})")
    rate_date, cube = max(eligible, key=lambda d: d[0])
    rates: dict[str, Decimal] = {}
    for entry in cube.findall(f"{ECB_NS}Cube"):
        code = _currency_code(provider, url, entry.get("currency"), f"{rate_date} Cube currency")
        per_eur = _positive_decimal(provider, url, entry.get("rate"), f"{rate_date} {code} rate")
        _put(provider, url, rates, code, Decimal(1) / per_eur)
    if not rates:
        raise _fail(provider, url, f"the day {rate_date} holds no rates")
    return RateSet(provider=provider, url=url, base="EUR", rate_date=rate_date, rates=rates)


def parse_json(payload: bytes, url: str) -> RateSet:
    """A generic `{"base": "EUR", "date": "YYYY-MM-DD", "rates": {"USD": 1.09}}` API (units per 1 base)."""
    provider = "json"
    _reject_non_document(provider, url, payload, "JSON")
    try:
        document = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(provider, url, f"malformed or truncated JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise _fail(provider, url, f"expected a JSON object, got {type(document).__name__}")
    missing = [key for key in ("base", "date", "rates") if key not in document]
    if missing:
        raise _fail(provider, url, f"missing field(s): {', '.join(missing)}")
    base = _currency_code(provider, url, document["base"], "base")
    try:
        rate_date = date.fromisoformat(str(document["date"])[:10])
    except ValueError:
        raise _fail(provider, url, f"date {document['date']!r} is not YYYY-MM-DD") from None
    raw_rates = document["rates"]
    if not isinstance(raw_rates, dict) or not raw_rates:
        raise _fail(provider, url, "rates must be a non-empty object of currency -> number")
    rates: dict[str, Decimal] = {}
    for raw_code, raw_value in raw_rates.items():
        code = _currency_code(provider, url, raw_code, "rates key")
        if isinstance(raw_value, bool) or not isinstance(raw_value, (int, float, str)):
            raise _fail(provider, url, f"rates.{code}: {raw_value!r} is not a number")
        per_base = _positive_decimal(provider, url, raw_value, f"rates.{code}")
        _put(provider, url, rates, code, Decimal(1) / per_base if code != base else Decimal(1))
    return RateSet(provider=provider, url=url, base=base, rate_date=rate_date, rates=rates)
