"""The rate sources, one entry each. Which one runs is configuration (RATES_PROVIDER), not code.

Each provider also knows its calendar: which rate set is in force at an instant (`date_at`), and how
to ask for a date or, with `None`, for the newest set it has published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse
from zoneinfo import ZoneInfo

from resources.rates.models import RateSet
from resources.rates.parsers import parse_cbr, parse_ecb, parse_json


def _with_query(url: str, **params: str) -> str:
    parts = urlparse(url)
    query = parse_qs(parts.query)
    query.update({key: [value] for key, value in params.items()})
    # Slashes stay literal: CBR documents date_req=DD/MM/YYYY.
    return urlunparse(parts._replace(query=urlencode(query, doseq=True, safe="/")))


def _cbr_url(url: str, as_of: date | None) -> str:
    # Without date_req CBR answers its newest published set (tomorrow's, once published in the afternoon).
    if as_of is None:
        return url.replace("{date}", "") if "{date}" in url else url
    if "{date}" in url:
        return url.replace("{date}", as_of.strftime("%d/%m/%Y"))
    if urlparse(url).scheme in ("http", "https"):
        return _with_query(url, date_req=as_of.strftime("%d/%m/%Y"))
    return url


def _iso_url(url: str, as_of: date | None) -> str:
    # "latest" is the newest set for frankfurter-style APIs; other URLs without {date} are left alone.
    return url.replace("{date}", as_of.isoformat() if as_of else "latest")


def _moscow_date(at: datetime) -> date:
    # CBR sets the rate of day D (a Moscow date) the afternoon before; it is in force from D 00:00 MSK.
    return at.astimezone(ZoneInfo("Europe/Moscow")).date()


def _ecb_date(at: datetime) -> date:
    # ECB publishes day D's reference rates at about 16:00 CET on D: before that, D-1's are in force.
    return (at.astimezone(ZoneInfo("Europe/Berlin")) - timedelta(hours=16)).date()


def _utc_date(at: datetime) -> date:
    return at.astimezone(ZoneInfo("UTC")).date()


@dataclass(frozen=True)
class Provider:
    name: str
    default_url: str
    dated_url: Callable[[str, date | None], str]
    parse: Callable[[bytes, str, date | None], RateSet]
    date_at: Callable[[datetime], date]
    description: str


PROVIDERS: dict[str, Provider] = {
    "cbr": Provider(
        name="cbr",
        default_url="https://www.cbr.ru/scripts/XML_daily.asp",
        dated_url=_cbr_url,
        parse=lambda payload, url, as_of: parse_cbr(payload, url),
        date_at=_moscow_date,
        description="Central Bank of Russia daily XML (RUB base); history through date_req (Moscow dates)",
    ),
    "ecb": Provider(
        name="ecb",
        default_url="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml",
        dated_url=_iso_url,
        parse=parse_ecb,
        date_at=_ecb_date,
        description="ECB euro reference rates XML (EUR base); the newest day on or before the one in force",
    ),
    "json": Provider(
        name="json",
        default_url="https://api.frankfurter.app/{date}",
        dated_url=_iso_url,
        parse=lambda payload, url, as_of: parse_json(payload, url),
        date_at=_utc_date,
        description='generic {"base","date","rates"} JSON API; {date} in the URL becomes YYYY-MM-DD ("latest" for the live window)',
    ),
}
