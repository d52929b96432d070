"""Fetching untrusted URLs (links found in posts) without becoming a proxy into the private network.

- Only http and https, only allowed ports (80 and 443 by default), no proxies from the environment.
- The host is resolved by the fetcher itself at connect time, and EVERY address it resolves to must
  be public: loopback, private, link-local (169.254.169.254, the cloud metadata service), multicast,
  reserved, unspecified and IPv4-mapped/-tunnelled IPv6 forms are refused. The socket then connects
  to the address that was checked (no second lookup an attacker's DNS could answer differently);
  TLS still uses the hostname for SNI and certificate checks, HTTP still sends it as Host.
- Redirects are followed by hand, at most `max_redirects`, each target checked again the same way.
- Connect and read timeouts, a total deadline, a body cap (checked on Content-Length and while
  streaming), and only HTML / plain text bodies are read.
- Loopback can be allowed for tests (`allow_loopback`, CRAWL_ALLOW_LOOPBACK); private ranges never.

`fetch(url)` never raises for a bad URL or site: it returns a `FetchResult` whose `reason` says why.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import dagster as dg
import requests
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from orchestration.settings import setting_field

# Failure reasons (stored with each failed link).
BAD_URL = "bad_url"
SCHEME_NOT_ALLOWED = "scheme_not_allowed"
PORT_NOT_ALLOWED = "port_not_allowed"
REFUSED_ADDRESS = "refused_address"
DNS_ERROR = "dns_error"
CONNECT_ERROR = "connect_error"
TIMEOUT = "timeout"
TOO_MANY_REDIRECTS = "too_many_redirects"
HTTP_STATUS = "http_status"
UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
BODY_TOO_LARGE = "body_too_large"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class RefusedAddress(Exception):
    """The host resolves to an address the fetcher must not connect to."""


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> str | None:
    """Why a connection to `ip` is refused, or None when it is a public address."""
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return f"{ip} is an IPv4-mapped IPv6 address"
        if ip.sixtofour is not None or ip.teredo is not None:
            return f"{ip} tunnels an IPv4 address (6to4/Teredo)"
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_reserved:
        return f"{ip} is a reserved address"
    if ip.is_private:
        return f"{ip} is a private address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def checked_addresses(host: str, port: int, allow_loopback: bool) -> list[tuple[int, tuple]]:
    """(family, sockaddr) of every address of `host`, after checking ALL of them; raises
    `RefusedAddress` when any is not public, `socket.gaierror` when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    result, seen = [], set()
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6) or sockaddr in seen:
            continue
        seen.add(sockaddr)
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        problem = address_problem(ip, allow_loopback)
        if problem:
            raise RefusedAddress(problem if host == str(ip) else f"{host} resolves to {problem}")
        result.append((family, sockaddr))
    if not result:
        raise RefusedAddress(f"{host} resolves to no IPv4/IPv6 address")
    return result


class _GuardedConnectionMixin:
    """Resolves, checks and connects in one place: the socket goes to an address that was checked."""

    allow_loopback: bool = False

    def _new_conn(self) -> socket.socket:
        try:
            addresses = checked_addresses(self._dns_host, self.port, self.allow_loopback)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        last_error: OSError | None = None
        for family, sockaddr in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(self.timeout)
                sock.connect(sockaddr)
                return sock
            except socket.timeout as exc:
                sock.close()
                raise ConnectTimeoutError(self, f"connection to {self.host} timed out ({self.timeout})") from exc
            except OSError as exc:
                sock.close()
                last_error = exc
        raise NewConnectionError(self, f"failed to connect to {self.host}: {last_error}")


def _guarded_adapter(allow_loopback: bool) -> HTTPAdapter:
    http_conn = type("GuardedHTTPConnection", (_GuardedConnectionMixin, HTTPConnection), {"allow_loopback": allow_loopback})
    https_conn = type("GuardedHTTPSConnection", (_GuardedConnectionMixin, HTTPSConnection), {"allow_loopback": allow_loopback})
    http_pool = type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}

    return GuardedAdapter(max_retries=0)


