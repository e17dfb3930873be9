"""A polite, safe HTTP client for fetching opt-out evidence (robots.txt, well-known files, RSL).

Safe to point at the open web: every connection is checked against the address guard on the
address actually connected to (DNS rebinding cannot slip a private address through), redirects
are followed by us one hop at a time, bodies are capped while streaming and decompressed with a
cap (a gzip bomb stops at the limit), every fetch has a total deadline, and a per-host interval
keeps us polite. It returns evidence records; it never touches the store.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from scanner.version import __version__

DEFAULT_AGENT = f"ProvenanceScannerBot/{__version__} (+https://github.com/provenance-scanner)"
REDIRECTS = (301, 302, 303, 307, 308)


class BlockedAddress(requests.ConnectionError):
    """The guard refused an address (private, loopback, link-local, multicast, reserved)."""


def address_allowed(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return not (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or getattr(addr, "is_site_local", False)
    )


class Guard:
    """Which addresses we may connect to: public ones, plus explicitly allowed networks."""

    def __init__(self, allow_private: bool = False, allow_networks: tuple[str, ...] = ()) -> None:
        self.allow_private = allow_private
        self.networks = tuple(ipaddress.ip_network(n) for n in allow_networks)

    def permits(self, ip: str) -> bool:
        if self.allow_private or address_allowed(ip):
            return True
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        return any(addr in net for net in self.networks if net.version == addr.version)

    def resolve(self, host: str, port: int) -> str:
        """Resolve and check every address BEFORE any packet is sent; return the one to use."""
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        ips = list(dict.fromkeys(i[4][0] for i in infos))
        refused = [ip for ip in ips if not self.permits(ip)]
        if refused or not ips:
            raise BlockedAddress(
                f"refused to connect to {host} ({', '.join(refused) or 'no address'}): "
                "private, loopback, link-local, multicast or reserved address"
            )
        return ips[0]


def _guarded(base: type, guard: Guard) -> type:
    class Guarded(base):
        def _new_conn(self):
            # connect to the address we checked (no second lookup: DNS rebinding cannot swap it);
            # TLS still verifies the certificate against the host name
            self._dns_host = guard.resolve(self._dns_host, self.port)
            sock = super()._new_conn()
            peer = sock.getpeername()[0]
            if not guard.permits(peer):
                sock.close()
                raise BlockedAddress(f"refused: connected to {peer}")
            return sock

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: Guard) -> None:
        self._guard = guard
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        guard = self._guard

        class Http(HTTPConnectionPool):
            ConnectionCls = _guarded(HTTPConnection, guard)

        class Https(HTTPSConnectionPool):
            ConnectionCls = _guarded(HTTPSConnection, guard)

        self.poolmanager.pool_classes_by_scheme = {"http": Http, "https": Https}


@dataclass(frozen=True)
class FetchConfig:
    user_agent: str = DEFAULT_AGENT
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 30.0  # total seconds for one fetch, redirects and retries included
    max_bytes: int = 1 << 20  # body cap (robots.txt parsing stops at 512,000 bytes anyway)
    max_redirects: int = 5  # RFC 9309 §2.3.1.2
    allow_private: bool = False  # any private address (a crawl of an intranet, by explicit choice)
    allow_networks: tuple[str, ...] = ()  # e.g. ("127.0.0.0/8", "::1/128") for a test server
    retries: int = 2  # on 429, 5xx and connection errors
    backoff: float = 0.5
    max_retry_after: float = 30.0
    host_interval: float = 1.0  # seconds between requests to one host


@dataclass(frozen=True)
class FetchResult:
    url: str  # requested
    final_url: str
    status: int | None  # None: no HTTP response (network error, timeout, refused address)
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chain: tuple[tuple[str, int], ...]  # (url, status) of each redirect hop
    fetched_at: datetime
    error: str | None = None
    truncated: bool = False
    attempts: int = 1

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class _HostClock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float = 0.0
    interval: float = 0.0


class Client:
    """One client per crawl: a session with the guard, per-host politeness and a fetch method."""

    def __init__(self, config: FetchConfig = FetchConfig()) -> None:
        self.config = config
        self.session = requests.Session()
        adapter = _GuardedAdapter(Guard(config.allow_private, config.allow_networks))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # a few small files per origin: no keep-alive, so a server closing idle connections is no error
        self.session.headers.update(
            {"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate", "Connection": "close"}
        )
        self._hosts: dict[str, _HostClock] = {}
        self._hosts_lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def set_host_interval(self, host: str, seconds: float) -> None:
        """E.g. from a robots.txt Crawl-delay (capped by the caller)."""
        self._clock(host).interval = max(seconds, self.config.host_interval)

    def _clock(self, host: str) -> _HostClock:
        with self._hosts_lock:
            return self._hosts.setdefault(host, _HostClock(interval=self.config.host_interval))

    def _wait_turn(self, host: str, deadline: float) -> None:
        clock = self._clock(host)
        with clock.lock:
            wait = clock.last + clock.interval - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
            clock.last = time.monotonic()

    def fetch(self, url: str) -> FetchResult:
        """GET with our redirects, retries, caps and deadline. Never raises for network trouble:
        the error is part of the result (it is evidence too)."""
        started = datetime.now(UTC)
        deadline = time.monotonic() + self.config.deadline
        chain: list[tuple[str, int]] = []
        current, attempts = url, 0
        while True:
            attempts += 1
            result = self._one(current, deadline, started)
            if result.status in REDIRECTS and result.header("location"):
                chain.append((current, result.status))
                if len(chain) > self.config.max_redirects:
                    return _with(result, url, chain, attempts, error="redirect limit")
                nxt = urljoin(current, result.header("location"))
                if urlsplit(nxt).scheme not in ("http", "https"):
                    return _with(result, url, chain, attempts, error=f"redirect to unsupported URL {nxt}")
                current = nxt
                continue
            refused = (result.error or "").startswith("refused")
            transient = (result.status is None and not refused) or result.status == 429 or (result.status or 0) >= 500
            if transient and attempts <= self.config.retries and time.monotonic() < deadline:
                pause = self.config.backoff * (2 ** (attempts - 1))
                retry_after = result.header("retry-after")
                if retry_after and retry_after.strip().isdigit():
                    pause = max(pause, min(float(retry_after), self.config.max_retry_after))
                if time.monotonic() + pause < deadline:
                    time.sleep(pause)
                    continue
            return _with(result, url, chain, attempts)

    def _one(self, url: str, deadline: float, started: datetime) -> FetchResult:
        host = urlsplit(url).hostname or ""
        self._wait_turn(host, deadline)
        left = deadline - time.monotonic()
        if left <= 0:
            return FetchResult(url, url, None, (), b"", (), started, error="deadline exceeded")
        timeout = (min(self.config.connect_timeout, left), min(self.config.read_timeout, left))
        try:
            resp = self.session.get(url, stream=True, allow_redirects=False, timeout=timeout)
        except BlockedAddress as exc:
            return FetchResult(url, url, None, (), b"", (), started, error=f"refused: {exc}")
        except requests.exceptions.ConnectionError as exc:
            if isinstance(exc.__context__, BlockedAddress) or "refused to connect to" in str(exc):
                return FetchResult(url, url, None, (), b"", (), started, error=f"refused: {_one_line(exc)}")
            return FetchResult(url, url, None, (), b"", (), started, error=f"connection error: {_one_line(exc)}")
        except requests.exceptions.RequestException as exc:
            return FetchResult(url, url, None, (), b"", (), started, error=f"{type(exc).__name__}: {_one_line(exc)}")
        with resp:
            headers = tuple((k, v) for k, v in resp.raw.headers.items())
            body, truncated, error = self._read(resp, deadline)
        self.session.close()  # no connection reuse: a server that closed it can't fail the next fetch
        return FetchResult(url, url, resp.status_code, headers, body, (), started, error=error, truncated=truncated)

    def _read(self, resp: requests.Response, deadline: float) -> tuple[bytes, bool, str | None]:
        """Raw bytes up to the cap while streaming, then decoded with the same cap."""
        cap = self.config.max_bytes
        raw, size, truncated, error = [], 0, False, None
        try:
            for chunk in resp.raw.stream(16384, decode_content=False):
                raw.append(chunk)
                size += len(chunk)
                if size > cap:
                    truncated = True
                    break
                if time.monotonic() > deadline:
                    error = "deadline exceeded while reading"
                    break
        except Exception as exc:
            error = f"transfer error: {_one_line(exc)}"
        body = b"".join(raw)[: cap + 1]
        encoding = (resp.headers.get("content-encoding") or "").lower().strip()
        if encoding in ("gzip", "x-gzip", "deflate"):
            try:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
                decoded = d.decompress(body, cap + 1)
                truncated = truncated or len(decoded) > cap or bool(d.unconsumed_tail)
                body = decoded
            except zlib.error:
                error = error or f"content-encoding {encoding} declared but body is not {encoding}"
        if len(body) > cap:
            body, truncated = body[:cap], True
        return body, truncated, error


def _with(result: FetchResult, url: str, chain: list, attempts: int, error: str | None = None) -> FetchResult:
    return FetchResult(
        url,
        result.final_url if not chain else result.url,
        result.status,
        result.headers,
        result.body,
        tuple(chain),
        result.fetched_at,
        error or result.error,
        result.truncated,
        attempts,
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
