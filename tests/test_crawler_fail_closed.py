"""Fail closed: a robots.txt we cannot decode is unreachable (full disallow), never an empty
allow-all; a long Crawl-delay delays an origin's files instead of losing them; licence fetches
and requests per origin are capped. All on the default guard, through the pretend internet."""

from __future__ import annotations

import gzip
import itertools
import json
import zlib
from pathlib import Path

import pytest

from crawlers.http import FetchConfig
from scanner import api
from scanner.store import Store
from tests._public_net import public_net
from tests._sites import ok
from tests._sites import site as _site_fixture

site = _site_fixture
DISALLOW = b"User-agent: *\nDisallow: /\n"


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


ENCODED = {  # name: (Content-Encoding, body, decodable)
    "raw-deflate": ("deflate", raw_deflate(DISALLOW), True),
    "zlib-deflate": ("deflate", zlib.compress(DISALLOW), True),
    "gzip-gzip": ("gzip, gzip", gzip.compress(gzip.compress(DISALLOW)), True),
    "gzip-identity": ("identity, gzip", gzip.compress(DISALLOW), True),
    "brotli": ("br", b"\x8b\x0b\x80" + DISALLOW, False),
    "compress": ("compress", b"\x1f\x9d" + DISALLOW, False),
    "lying-gzip": ("gzip", DISALLOW, False),
    "many-layers": (", ".join(["gzip"] * 9), DISALLOW, False),
}


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch):
    with public_net(monkeypatch) as n:
        yield n


def test_undecodable_robots_is_unreachable_never_allow_all(net, site, tmp_path: Path) -> None:
    origins = {}
    for i, (name, (coding, body, _)) in enumerate(ENCODED.items()):
        s = site({"/robots.txt": ok(body, f"Content-Encoding: {coding}\r\n")})
        origins[name] = net.add(f"{name}.example.test", f"93.184.217.{i + 1}", s.server.server_address)
    with Store.open(tmp_path / "p.duckdb") as st:
        api.fetch_signals(st, list(origins.values()))  # the default FetchConfig
        rows = st.query("SELECT url, http_status, locator FROM observations WHERE kind = 'robots.txt'").to_pylist()
        by_name = {r["url"].split("//")[1].split(".")[0]: r for r in rows}
        for name, (_, _, decodable) in ENCODED.items():
            row, locator = by_name[name], json.loads(by_name[name]["locator"])
            verdict = api.check(origins[name] + "/page", "GPTBot", store=st).verdict
            assert verdict == "reserved", (name, locator)  # Disallow: / read, or unreachable: never allowed
            if decodable:
                assert row["http_status"] == 200 and locator["outcome"] == "parsed", (name, locator)
            else:
                assert row["http_status"] is None and locator["outcome"] == "unreachable", (name, locator)
                assert locator["error"].startswith("undecodable") and locator["received_status"] == 200


def test_crawl_delay_longer_than_the_deadline_delays_the_rest(net, site, tmp_path: Path) -> None:
    slow = site(
        {
            "/robots.txt": ok(b"User-agent: *\nCrawl-delay: 4\nAllow: /\n"),
            "/.well-known/tdmrep.json": ok(b"[]"),
            "/ai.txt": ok(b"User-agent: *\nAllow: /\n"),
        }
    )
    fast = site({"/robots.txt": ok(b"User-agent: *\nAllow: /\n"), "/ai.txt": ok(b"User-agent: *\nAllow: /\n")})
    a = net.add("slow.example.test", "93.184.217.50", slow.server.server_address)
    b = net.add("fast.example.test", "93.184.217.51", fast.server.server_address)
    with Store.open(tmp_path / "p.duckdb") as st:
        api.fetch_signals(st, [a, b], config=FetchConfig(deadline=2.0))
        rows = st.query("SELECT url, http_status, locator FROM observations").to_pylist()
    slow_rows = {r["url"].removeprefix(a): r for r in rows if r["url"].startswith(a)}
    assert slow_rows["/.well-known/tdmrep.json"]["http_status"] == 200, slow_rows  # read, not "deadline exceeded"
    assert slow_rows["/ai.txt"]["http_status"] == 200
    hits = sorted(t for times in slow.hits.values() for t in times)
    assert len(hits) == 3 and all(later - earlier >= 3.9 for earlier, later in itertools.pairwise(hits))
    # the other origin went on meanwhile: all of it was fetched before the slow one's second file
    assert max(t for times in fast.hits.values() for t in times) < slow.hits["/.well-known/tdmrep.json"][0]


def test_licence_fetches_are_capped_and_named(net, site, tmp_path: Path) -> None:
    lines = "".join(f"License: /licence/{i}.xml\n" for i in range(1000))
    s = site({"/robots.txt": ok(f"{lines}User-agent: *\nAllow: /\n".encode())})
    origin = net.add("many.example.test", "93.184.217.60", s.server.server_address)
    with Store.open(tmp_path / "p.duckdb") as st:
        api.fetch_signals(st, [origin], config=FetchConfig(host_interval=0.05))
        robots = st.query("SELECT locator FROM observations WHERE kind = 'robots.txt'").column(0).to_pylist()
        rsl = st.query("SELECT url FROM observations WHERE kind = 'rsl' ORDER BY url").column(0).to_pylist()
    note = json.loads(robots[0])
    assert sorted(p for p in s.hits if p.startswith("/licence/")) == [f"/licence/{i}.xml" for i in range(5)]
    assert note["licences_fetched"] == [f"{origin}/licence/{i}.xml" for i in range(5)] == rsl
    assert note["licences_skipped"] == 995 and note["licences_skipped_first"][0] == f"{origin}/licence/5.xml"


def test_requests_per_origin_are_capped(net, site, tmp_path: Path) -> None:
    lines = "".join(f"License: /l{i}\n" for i in range(5))
    s = site({"/robots.txt": ok(f"{lines}User-agent: *\nAllow: /\n".encode())})
    origin = net.add("cap.example.test", "93.184.217.61", s.server.server_address)
    with Store.open(tmp_path / "p.duckdb") as st:
        api.fetch_signals(st, [origin], config=FetchConfig(host_interval=0.05, max_requests_per_origin=4))
        errors = st.query("SELECT json_extract_string(locator, '$.error') FROM observations").column(0).to_pylist()
    assert sum(len(v) for v in s.hits.values()) == 4  # robots.txt, tdmrep.json, ai.txt, one licence
    assert sum(1 for e in errors if e and e.startswith("request cap reached")) == 4