@dataclass
class FetchResult:
    url: str
    ok: bool = False
    final_url: str | None = None
    status_code: int | None = None
    content_type: str | None = None
    encoding: str | None = None
    body: bytes = b""
    reason: str | None = None
    detail: str = ""
    redirects: int = 0
    attempts: int = 0
    elapsed_s: float = 0.0

    def fail(self, reason: str, detail: str) -> "FetchResult":
        self.ok, self.reason, self.detail, self.body = False, reason, detail[:300], b""
        return self


class _Transient(Exception):
    pass


class SafeFetcher:
    def __init__(
        self,
        *,
        allowed_ports: tuple[int, ...] = (80, 443),
        allow_loopback: bool = False,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 10.0,
        total_timeout_s: float = 30.0,
        max_bytes: int = 2 * 1024 * 1024,
        max_redirects: int = 3,
        attempts: int = 2,
        user_agent: str = "asset-platform-link-enricher/1.0",
        content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES,
    ):
        self.allowed_ports = frozenset(allowed_ports)
        self.allow_loopback = allow_loopback
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.total_timeout_s = total_timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.attempts = max(1, attempts)
        self.user_agent = user_agent
        self.content_types = frozenset(content_types)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # no proxy or netrc from the environment: the guard must see the target
            adapter = _guarded_adapter(self.allow_loopback)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        return session

    def url_problem(self, url: str) -> tuple[str, str] | None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            return BAD_URL, str(exc)
        if parts.scheme not in ("http", "https"):
            return SCHEME_NOT_ALLOWED, f"scheme {parts.scheme or '(none)'!r} is not http or https"
        if not parts.hostname:
            return BAD_URL, "no host"
        if parts.username or parts.password:
            return BAD_URL, "credentials in the URL"
        port = port or (443 if parts.scheme == "https" else 80)
        if port not in self.allowed_ports:
            return PORT_NOT_ALLOWED, f"port {port} is not one of {sorted(self.allowed_ports)}"
        return None

    def fetch(self, url: str) -> FetchResult:
        started = time.monotonic()
        result = FetchResult(url=url)
        try:
            for attempt in range(1, self.attempts + 1):
                result.attempts = attempt
                try:
                    return self._fetch_once(url, result, started)
                except _Transient:
                    if attempt == self.attempts or time.monotonic() - started > self.total_timeout_s:
                        return result
                    time.sleep(0.25 * 2 ** (attempt - 1))
            return result
        finally:
            result.elapsed_s = round(time.monotonic() - started, 3)

    def _fetch_once(self, url: str, result: FetchResult, started: float) -> FetchResult:
        current = url
        result.redirects = 0
        while True:
            problem = self.url_problem(current)
            if problem:
                if result.redirects:
                    return result.fail(problem[0], f"redirect to {current}: {problem[1]}")
                return result.fail(*problem)
            try:
                response = self._session().get(
                    current, timeout=self.timeout, allow_redirects=False, stream=True,
                    headers={"User-Agent": self.user_agent, "Accept": "text/html,text/plain;q=0.9"},
                )
            except RefusedAddress as exc:
                prefix = f"redirect to {current}: " if result.redirects else ""
                return result.fail(REFUSED_ADDRESS, prefix + str(exc))
            except requests.ConnectionError as exc:
                if isinstance(exc, requests.ConnectTimeout):
                    return result.fail(TIMEOUT, f"connect timeout after {self.timeout[0]} s")
                if _caused_by(exc, RefusedAddress):
                    return result.fail(REFUSED_ADDRESS, str(_caused_by(exc, RefusedAddress)))
                if _caused_by(exc, NameResolutionError) or _caused_by(exc, socket.gaierror):
                    return result.fail(DNS_ERROR, f"{urlsplit(current).hostname} does not resolve")
                result.fail(CONNECT_ERROR, _short(exc))
                raise _Transient from exc
            except requests.Timeout:
                return result.fail(TIMEOUT, f"no answer within the read timeout ({self.timeout[1]} s)")
            except requests.RequestException as exc:
                return result.fail(BAD_URL, _short(exc))
            with response:
                if response.status_code in REDIRECT_STATUSES and response.headers.get("Location"):
                    if result.redirects >= self.max_redirects:
                        return result.fail(TOO_MANY_REDIRECTS, f"more than {self.max_redirects} redirects")
                    result.redirects += 1
                    current = urljoin(current, response.headers["Location"])
                    continue
                return self._read(response, current, result, started)

    def _read(self, response: requests.Response, current: str, result: FetchResult, started: float) -> FetchResult:
        result.final_url, result.status_code = current, response.status_code
        if response.status_code in RETRY_STATUSES:
            result.fail(HTTP_STATUS, f"HTTP {response.status_code}")
            raise _Transient
        if response.status_code >= 400:
            return result.fail(HTTP_STATUS, f"HTTP {response.status_code}")
        content_type = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        result.content_type = content_type or None
        if content_type not in self.content_types:
            return result.fail(UNSUPPORTED_CONTENT_TYPE, f"content type {content_type or '(none)'!r} is not read")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            return result.fail(BODY_TOO_LARGE, f"Content-Length {declared} exceeds {self.max_bytes} bytes")
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    return result.fail(BODY_TOO_LARGE, f"body exceeds {self.max_bytes} bytes")
                if time.monotonic() - started > self.total_timeout_s:
                    return result.fail(TIMEOUT, f"body not read within {self.total_timeout_s} s")
                chunks.append(chunk)
        except (requests.Timeout, requests.ConnectionError) as exc:
            if _caused_by(exc, requests.Timeout) or "timed out" in str(exc).lower():
                return result.fail(TIMEOUT, f"body stalled longer than the read timeout ({self.timeout[1]} s)")
            return result.fail(CONNECT_ERROR, _short(exc))
        result.ok, result.reason, result.detail = True, None, ""
        result.body = b"".join(chunks)
        result.encoding = response.encoding if "charset" in (response.headers.get("Content-Type") or "").lower() else None
        return result


