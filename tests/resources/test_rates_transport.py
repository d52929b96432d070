"""RatesResource over HTTP against a real local server: retries with backoff on transient failures,
immediate failure on the rest, and the partition's date in the request."""

import socket
import threading
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from resources.rates import RatesError, RatesPayloadError, RatesResource, RatesTransportError
from tests.support.http import Reply
from tests.support.rates import HTML_ERROR_PAGE, cbr_xml, rates_json

DAY = date(2026, 3, 5)
XML = "application/xml; charset=windows-1251"


def resource(provider: str, url: str, **overrides) -> RatesResource:
    settings = {"max_backoff_s": 0.01, "attempts": 3, "read_timeout_s": 0.3, "connect_timeout_s": 0.5}
    return RatesResource(provider=provider, url=url, **{**settings, **overrides})


def test_two_500s_then_200_succeeds_after_retries(http_server):
    url = http_server.route("/daily", Reply(500, b"oops"), Reply(500, b"oops"), Reply(200, cbr_xml(), XML))
    rates = resource("cbr", url).fetch(DAY)
    assert rates.rates["USD"] == Decimal("80.5639")
    assert http_server.hits("/daily") == 3


def test_503_forever_gives_up_after_attempts_naming_the_url(http_server):
    url = http_server.route("/daily", Reply(503, b"busy"))
    with pytest.raises(RatesTransportError) as caught:
        resource("cbr", url, attempts=3).fetch(DAY)
    assert http_server.hits("/daily") == 3
    message = str(caught.value)
    assert message.startswith(f"cbr rates from {url}?date_req=05/03/2026: unreachable after 3 attempt(s)"), message
    assert "HTTP 503" in message


def test_429_is_transient_too(http_server):
    url = http_server.route("/latest", Reply(429, b"slow down"), Reply(200, rates_json(), "application/json"))
    assert resource("json", url).fetch(DAY).base == "EUR"
    assert http_server.hits("/latest") == 2


def test_slow_server_times_out_is_retried_then_fails_saying_timeout(http_server):
    url = http_server.route("/latest", Reply(200, rates_json(), "application/json", delay_s=1.0))
    with pytest.raises(RatesTransportError) as caught:
        resource("json", url, read_timeout_s=0.3).fetch(DAY)
    assert http_server.hits("/latest") == 3
    assert "timeout" in str(caught.value).lower() and url in str(caught.value)


def test_slow_answer_once_then_fast_succeeds(http_server):
    url = http_server.route(
        "/latest", Reply(200, rates_json(), delay_s=1.0), Reply(200, rates_json(), "application/json")
    )
    assert resource("json", url).fetch(DAY).rates["EUR"] == 1
    assert http_server.hits("/latest") == 2


def test_404_fails_at_once_without_retries(http_server):
    url = http_server.url("/nowhere")
    with pytest.raises(RatesError) as caught:
        resource("json", url).fetch(DAY)
    assert not isinstance(caught.value, RatesTransportError)
    assert http_server.hits("/nowhere") == 1
    assert str(caught.value) == f"json rates from {url}: HTTP 404"


def test_html_error_page_with_200_fails_at_once_as_payload_error(http_server):
    url = http_server.route("/daily", Reply(200, HTML_ERROR_PAGE, "text/html"))
    with pytest.raises(RatesPayloadError) as caught:
        resource("cbr", url).fetch(DAY)
    assert http_server.hits("/daily") == 1
    assert "got an HTML page instead of XML" in str(caught.value) and url in str(caught.value)


def test_connection_refused_is_retried_then_a_transport_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the fetch: nothing listens there
    url = f"http://127.0.0.1:{port}/latest"
    with pytest.raises(RatesTransportError) as caught:
        resource("json", url).fetch(DAY)
    assert "unreachable after 3 attempt(s): ConnectionError" in str(caught.value)


