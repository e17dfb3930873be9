"""The crawler against real HTTP servers on loopback: RFC 9309 fetch semantics, hostile servers,
the address guard, politeness, and `provenance fetch-signals` end to end. Nothing leaves the
machine: conftest fails any connection that is not to loopback."""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawlers.http import Client, FetchConfig
from crawlers.origin import RobotsCache, fetch_origin, robots_url
from scanner import api
from scanner.store import Store
from tests._sites import ok
from tests._sites import site as _site_fixture
from tests.conftest import DATA

site = _site_fixture

LOOPBACK = ("127.0.0.0/8", "::1/128")
FAST = FetchConfig(
    allow_networks=LOOPBACK, connect_timeout=1, read_timeout=1, deadline=6, retries=1, backoff=0.05, host_interval=0
)


def _reppy() -> list[dict]:
    return json.loads((DATA.parent / "data" / "reppy" / "fetch_and_url_cases.json").read_text())["fetch_fixtures"]


@pytest.mark.parametrize("fixture", _reppy(), ids=lambda f: f["fixture"])
def test_reppy_responses_byte_for_byte(fixture: dict, site, tmp_path: Path) -> None:
    raw = fixture["raw_http_response"].encode()
    s = site({})
    if fixture["fixture"] == "test_excessive_redirects":  # upstream points at localhost:8080: ours
        raw = raw.replace(b"http://localhost:8080/robots.txt", f"{s.origin}/robots.txt".encode())
    s.routes["/robots.txt"] = raw
    with Store.open(tmp_path / "s.duckdb") as store:
        stats = api.fetch_signals(store, [s.origin], config=FAST)
        decision = api.check(f"{s.origin}/page", "anybot", store=store)
        seen = store.query("SELECT http_status, locator FROM observations WHERE kind = 'robots.txt'").to_pylist()
    reading = fixture["rfc9309_reading"]
    # too big: we parse the first 512,000 bytes (RFC 9309 §2.5), and this small file says Disallow: /
    expected = "reserved" if reading.startswith("disallow_all") or "500 KiB" in reading else "allowed"
    assert decision.verdict == expected, (reading, decision.as_dict())
    status = int(raw.split(b" ", 2)[1])
    assert seen[0]["http_status"] == status
    outcome = json.loads(seen[0]["locator"])["outcome"]
    assert outcome == {200: "parsed", 500: "unreachable", 301: "redirect-limit"}.get(status, "unavailable")
    assert sum(stats["robots_outcomes"].values()) == 1


def test_robots_url_cases() -> None:
    cases = json.loads((DATA / "reppy" / "fetch_and_url_cases.json").read_text())["robots_url_cases"]
    for case in cases:
        if case["expected_robots_url"] is None:
            with pytest.raises(ValueError):
                robots_url(case["url"])
        else:
            assert robots_url(case["url"]) == case["expected_robots_url"]


# -- hostile servers ------------------------------------------------------------------------------
def stall(sock, path, hits) -> None:
    time.sleep(3)


def reset(sock, path, hits) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def huge(sock, path, hits) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n")
    try:
        for _ in range(160):
            sock.sendall(b"Disallow: /x\n" * 5041)
    except OSError:
        pass  # the client stopped reading at its cap


BOMB = gzip.compress(b"A" * (50 << 20))


def bomb(sock, path, hits) -> None:
    sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(BOMB)}\r\n\r\n".encode() + BOMB)


def flaky(sock, path, hits) -> None:
    if len(hits) == 1:
        sock.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n")
    else:
        sock.sendall(ok(b"User-agent: *\nDisallow: /\n"))


def test_hostile_servers_end_in_bounded_time_with_evidence(site) -> None:
    s = site(
        {
            "/stall": stall,
            "/reset": reset,
            "/huge": huge,
            "/bomb": bomb,
            "/flaky": flaky,
            "/loop": b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
            "/private": b"HTTP/1.1 301 Moved\r\nLocation: http://10.9.9.9/robots.txt\r\nContent-Length: 0\r\n\r\n",
        }
    )
    client = Client(
        FetchConfig(
            allow_networks=LOOPBACK,
            connect_timeout=1,
            read_timeout=1,
            deadline=8,
            retries=1,
            backoff=0.05,
            host_interval=0,
            max_bytes=1 << 20,
        )
    )
    started = time.monotonic()
    r = client.fetch(s.origin + "/stall")
    assert r.status is None and "timed out" in r.error.lower()
    r = client.fetch(s.origin + "/reset")
    assert r.status is None and r.error
    r = client.fetch(s.origin + "/huge")
    assert r.status == 200 and r.truncated and len(r.body) == 1 << 20
    r = client.fetch(s.origin + "/bomb")
    assert r.status == 200 and r.truncated and len(r.body) == 1 << 20
    r = client.fetch(s.origin + "/loop")
    assert r.error == "redirect limit" and len(r.chain) == 6
    r = client.fetch(s.origin + "/private")
    assert r.status is None and r.error.startswith("refused") and "10.9.9.9" in r.error
    r = client.fetch(s.origin + "/flaky")
    assert r.status == 200 and r.attempts == 2
    gap = s.hits["/flaky"][1] - s.hits["/flaky"][0]
    assert gap >= 0.9  # Retry-After: 1 was honoured
    assert time.monotonic() - started < 60  # every one of them ended (bounded by deadlines)
    client.close()