def _caused_by(exc: BaseException, kind: type) -> BaseException | None:
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        stack.extend([current.__cause__, current.__context__, *[a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]])
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return None


def _short(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:300]


class WebFetcherResource(dg.ConfigurableResource):
    """The safe fetcher's limits (CRAWL_* variables)."""

    allowed_ports: list[int] = setting_field("CRAWL_ALLOWED_PORTS", list, int)
    allow_loopback: bool = setting_field("CRAWL_ALLOW_LOOPBACK", bool)
    connect_timeout_s: float = setting_field("CRAWL_CONNECT_TIMEOUT_SECONDS", float)
    read_timeout_s: float = setting_field("CRAWL_READ_TIMEOUT_SECONDS", float)
    total_timeout_s: float = Field(default=30.0, description="Longest time one URL may take, redirects and body included.")
    max_bytes: int = setting_field("CRAWL_MAX_BYTES", int)
    max_redirects: int = Field(default=3, description="Redirects followed (each target re-checked).")
    attempts: int = Field(default=2, description="Tries per URL on a refused connection or a 5xx/429 (not on timeouts).")
    concurrency: int = Field(default=4, description="URLs fetched at once.")

    def fetcher(self) -> SafeFetcher:
        return SafeFetcher(
            allowed_ports=tuple(self.allowed_ports),
            allow_loopback=self.allow_loopback,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
            total_timeout_s=self.total_timeout_s,
            max_bytes=self.max_bytes,
            max_redirects=self.max_redirects,
            attempts=self.attempts,
        )

    @classmethod
    def from_settings(cls, settings) -> "WebFetcherResource":
        """The limits of this deployment, from orchestration.settings.Settings."""
        loopback = settings.get("CRAWL_ALLOW_LOOPBACK").lower()
        if loopback not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"CRAWL_ALLOW_LOOPBACK={loopback!r} is not true/false")
        ports = [item for item in settings.get_list("CRAWL_ALLOWED_PORTS")]
        if not all(item.isdigit() for item in ports):
            raise ValueError(f"CRAWL_ALLOWED_PORTS={settings.get('CRAWL_ALLOWED_PORTS')!r} is not a list of port numbers")
        return cls(
            allowed_ports=[int(item) for item in ports],
            allow_loopback=loopback in ("true", "1", "yes"),
            connect_timeout_s=settings.get_float("CRAWL_CONNECT_TIMEOUT_SECONDS"),
            read_timeout_s=settings.get_float("CRAWL_READ_TIMEOUT_SECONDS"),
            max_bytes=settings.get_int("CRAWL_MAX_BYTES"),
        )
