"""A polite, safe HTTP client for fetching opt-out evidence (robots.txt, well-known files, RSL).

Safe to point at the open web: every connection is checked by the address guard on the address
actually connected to (DNS rebinding cannot slip a private address through), environment proxies
are ignored (an explicit proxy is guarded itself, and each target is resolved and checked here
before the proxy is asked), redirects are followed by us one hop at a time, bodies are capped
while streaming and decoded with a cap (a gzip bomb stops at the limit), and every fetch has a
total deadline that holds on the wall clock: a watchdog shuts the socket of a fetch that runs past
it, so a server dripping one byte a second cannot hold us. A per-host clock keeps us polite. It
returns evidence records; it never touches the store.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from crawlers.guard import BlockedAddress, Guard, address_allowed
from scanner.version import __version__

__all__ = [
    "DEFAULT_AGENT",
    "PRODUCT_TOKEN",
    "BlockedAddress",
    "Client",
    "FetchConfig",
    "FetchResult",
    "Guard",
    "address_allowed",
]

PRODUCT_TOKEN = "ProvenanceScannerBot"  # our robots.txt product token, unless a manifest names another
DEFAULT_AGENT = f"{PRODUCT_TOKEN}/{__version__} (+https://github.com/provenance-scanner)"
REDIRECTS = (301, 302, 303, 307, 308)
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() accepts "²", int() then fails
MAX_CODINGS = 4  # Content-Encoding layers we undo ("gzip, gzip" is two)


@dataclass(frozen=True)
class FetchConfig:
    user_agent: str = DEFAULT_AGENT
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 30.0  # wall-clock seconds for one fetch, redirects and retries included
    max_bytes: int = 1 << 20  # body cap (robots.txt parsing stops at 512,000 bytes anyway)
    max_redirects: int = 5  # RFC 9309 §2.3.1.2
    allow_networks: tuple[str, ...] = ()  # e.g. ("10.0.0.0/8",) for an intranet, by explicit choice
    proxy: str | None = None  # an explicit http(s) proxy; environment proxies are never used
    retries: int = 2  # on 429, 5xx and connection errors
    backoff: float = 0.5
    max_retry_after: float = 30.0
    host_interval: float = 1.0  # seconds between requests to one host
    max_requests_per_origin: int = 30  # per client (one run): redirects, retries and licences included
    ca_bundle: str | None = None  # extra trust (a corporate CA); default: the system's (certifi)


@dataclass(frozen=True)
class FetchResult:
    url: str  # requested
    final_url: str
    status: int | None  # None: no usable HTTP response (network error, timeout, refused, undecodable)
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chain: tuple[tuple[str, int], ...]  # (url, status) of each redirect hop
    fetched_at: datetime
    error: str | None = None
    truncated: bool = False
    attempts: int = 1
    received_status: int | None = None  # the status line's code, also when `status` is None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def parse_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when neither."""
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def ascii_int(value: str) -> int | None:
    value = value.strip()
    return int(value) if _DIGITS.fullmatch(value) else None