def test_connection_dropped_mid_body_is_retried():
    """A body cut short (Content-Length not reached) is a transport failure: another try, not a parse error."""
    body = rates_json()
    hits = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                hits.append(1)
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                conn.sendall(head.encode() + (body[:10] if len(hits) < 3 else body))

    threading.Thread(target=serve, daemon=True).start()
    try:
        rates = resource("json", f"http://127.0.0.1:{server.getsockname()[1]}/latest").fetch(DAY)
    finally:
        server.close()
    assert rates.rates["USD"] == Decimal(1) / Decimal("1.086")
    assert len(hits) == 3


def test_cbr_http_url_asks_for_the_partition_date(http_server):
    url = http_server.route("/scripts/XML_daily.asp", Reply(200, cbr_xml(), XML))
    resource("cbr", url).fetch(date(2026, 3, 5))
    (_, path, _, headers), = http_server.requests
    assert path == "/scripts/XML_daily.asp?date_req=05/03/2026"
    assert parse_qs(urlsplit(path).query) == {"date_req": ["05/03/2026"]}
    assert headers["User-Agent"].startswith("asset-platform/")


def test_cbr_keeps_other_query_parameters(http_server):
    http_server.route("/scripts/XML_daily_eng.asp", Reply(200, cbr_xml(), XML))
    resource("cbr", http_server.url("/scripts/XML_daily_eng.asp?lang=en")).fetch(date(2025, 12, 31))
    query = parse_qs(urlsplit(http_server.requests[0][1]).query)
    assert query == {"lang": ["en"], "date_req": ["31/12/2025"]}


def test_json_url_with_date_placeholder_gets_iso_date(http_server):
    http_server.route("/v1/2026-03-05", Reply(200, rates_json(), "application/json"))
    rates = resource("json", http_server.url("/v1/{date}")).fetch(DAY)
    assert http_server.requests[0][1] == "/v1/2026-03-05"
    assert rates.url == http_server.url("/v1/2026-03-05")


def test_ecb_url_with_date_placeholder_gets_iso_date():
    assert resource("ecb", "https://example.test/eurofxref-{date}.xml").source_url(DAY) == (
        "https://example.test/eurofxref-2026-03-05.xml"
    )


def test_file_url_is_used_as_is_and_missing_file_is_named(tmp_path):
    url = (tmp_path / "missing.xml").as_uri()
    assert resource("cbr", url).source_url(DAY) == url
    with pytest.raises(RatesError) as caught:
        resource("cbr", url).fetch(DAY)
    assert str(caught.value).startswith(f"cbr rates from {url}: cannot read the snapshot file")


def test_unknown_provider_and_scheme_are_named():
    with pytest.raises(RatesError, match="unknown RATES_PROVIDER; choose one of cbr, ecb, json"):
        RatesResource(provider="fed").fetch(DAY)
    with pytest.raises(RatesError, match="unsupported URL scheme 'ftp'"):
        resource("json", "ftp://example.test/rates.json").fetch(DAY)


def test_a_bug_surfaces_as_itself_not_as_a_transport_error(http_server, monkeypatch):
    """Only transport failures become RatesTransportError (and job retries); a bug is raised unchanged, once."""
    url = http_server.route("/daily", Reply(200, cbr_xml(), XML))

    def broken(response):
        raise KeyError("bug in the fetcher")

    monkeypatch.setattr("resources.rates.fetch.raise_for_transient", broken)
    with pytest.raises(KeyError, match="bug in the fetcher"):
        resource("cbr", url).fetch(DAY)
    assert http_server.hits("/daily") == 1


def test_no_date_asks_for_the_newest_published_set(http_server):
    http_server.route("/scripts/XML_daily.asp", Reply(200, cbr_xml(), XML))
    resource("cbr", http_server.url("/scripts/XML_daily.asp")).fetch(None)
    assert http_server.requests[0][1] == "/scripts/XML_daily.asp"
    assert resource("json", "https://example.test/{date}").source_url(None) == "https://example.test/latest"
