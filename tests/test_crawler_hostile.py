"""Hostile servers on the default path: deadlines that hold on the wall clock against a server
dripping one byte a second, and bad responses that stay one origin's error, never the run's."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawlers.http import Client, FetchConfig
from scanner import api
from scanner.store import Store
from tests._public_net import public_net, run_cli
from tests._sites import ok
from tests._sites import site as _site_fixture

site = _site_fixture
DEADLINE = 3.0


def drip(prefix: bytes, then: bytes = b"a"):
    def handler(sock, path, hits) -> None:
        try:
            sock.sendall(prefix)
            for _ in range(120):  # ends on its own after 2 minutes, long after any deadline
                sock.sendall(then)
                time.sleep(1)
        except OSError:
            pass  # the client hung up: what we want

    return handler


@pytest.mark.parametrize(
    "where",
    ["status-line", "headers", "body", "chunked-body"],
)
def test_a_drip_ends_within_the_deadline(where: str, site, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = {
        "status-line": b"HTTP/1.1 2",
        "headers": b"HTTP/1.1 200 OK\r\nX-Slow: ",
        "body": b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
        "chunked-body": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n",
    }[where]
    s = site({"/robots.txt": drip(prefix, b"0" if where == "status-line" else b"a")})
    with public_net(monkeypatch) as net:
        origin = net.add("slow.example.test", "93.184.215.14", s.server.server_address)
        # read timeout (per recv) far longer than the deadline: only the wall clock can end it
        client = Client(FetchConfig(deadline=DEADLINE, read_timeout=60))
        started = time.monotonic()
        r = client.fetch(origin + "/robots.txt")
        elapsed = time.monotonic() - started
        client.close()
    assert r.error and "deadline exceeded" in r.error, r
    assert elapsed < DEADLINE + 2, f"{where}: the drip held the fetch for {elapsed:.1f} s"
    assert len(s.hits["/robots.txt"]) == 1  # the deadline covers retries too: none was started


BAD = {
    "retry-after": b"HTTP/1.1 503 Busy\r\nRetry-After: \xb2\r\nContent-Length: 0\r\n\r\n",
    "max-age": b"HTTP/1.1 200 OK\r\nCache-Control: max-age=\xb2\r\nContent-Length: 26\r\n\r\n"
    b"User-agent: *\nDisallow: /\n",
    "location": b"HTTP/1.1 301 Moved\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n",
    "long-header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\nContent-Length: 0\r\n\r\n",
    "garbage-status": b"\x00\xffGARBAGE 99 ???\r\n\r\n",
    "no-status": b"User-agent: *\nDisallow: /\n",
}


def test_bad_origins_are_their_own_errors_and_the_run_goes_on(site, tmp_path: Path, monkeypatch, capsys) -> None:
    good = site({"/robots.txt": ok(b"User-agent: GPTBot\nDisallow: /\n")})
    bad = {name: site({"/robots.txt": raw}) for name, raw in BAD.items()}
    store = tmp_path / "p.duckdb"
    with public_net(monkeypatch) as net:
        origins = {
            name: net.add(f"{name}.example.test", f"93.184.216.{i + 10}", s.server.server_address)
            for i, (name, s) in enumerate(bad.items())
        }
        origins["good"] = net.add("good.example.test", "93.184.216.99", good.server.server_address)
        code, out, err = run_cli(
            monkeypatch, capsys, "fetch-signals", *origins.values(), "--store", str(store), "--json"
        )
    assert code == 0 and "Traceback" not in err, err
    stats = json.loads(out)
    assert stats["fetched"] == len(origins) == stats["origins"]
    with Store.open(store) as st:
        rows = st.query(
            "SELECT url, http_status, locator FROM observations WHERE kind = 'robots.txt' ORDER BY url"
        ).to_pylist()
        runs = st.query("SELECT status FROM runs").column(0).to_pylist()
        seen = {r["url"].split("//")[1].split(".")[0]: (r["http_status"], json.loads(r["locator"])) for r in rows}
        assert api.check(origins["good"] + "/x", "GPTBot", store=st).verdict == "reserved"
        # unreachable robots.txt is a full disallow (RFC 9309), so the broken ones reserve too
        assert api.check(origins["garbage-status"] + "/x", "GPTBot", store=st).verdict == "reserved"
    assert runs == ["ok"] and set(seen) == set(origins)
    assert seen["retry-after"][0] == 503 and seen["max-age"][0] == 200
    assert "Invalid IPv6 URL" in seen["location"][1]["error"]
    for name in ("long-header", "garbage-status", "no-status"):
        status, locator = seen[name]
        assert status is None and locator["outcome"] == "unreachable" and locator["error"], (name, locator)


def test_a_killed_run_is_marked_interrupted_on_the_next_open(tmp_path: Path) -> None:
    store = tmp_path / "k.duckdb"
    code = (
        "import os, sys; from scanner.store import Store; "
        "s = Store.open(sys.argv[1]); s.start_run('fetch-signals', {}); os.kill(os.getpid(), 9)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(store)], capture_output=True, timeout=120)
    assert proc.returncode != 0
    with Store.open(store, read_only=True) as st:  # a reader changes nothing
        assert st.query("SELECT status FROM runs").column(0).to_pylist() == ["running"]
    with Store.open(store) as st:
        live = st.start_run("fetch-signals", {})
        rows = {r["run_id"]: r["status"] for r in st.query("SELECT run_id, status FROM runs").to_pylist()}
        assert rows[live] == "running"  # ours, in this process, is left alone
        assert sorted(rows.values()) == ["interrupted", "running"]
        st.finish_run(live, "ok", {}, [])
