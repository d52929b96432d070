"""The safe fetcher against hostile links, and link enrichment of posts, with real local HTTP servers."""

import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from appdb.tables import post_enrichment
from assets.posts import links
from assets.posts.links import enrich_links, find_urls
from resources.web import (
    BODY_TOO_LARGE,
    PORT_NOT_ALLOWED,
    REFUSED_ADDRESS,
    SCHEME_NOT_ALLOWED,
    TIMEOUT,
    TOO_MANY_REDIRECTS,
    UNSUPPORTED_CONTENT_TYPE,
    SafeFetcher,
    WebFetcherResource,
)
from tests.posts.conftest import DAY, at, insert_posts
from tests.support.http import Reply

ARTICLE = """<!doctype html><html><head><title>Autoscaling in practice</title></head><body>
<nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/login">Log in</a></nav>
<div class="ads">Buy our course now! Limited offer!</div>
<article><h1>Kubernetes autoscaling in practice</h1>
<p>The horizontal pod autoscaler adds replicas when the average CPU utilization of a deployment stays
above its target for a while, and removes them when the load falls again.</p>
<p>Cluster autoscaling works one level below: it adds nodes when pods cannot be scheduled and drains
nodes that stay underused, which is where most of the savings come from.</p>
<p>Combine both with sensible requests and limits, or the autoscalers will chase noise.</p></article>
<footer>Copyright 2025 Example Media. All rights reserved.</footer></body></html>"""


def _port(server) -> int:
    return int(server.url().rsplit(":", 1)[1].strip("/"))


@pytest.fixture
def local_fetcher(http_server):
    """Loopback explicitly allowed (tests only), on the test server's port."""
    return SafeFetcher(allow_loopback=True, allowed_ports=(80, 443, _port(http_server)), read_timeout_s=0.5, total_timeout_s=5)


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("http://127.0.0.1/admin", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped IPv6 address"),
        ("http://localhost/", "localhost resolves to 127.0.0.1 is a loopback address"),
        ("http://2130706433/", "resolves to 127.0.0.1"),  # 127.0.0.1 written as a number
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "not a public address"),  # carrier-grade NAT
    ],
)
def test_non_public_addresses_are_refused_before_connecting(url, fragment):
    result = SafeFetcher().fetch(url)
    assert (result.ok, result.reason) == (False, REFUSED_ADDRESS)
    assert fragment in result.detail


def test_loopback_stays_refused_unless_explicitly_allowed(http_server):
    http_server.route("/page", Reply(200, b"hello", "text/plain"))
    url = http_server.url("/page")
    refused = SafeFetcher(allowed_ports=(_port(http_server),)).fetch(url)
    assert refused.reason == REFUSED_ADDRESS
    assert http_server.hits("/page") == 0  # refused before any connection
    allowed = SafeFetcher(allow_loopback=True, allowed_ports=(_port(http_server),)).fetch(url)
    assert allowed.ok and allowed.body == b"hello"
    # Allowing loopback never opens the private ranges.
    assert SafeFetcher(allow_loopback=True).fetch("http://10.1.2.3/").reason == REFUSED_ADDRESS


def test_schemes_and_ports_outside_the_allowed_ones_are_refused():
    fetcher = SafeFetcher()
    assert fetcher.fetch("ftp://example.org/file").reason == SCHEME_NOT_ALLOWED
    assert fetcher.fetch("file:///etc/passwd").reason == SCHEME_NOT_ALLOWED
    assert fetcher.fetch("gopher://example.org/").reason == SCHEME_NOT_ALLOWED
    result = fetcher.fetch("http://example.org:8080/")
    assert result.reason == PORT_NOT_ALLOWED and "8080" in result.detail
    assert fetcher.fetch("http://user:pw@example.org/").reason == "bad_url"