# -- the watchdog: deadlines on the wall clock ----------------------------------------------------
class _Fetch:
    """One fetch in flight: its deadline and the sockets it opened (shut down when it expires)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if not self.expired:
                return
        _shut(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            socks = list(self.sockets)
        for sock in socks:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv in another thread


class _Watchdog:
    """One thread per client that expires fetches at their deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Fetch]] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, fetch: _Fetch) -> None:
        with self._cv:
            heapq.heappush(self._heap, (fetch.deadline, next(self._seq), fetch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0][2] is fetch:  # only an earlier deadline changes how long the watchdog sleeps
                self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()

    def _run(self) -> None:
        with self._cv:
            while not self._closed:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, fetch = heapq.heappop(self._heap)
                    if fetch is not None:
                        fetch.expire()
                self._cv.wait(timeout=(self._heap[0][0] - now) if self._heap else None)


_active = threading.local()  # the _Fetch the current thread is running (for its new sockets)


# -- guarded connections --------------------------------------------------------------------------
def _guarded(base: type, guard: Guard) -> type:
    class Guarded(base):
        def _new_conn(self):
            fetch: _Fetch | None = getattr(_active, "fetch", None)
            if fetch is not None and fetch.expired:
                raise requests.ConnectionError("deadline exceeded")
            # connect to the address we checked (no second lookup: DNS rebinding cannot swap it);
            # TLS still verifies the certificate against the host name
            host = self._dns_host
            ip = guard.resolve(host, self.port)
            if fetch is not None:
                self.timeout = max(0.001, min(self.timeout or 1e9, fetch.deadline - time.monotonic()))
            # only for the connect: `host` (the Host header, TLS SNI and certificate check) stays the name
            self._dns_host = ip
            try:
                sock = super()._new_conn()
            finally:
                self._dns_host = host
            if fetch is not None:
                fetch.add(sock)
            peer = sock.getpeername()[0]
            reason = guard.why_refused(peer)
            if reason:
                sock.close()
                raise BlockedAddress(f"refused: connected to {host} at {peer}: {reason}")
            return sock

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: Guard) -> None:
        self._guard = guard
        super().__init__(max_retries=0)

    def _classes(self) -> dict[str, type]:
        guard = self._guard

        class Http(HTTPConnectionPool):
            ConnectionCls = _guarded(HTTPConnection, guard)

        class Https(HTTPSConnectionPool):
            ConnectionCls = _guarded(HTTPSConnection, guard)

        return {"http": Http, "https": Https}

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._classes()

    def proxy_manager_for(self, proxy: str, **proxy_kwargs):
        # the connection to the proxy goes through the same guard as any other
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._classes()
        return manager


@dataclass
class _HostClock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float = float("-inf")
    interval: float = 0.0
    hold_until: float = 0.0  # Retry-After: nothing to this host before then

    def next_turn(self) -> float:
        return max(self.last + self.interval, self.hold_until)


