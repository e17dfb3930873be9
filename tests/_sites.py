"""Raw-socket HTTP servers on loopback for the crawler tests: each path answers with bytes or a
behaviour (stall, reset, drip, ...), and every hit is timed server-side."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable

import pytest

Handler = Callable[[socket.socket, str, list[float]], None]


class _Server(socketserver.ThreadingTCPServer):
    request_queue_size = 256  # many clients connecting at once
    daemon_threads = True


class Site:
    """A raw-socket HTTP server: each path answers with bytes or a behaviour (stall, reset, ...)."""

    def __init__(
        self, routes: dict[str, bytes | Handler], host: str = "127.0.0.1", delay: float = 0.0, tls=None
    ) -> None:
        self.routes = routes
        self.hits: dict[str, list[float]] = {}
        self.log: list[tuple[str, str, float, float]] = []  # (Host header, path, arrived, answered)
        # Requests in flight: arrived (headers read) and not yet answered. A byte route's request
        # stops counting just before its answer's first byte is written: the client cannot have
        # any of the answer before then, so a client with N requests at a time never shows more
        # than N, however late this thread runs after the write. (Counting until the handler
        # returns did: the client could read the answer and send its next request while this
        # thread, between sendall and the count, waited for the CPU.) A behaviour route answers
        # when it likes, so its request counts until the route returns.
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        site = self

        class H(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                if tls is not None:
                    try:
                        self.request = tls.wrap_socket(self.request, server_side=True)
                    except OSError:
                        return  # the client refused our certificate
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                path = data.split(b" ", 2)[1].decode()
                arrived = time.monotonic()
                host = next(
                    (ln[5:].strip().decode() for ln in data.split(b"\r\n") if ln.lower().startswith(b"host:")), ""
                )
                with site._lock:
                    site.hits.setdefault(path, []).append(arrived)
                    site.in_flight += 1
                    site.max_in_flight = max(site.max_in_flight, site.in_flight)
                counted = True

                def answering() -> None:
                    nonlocal counted
                    with site._lock:
                        if counted:
                            site.in_flight -= 1
                        counted = False

                try:
                    if delay:
                        time.sleep(delay)
                    route = site.routes.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    if callable(route):
                        route(self.request, path, site.hits[path])
                    else:
                        answering()
                        self.request.sendall(route)
                finally:
                    answering()
                    with site._lock:
                        site.log.append((host, path, arrived, time.monotonic()))

        self.server = _Server((host, 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    sites: list[Site] = []

    def make(routes: dict, **kwargs) -> Site:
        s = Site(routes, **kwargs)
        sites.append(s)
        return s

    yield make
    for s in sites:
        s.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
