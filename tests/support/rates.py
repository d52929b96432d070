"""Rate documents in the providers' real wire formats, for tests (CBR XML_daily, ECB eurofxref, JSON)."""

from __future__ import annotations

import json
from datetime import date

# Russian names as CBR sends them: the document is windows-1251, so these exercise the encoding.
CBR_NAMES = {
    "USD": "Доллар США",
    "EUR": "Евро",
    "CNY": "Китайский юань",
    "JPY": "Японских иен",
    "KZT": "Казахстанских тенге",
    "AMD": "Армянских драмов",
    "HUF": "Венгерских форинтов",
}

# (nominal, value with a comma decimal separator), the shape of a real XML_daily answer.
CBR_RATES = {
    "USD": (1, "80,5639"),
    "EUR": (1, "92,8417"),
    "CNY": (1, "11,0832"),
    "JPY": (100, "53,4117"),
    "KZT": (100, "15,4236"),
    "AMD": (100, "20,7731"),
    "HUF": (100, "22,9604"),
}


def cbr_xml(rates: dict[str, tuple[int, str]] | None = None, day: date = date(2026, 3, 5)) -> bytes:
    valutes = "".join(
        f'<Valute ID="R{index:05d}"><NumCode>{index:03d}</NumCode><CharCode>{code}</CharCode>'
        f"<Nominal>{nominal}</Nominal><Name>{CBR_NAMES.get(code, 'Валюта')}</Name>"
        f"<Value>{value}</Value></Valute>"
        for index, (code, (nominal, value)) in enumerate((CBR_RATES if rates is None else rates).items(), start=1)
    )
    text = (
        '<?xml version="1.0" encoding="windows-1251"?>'
        f'<ValCurs Date="{day:%d.%m.%Y}" name="Foreign Currency Market">{valutes}</ValCurs>'
    )
    return text.encode("windows-1251")


def ecb_xml(days: dict[date, dict[str, str]]) -> bytes:
    """eurofxref-daily/-hist shape: `days[d][code]` = units of the currency per 1 EUR (as text)."""
    cubes = "".join(
        f"\n\t\t<Cube time='{day.isoformat()}'>"
        + "".join(f"\n\t\t\t<Cube currency='{code}' rate='{rate}'/>" for code, rate in rates.items())
        + "\n\t\t</Cube>"
        for day, rates in sorted(days.items(), reverse=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
        "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
        "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n"
        f"\t<Cube>{cubes}\n\t</Cube>\n</gesmes:Envelope>\n"
    ).encode()


def rates_json(base: str = "EUR", day: str = "2026-03-05", rates: dict | None = None) -> bytes:
    rates = {"USD": 1.0860, "RUB": 92.8417} if rates is None else rates
    return json.dumps({"base": base, "date": day, "rates": rates}).encode()


HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service temporarily unavailable</h1></body></html>"
)
