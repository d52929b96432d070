"""The rate sources, one entry each. Which one runs is configuration (RATES_PROVIDER), not code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

from resources.rates.models import RateSet
from resources.rates.parsers import parse_cbr, parse_ecb, parse_json


def _with_query(url: str, **params: str) -> str:
    parts = urlparse(url)
    query = parse_qs(parts.query)
    query.update({key: [value] for key, value in params.items()})
    # Slashes stay literal: CBR documents date_req=DD/MM/YYYY.
    return urlunparse(parts._replace(query=urlencode(query, doseq=True, safe="/")))


def _cbr_url(url: str, as_of: date) -> str:
    if "{date}" in url:
        return url.replace("{date}", as_of.strftime("%d/%m/%Y"))
    if urlparse(url).scheme in ("http", "https"):
        return _with_query(url, date_req=as_of.strftime("%d/%m/%Y"))
    return url


def _iso_url(url: str, as_of: date) -> str:
    return url.replace("{date}", as_of.isoformat())


@dataclass(frozen=True)
class Provider:
    name: str
    default_url: str
    dated_url: Callable[[str, date], str]
    parse: Callable[[bytes, str, date], RateSet]
    description: str


PROVIDERS: dict[str, Provider] = {
    "cbr": Provider(
        name="cbr",
        default_url="https://www.cbr.ru/scripts/XML_daily.asp",
        dated_url=_cbr_url,
        parse=lambda payload, url, as_of: parse_cbr(payload, url),
        description="Central Bank of Russia daily XML (RUB base); history through date_req",
    ),
    "ecb": Provider(
        name="ecb",
        default_url="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml",
        dated_url=_iso_url,
        parse=parse_ecb,
        description="ECB euro reference rates XML (EUR base); the newest day on or before the partition",
    ),
    "json": Provider(
        name="json",
        default_url="https://api.frankfurter.app/{date}",
        dated_url=_iso_url,
        parse=lambda payload, url, as_of: parse_json(payload, url),
        description='generic {"base","date","rates"} JSON API; {date} in the URL becomes YYYY-MM-DD',
    ),
}