def test_guard_refuses_private_addresses_without_sending_a_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "evil.test":  # a public-looking name that resolves to loopback
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    def no_connect(self, address):
        raise AssertionError(f"the guard let a connection to {address} through")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    client = Client(FetchConfig(retries=0, deadline=5))
    for url in (
        "http://10.0.0.7/robots.txt",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/robots.txt",
        "http://evil.test/robots.txt",
        "http://192.168.1.1/",
        "http://[fe80::1]/",
    ):
        r = client.fetch(url)
        assert r.status is None and r.error.startswith("refused"), (url, r.error)


def test_rate_limit_spaces_requests_to_one_host(site) -> None:
    s = site({"/a": ok(b"x")})
    client = Client(FetchConfig(allow_networks=LOOPBACK, host_interval=0.3, retries=0))
    for _ in range(4):
        assert client.fetch(s.origin + "/a").status == 200
    times = s.hits["/a"]
    assert len(times) == 4 and min(b - a for a, b in itertools.pairwise(times)) >= 0.28


def test_robots_cache_and_crawl_delay(site) -> None:
    s = site(
        {
            "/robots.txt": ok(b"User-agent: *\nCrawl-delay: 0.5\nDisallow: /private\n"),
            "/.well-known/tdmrep.json": ok(b'[{"location": "/", "tdm-reservation": 1}]'),
            "/ai.txt": ok(b"User-agent: *\nDisallow: *.jpg\n"),
        }
    )
    client, cache = Client(FAST), RobotsCache()
    first = fetch_origin(client, s.origin, "ProvenanceScannerBot", cache)
    assert [f.kind for f in first] == ["robots.txt", "tdmrep.json", "ai.txt"]
    fetch_origin(client, s.origin, "ProvenanceScannerBot", cache)
    assert len(s.hits["/robots.txt"]) == 1  # cached
    gaps = [b - a for a, b in zip(s.hits["/ai.txt"], s.hits["/ai.txt"][1:], strict=False)]
    assert s.hits["/ai.txt"] and all(g >= 0.45 for g in gaps)  # Crawl-delay respected


RSL = (
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
    b'<prohibits type="usage">ai-train</prohibits></license></content></rsl>'
)


def test_fetch_signals_then_status_explains(site, tmp_path: Path) -> None:
    s = site(
        {
            "/robots.txt": ok(b"License: /license.xml\nUser-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"),
            "/license.xml": ok(RSL, "Content-Type: application/rsl+xml\r\n"),
            "/.well-known/tdmrep.json": b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
            "/ai.txt": b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: 60\r\n\r\n"
            b"<html><title>Just a moment...</title>cf-chl captcha</html>",
        }
    )
    store = tmp_path / "f.duckdb"
    run = [
        sys.executable,
        "-m",
        "scanner",
        "fetch-signals",
        s.origin,
        "--allow-network",
        "127.0.0.0/8",
        "--host-interval",
        "0",
        "--store",
        str(store),
        "--json",
    ]
    stats = json.loads(subprocess.run(run, capture_output=True, text=True, timeout=120, check=True).stdout)
    assert stats["fetched"] == 1 and stats["robots_outcomes"] == {"parsed": 1}
    again = json.loads(subprocess.run(run, capture_output=True, text=True, timeout=120, check=True).stdout)
    assert again["fetched"] == 0 and again["skipped_fresh"] == 1  # resumable: fresh origins are skipped
    status = [sys.executable, "-m", "scanner", "status", s.origin + "/a", "--store", str(store), "--json"]
    report = json.loads(subprocess.run(status, capture_output=True, text=True, timeout=120, check=True).stdout)
    signals = {r["signal"] for r in report["decision"]["reasons"]}
    assert report["decision"]["verdict"] == "reserved" and {"robots", "rsl"} <= signals
    with Store.open(store, read_only=True) as st:
        outcomes = st.query("SELECT kind, outcome FROM fetch_outcomes ORDER BY kind").to_pylist()
    assert {"kind": "ai.txt", "outcome": "edge-blocked"} in outcomes
    assert {"kind": "tdmrep.json", "outcome": "unreachable"} in outcomes


def test_checker_live_mode_fetches_unseen_origins(site, tmp_path: Path) -> None:
    from scanner.hook.checker import Checker

    s = site({"/robots.txt": ok(b"User-agent: GPTBot\nDisallow: /\n")})
    store = tmp_path / "empty.duckdb"
    Store.open(store).close()
    offline = Checker(store)
    assert offline.check(s.origin + "/a", "GPTBot").verdict == "unknown"
    live = Checker(store, live=True, fetch_config=FAST)
    decision = live.check(s.origin + "/a", "GPTBot")
    assert decision.verdict == "reserved" and decision.reasons[0].detail == "Disallow: / in group gptbot"
    assert live.check(s.origin + "/b", "GPTBot").verdict == "reserved"
    assert len(s.hits["/robots.txt"]) == 1  # fetched once, then served from memory