class Client:
    """One client per crawl: guarded sessions (one per thread), per-host clocks, a fetch method.

    Thread-safe: the pool in crawlers/pool.py calls `fetch` from many threads at once.
    """

    def __init__(self, config: FetchConfig = FetchConfig()) -> None:
        self.config = config
        self.guard = Guard(config.allow_networks)
        self._proxy = _check_proxy(config.proxy)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._hosts: dict[str, _HostClock] = {}
        self._hosts_lock = threading.Lock()
        self._requests: dict[str, int] = {}  # per origin, per run (or per day for a long-lived client)
        self._counted_since = time.monotonic()
        self._watchdog = _Watchdog()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # HTTP(S)_PROXY, .netrc, REQUESTS_CA_BUNDLE: not ours to follow
            adapter = _GuardedAdapter(self.guard)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if self._proxy:
                session.proxies = {"http": self._proxy, "https": self._proxy}
            if self.config.ca_bundle:
                session.verify = self.config.ca_bundle
            # a few small files per origin: no keep-alive, so a server closing idle connections is no error
            session.headers.update(
                {"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate", "Connection": "close"}
            )
            self._local.session = session
            with self._hosts_lock:
                self._sessions.append(session)
        return session

    @property
    def request_headers(self) -> dict[str, str]:
        """What every request of this client sends: recorded with each live fetch (custody)."""
        return dict(self._session().headers)

    def close(self) -> None:
        self._watchdog.close()
        with self._hosts_lock:
            for s in self._sessions:
                s.close()

    # -- politeness ------------------------------------------------------------------------------
    def set_host_interval(self, host: str, seconds: float) -> None:
        """E.g. from a robots.txt Crawl-delay (capped by the caller)."""
        self._clock(host).interval = max(seconds, self.config.host_interval)

    def hold_host(self, host: str, seconds: float) -> None:
        """Nothing more to this host for `seconds` (a Retry-After)."""
        clock = self._clock(host)
        clock.hold_until = max(clock.hold_until, time.monotonic() + seconds)

    def next_turn(self, host: str) -> float:
        """Monotonic time at which the next request to `host` may start."""
        return self._clock(host.lower()).next_turn()

    def _clock(self, host: str) -> _HostClock:
        host = host.lower()
        with self._hosts_lock:
            clock = self._hosts.get(host)
            if clock is None:
                clock = self._hosts[host] = _HostClock(interval=self.config.host_interval)
            return clock

    def _take_turn(self, host: str) -> _HostClock:
        """Wait for this host's turn (not counted against the deadline: Crawl-delay may exceed it),
        then hold the host's lock: one request at a time per host. The caller releases it."""
        clock = self._clock(host)
        clock.lock.acquire()
        wait = clock.next_turn() - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return clock

    def _count(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._hosts_lock:
            if time.monotonic() - self._counted_since > 24 * 3600:  # a long-lived client (the live hook)
                self._requests.clear()
                self._counted_since = time.monotonic()
            n = self._requests[origin] = self._requests.get(origin, 0) + 1
        return n <= self.config.max_requests_per_origin

    # -- fetching --------------------------------------------------------------------------------
    def fetch(self, url: str) -> FetchResult:
        """GET with our redirects, retries, caps and deadline. Never raises: network trouble, a
        hostile response or a bug is the error of the result (it is evidence too)."""
        started = datetime.now(UTC)
        try:
            return self._fetch(url, started)
        except Exception as exc:  # one bad response never aborts a run
            return FetchResult(url, url, None, (), b"", (), started, error=f"{type(exc).__name__}: {_one_line(exc)}")

    def _fetch(self, url: str, started: datetime) -> FetchResult:
        chain: list[tuple[str, int]] = []
        current, attempts, deadline = url, 0, None
        while True:
            attempts += 1
            result, deadline = self._one(current, deadline, started)
            if result.status in REDIRECTS and result.header("location"):
                chain.append((current, result.status))
                if len(chain) > self.config.max_redirects:
                    return _with(result, url, chain, attempts, error="redirect limit")
                location = result.header("location") or ""
                nxt = _http_url(location.strip(), base=current)
                if nxt is None:
                    return _with(result, url, chain, attempts, error=f"redirect to unusable URL {location[:200]!r}")
                current = nxt
                continue
            refused = (result.error or "").startswith(("refused", "request cap"))
            transient = (result.status is None and not refused and result.received_status is None) or (
                result.status == 429 or (result.status or 0) >= 500
            )
            retry_after = parse_seconds(result.header("retry-after"))
            if retry_after is not None and result.status in (429, 503):
                self.hold_host(urlsplit(current).hostname or "", min(retry_after, self.config.max_retry_after))
            if transient and attempts <= self.config.retries and time.monotonic() < deadline:
                pause = self.config.backoff * (2 ** (attempts - 1))
                if retry_after is not None:
                    pause = max(pause, min(retry_after, self.config.max_retry_after))
                if time.monotonic() + pause < deadline:
                    time.sleep(pause)
                    continue
            return _with(result, url, chain, attempts)

    def _one(self, url: str, deadline: float | None, started: datetime) -> tuple[FetchResult, float]:
        def failed(error: str) -> FetchResult:
            return FetchResult(url, url, None, (), b"", (), started, error=error)

        host = urlsplit(url).hostname or ""
        clock = self._take_turn(host)
        try:
            if deadline is None:  # the deadline starts once the host's turn has come
                deadline = time.monotonic() + self.config.deadline
            if not self._count(url):
                return failed(f"request cap reached ({self.config.max_requests_per_origin} per origin)"), deadline
            left = deadline - time.monotonic()
            if left <= 0:
                return failed("deadline exceeded"), deadline
            if self._proxy:
                try:  # the proxy resolves the target itself; we check what the name resolves to first
                    self.guard.resolve(host, urlsplit(url).port or (443 if url.startswith("https") else 80))
                except BlockedAddress as exc:
                    return failed(f"refused: {exc}"), deadline
                except requests.ConnectionError as exc:
                    return failed(f"connection error: {_one_line(exc)}"), deadline
            fetch = _Fetch(deadline)
            _active.fetch = fetch
            self._watchdog.arm(fetch)
            try:
                return self._get(url, fetch, started), deadline
            finally:
                _active.fetch = None
                fetch.expire()  # closes what is left open and disarms
        finally:
            clock.last = time.monotonic()
            clock.lock.release()

    def _get(self, url: str, fetch: _Fetch, started: datetime) -> FetchResult:
        def failed(error: str) -> FetchResult:
            if fetch.expired:
                error = f"deadline exceeded ({self.config.deadline:g} s): {error}"
            return FetchResult(url, url, None, (), b"", (), started, error=error)

        left = fetch.deadline - time.monotonic()
        timeout = (min(self.config.connect_timeout, left), min(self.config.read_timeout, left))
        try:
            resp = self._session().get(url, stream=True, allow_redirects=False, timeout=timeout)
        except BlockedAddress as exc:
            return failed(f"refused: {_one_line(exc)}")
        except requests.exceptions.ConnectionError as exc:
            if _caused_by(exc, BlockedAddress) or "refused to connect to" in str(exc):
                return failed(f"refused: {_one_line(exc)}")
            return failed(f"connection error: {_one_line(exc)}")
        except requests.exceptions.RequestException as exc:
            return failed(f"{type(exc).__name__}: {_one_line(exc)}")
        except ValueError as exc:  # requests parses a redirect's Location even when not following it
            return failed(f"unusable response: {_one_line(exc)}")
        with resp:
            headers = tuple((k, v) for k, v in resp.raw.headers.items())
            body, truncated, error, decodable = self._read(resp, fetch)
        status = resp.status_code if decodable else None
        return FetchResult(
            url, url, status, headers, body, (), started, error=error, truncated=truncated,
            received_status=resp.status_code,
        )  # fmt: skip

    def _read(self, resp: requests.Response, fetch: _Fetch) -> tuple[bytes, bool, str | None, bool]:
        """Raw bytes up to the cap while streaming, then decoded with the same cap.

        Returns (body, truncated, error, decodable). An encoding we cannot undo leaves the body
        undecodable: the caller must not read it as content (RFC 9309: unreachable)."""
        cap = self.config.max_bytes
        raw, size, truncated, error = [], 0, False, None
        try:
            while True:
                chunk = resp.raw.read1(16384, decode_content=False) if hasattr(resp.raw, "read1") else b""
                if not chunk:
                    break
                raw.append(chunk)
                size += len(chunk)
                if size > cap:
                    truncated = True
                    break
        except Exception as exc:
            error = f"transfer error: {_one_line(exc)}"
        if fetch.expired and not truncated:
            error = f"deadline exceeded ({self.config.deadline:g} s) while reading the body"
        body = b"".join(raw)[: cap + 1]
        codings = [c.strip().lower() for c in (resp.headers.get("content-encoding") or "").split(",") if c.strip()]
        body, more_truncated, problem = decode_body(body, codings, cap)
        if problem:
            return body, truncated, problem, False
        truncated = truncated or more_truncated
        if len(body) > cap:
            body, truncated = body[:cap], True
        return body, truncated, error, True


def decode_body(body: bytes, codings: list[str], cap: int) -> tuple[bytes, bool, str | None]:
    """Undo Content-Encoding layers (last applied first), each capped at `cap` bytes out.

    Returns (body, truncated, problem); with a problem the body is the raw bytes received."""
    codings = [c for c in codings if c != "identity"]
    if len(codings) > MAX_CODINGS:
        return body, False, f"undecodable: {len(codings)} content-encoding layers"
    out, truncated = body, False
    for coding in reversed(codings):
        if coding not in ("gzip", "x-gzip", "deflate"):
            return body, False, f"undecodable: content-encoding {coding!r} is not supported"
        decoded = None
        # gzip; deflate per RFC 9110 is zlib-wrapped, but many servers send raw deflate
        for wbits in (16 + zlib.MAX_WBITS,) if "gzip" in coding else (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            try:
                d = zlib.decompressobj(wbits)
                decoded = d.decompress(out, cap + 1)
                if not d.unconsumed_tail and not d.eof and not truncated:
                    decoded += d.flush()
                truncated = truncated or len(decoded) > cap or bool(d.unconsumed_tail)
                break
            except zlib.error:
                continue
        if decoded is None:
            return body, False, f"undecodable: content-encoding {coding} declared but the body is not {coding}"
        out = decoded
    return out, truncated, None


def _http_url(ref: str, *, base: str = "") -> str | None:
    """`ref` resolved against `base` if that is http(s) with a host and a port that parses (what a
    redirect may lead to and a proxy may be), else None."""
    try:
        url = urljoin(base, ref)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _check_proxy(proxy: str | None) -> str | None:
    if not proxy:
        return None
    if _http_url(proxy) is None:
        raise ValueError(f"--proxy {proxy!r}: expected http://host:port or https://host:port")
    return proxy


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, kind):
            return True
        nxt = cur.__cause__ or cur.__context__
        if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
            nxt = cur.args[0]
        cur, seen = nxt, seen + 1
    return False


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
        result.received_status,
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