def test_a_redirect_to_a_private_address_is_refused(http_server, local_fetcher):
    http_server.route("/go", Reply(302, b"", headers={"Location": "http://10.0.0.1/internal"}))
    http_server.route("/meta", Reply(301, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    result = local_fetcher.fetch(http_server.url("/go"))
    assert (result.ok, result.reason, result.redirects) == (False, REFUSED_ADDRESS, 1)
    assert "redirect to http://10.0.0.1/internal" in result.detail
    assert local_fetcher.fetch(http_server.url("/meta")).reason == REFUSED_ADDRESS


def test_redirects_are_followed_by_hand_at_most_three(http_server, local_fetcher):
    http_server.route("/page", Reply(200, b"<html><body><p>final</p></body></html>", "text/html"))
    http_server.route("/r1", Reply(302, b"", headers={"Location": "/r2"}))
    http_server.route("/r2", Reply(307, b"", headers={"Location": http_server.url("/page")}))
    ok = local_fetcher.fetch(http_server.url("/r1"))
    assert ok.ok and ok.redirects == 2 and ok.final_url == http_server.url("/page")
    for i in range(5):
        http_server.route(f"/loop{i}", Reply(302, b"", headers={"Location": f"/loop{i + 1}"}))
    assert local_fetcher.fetch(http_server.url("/loop0")).reason == TOO_MANY_REDIRECTS
    assert http_server.hits("/loop4") == 0


def test_a_huge_body_is_refused(http_server, local_fetcher):
    http_server.route("/huge", Reply(200, b"x" * (3 * 1024 * 1024), "text/html"))
    result = local_fetcher.fetch(http_server.url("/huge"))
    assert (result.ok, result.reason) == (False, BODY_TOO_LARGE)
    assert result.body == b""


class _UnsizedBodyHandler(BaseHTTPRequestHandler):
    """HTTP/1.0 without Content-Length: the size is known only by reading (the streaming cap)."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            for _ in range(64):
                self.wfile.write(b"y" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def test_a_body_without_content_length_is_cut_at_the_cap():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _UnsizedBodyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        fetcher = SafeFetcher(allow_loopback=True, allowed_ports=(port,), max_bytes=1024 * 1024)
        result = fetcher.fetch(f"http://127.0.0.1:{port}/")
        assert (result.reason, result.detail) == (BODY_TOO_LARGE, "body exceeds 1048576 bytes")
    finally:
        server.shutdown()
        server.server_close()


def test_a_slow_server_times_out(http_server, local_fetcher):
    http_server.route("/slow", Reply(200, b"late", "text/plain", delay_s=3))
    started = time.monotonic()
    result = local_fetcher.fetch(http_server.url("/slow"))
    assert (result.ok, result.reason) == (False, TIMEOUT)
    assert time.monotonic() - started < 2.5  # the 0.5 s read timeout, not the server's 3 s, and no retry


def test_only_html_and_plain_text_are_read(http_server, local_fetcher):
    http_server.route("/img", Reply(200, b"\x89PNG...", "image/png"))
    http_server.route("/pdf", Reply(200, b"%PDF", "application/pdf"))
    assert local_fetcher.fetch(http_server.url("/img")).reason == UNSUPPORTED_CONTENT_TYPE
    assert local_fetcher.fetch(http_server.url("/pdf")).reason == UNSUPPORTED_CONTENT_TYPE


def test_5xx_is_retried_once_then_stored_as_the_status(http_server, local_fetcher):
    http_server.route("/flaky", Reply(503, b"busy"), Reply(200, b"fine", "text/plain"))
    assert local_fetcher.fetch(http_server.url("/flaky")).ok
    http_server.route("/down", Reply(500, b"down"))
    result = local_fetcher.fetch(http_server.url("/down"))
    assert (result.reason, result.detail, result.attempts) == ("http_status", "HTTP 500", 2)


def test_the_connection_goes_to_the_checked_address_with_the_hostname_as_host(http_server, monkeypatch):
    """DNS rebinding: the name answers 127.0.0.1 (allowed here) to the first lookup and a private
    address to any later one. The fetcher looks up once, checks, and connects to what it checked,
    while the request still says `Host: rebind.test`."""
    lookups = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        ip = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    http_server.route("/host", Reply(200, b"ok", "text/plain"))
    port = _port(http_server)
    result = SafeFetcher(allow_loopback=True, allowed_ports=(port,)).fetch(f"http://rebind.test:{port}/host")
    assert result.ok and result.body == b"ok"
    assert lookups == ["rebind.test"]
    assert http_server.requests[-1][3]["Host"] == f"rebind.test:{port}"


def test_a_name_with_any_non_public_address_is_refused(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
    ])
    result = SafeFetcher().fetch("http://mixed.test/")
    assert result.reason == REFUSED_ADDRESS
    assert result.detail == "mixed.test resolves to 10.0.0.5 is a private address"


def test_main_text_of_a_real_local_page_when_loopback_is_allowed(engine, http_server):
    page = http_server.route("/article", Reply(200, ARTICLE.encode(), "text/html; charset=utf-8"))
    insert_posts(engine, [(1, "dev", f"Read this: {page}.", at(9))])
    web = WebFetcherResource(allow_loopback=True, allowed_ports=[_port(http_server)])
    report = enrich_links(engine, DAY, DAY + timedelta(days=1), web.fetcher())
    assert (report.urls_ok, report.failures.total()) == (1, 0)
    with engine.connect() as conn:
        data = conn.execute(select(post_enrichment.c.data).where(post_enrichment.c.kind == "crawl")).scalar_one()
    link = data["links"][0]
    assert link["url"] == page and link["ok"] is True
    assert "Kubernetes autoscaling" in link["title"]
    assert "horizontal pod autoscaler adds replicas" in link["text"]
    assert "Buy our course" not in link["text"] and "All rights reserved" not in link["text"]


def test_each_url_fetched_once_per_run_and_failures_stored_with_their_reason(engine, http_server, monkeypatch):
    monkeypatch.setattr(links, "PAGE_ROWS", 2)  # posts 1-2 and 3-4 in different pages: still one fetch
    shared = http_server.route("/shared", Reply(200, b"shared page text", "text/plain"))
    insert_posts(engine, [
        (1, "dev", f"first {shared}", at(9)),
        (2, "dev", f"second {shared} and http://169.254.169.254/latest/meta-data/", at(10)),
        (3, "dev", f"third ({shared}) ftp://example.org/x", at(11)),
        (4, "dev", "no links here", at(12)),
    ])
    fetcher = SafeFetcher(allow_loopback=True, allowed_ports=(80, 443, _port(http_server)))
    report = enrich_links(engine, DAY, DAY + timedelta(days=1), fetcher)
    assert http_server.hits("/shared") == 1
    assert (report.posts, report.posts_with_links, report.posts_crawled) == (4, 3, 3)
    assert (report.urls_distinct, report.urls_shared, report.urls_ok) == (3, 1, 1)
    assert report.failures.counts == {REFUSED_ADDRESS: 1, SCHEME_NOT_ALLOWED: 1}
    assert report.rows.inserted == 3
    with engine.connect() as conn:
        stored = dict(conn.execute(select(post_enrichment.c.post_id, post_enrichment.c.data).where(post_enrichment.c.kind == "crawl")).all())
    assert stored[2]["links"][1] == {
        "url": "http://169.254.169.254/latest/meta-data/", "ok": False, "reason": REFUSED_ADDRESS,
        "detail": "169.254.169.254 is a link-local address",
    }
    assert stored[3]["links"][1]["reason"] == SCHEME_NOT_ALLOWED
    assert 4 not in stored

    # Nothing changed: nothing fetched, nothing written.
    again = enrich_links(engine, DAY, DAY + timedelta(days=1), fetcher)
    assert (again.posts_unchanged, again.posts_crawled, again.rows.written) == (3, 0, 0)
    assert http_server.hits("/shared") == 1
    # refetch: fetched again (once), rows unchanged because the page is the same.
    again = enrich_links(engine, DAY, DAY + timedelta(days=1), fetcher, refetch=True)
    assert (again.posts_crawled, again.rows.unchanged, again.rows.updated) == (3, 3, 0)
    assert http_server.hits("/shared") == 2


def test_find_urls_strips_punctuation_and_keeps_balanced_parentheses():
    text = "See https://en.wikipedia.org/wiki/Rust_(language). Also (http://a.example/x), http://a.example/x again!"
    assert find_urls(text) == ["https://en.wikipedia.org/wiki/Rust_(language)", "http://a.example/x"]
