"""Many origins at once: concurrency with per-host politeness asserted server-side, batches
committed while the run goes on, a killed run resumed with only the missing origins, the bar."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from crawlers.http import FetchConfig
from scanner import api
from scanner.store import Store
from tests._public_net import public_net
from tests._sites import ok
from tests._sites import site as _site_fixture
from tests.conftest import REPO

site = _site_fixture
FILES = {
    "/robots.txt": ok(b"User-agent: *\nAllow: /\n"),
    "/.well-known/tdmrep.json": ok(b"[]"),
    "/ai.txt": ok(b"User-agent: *\nAllow: /\n"),
}


def gaps_by_host(log: list[tuple[str, str, float, float]]) -> dict[str, list[float]]:
    """Per Host (port dropped: one host, several origins), the time between two requests'
    arrivals, as the server saw them."""
    by_host: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for host, _path, arrived, answered in log:
        by_host[host.rsplit(":", 1)[0] if not host.endswith("]") else host].append((arrived, answered))
    out = {}
    for host, spans in by_host.items():
        spans.sort()
        out[host] = [b[0] - a[0] for a, b in itertools.pairwise(spans)]
    return out


def test_many_origins_concurrently_one_request_at_a_time_per_host(monkeypatch, site, tmp_path: Path) -> None:
    s = site(dict(FILES), delay=0.1)  # every answer takes 100 ms
    with public_net(monkeypatch) as net:
        origins = [net.add(f"o{i}.example.test", f"93.184.218.{i + 1}", s.server.server_address) for i in range(30)]
        # two origins on one host (ports 80 and 8080): politeness is per host, not per origin
        net.routes[("93.184.218.1", 8080)] = s.server.server_address
        origins.append("http://o0.example.test:8080")
        with Store.open(tmp_path / "p.duckdb") as st:
            stats = api.fetch_signals(st, origins)  # the defaults: 64 workers, 1 s per host
            urls = st.query("SELECT DISTINCT url FROM observations").column(0).to_pylist()
    assert stats["fetched"] == 31 and stats["robots_outcomes"] == {"parsed": 31}
    assert len(urls) == 31 * 3
    gaps = gaps_by_host(s.log)
    assert len(gaps) == 30 and len(gaps["o0.example.test"]) == 5, sorted(gaps)  # 6 requests to that host
    closest = min(g for host_gaps in gaps.values() for g in host_gaps)
    assert closest >= 1.0, f"a host got two requests {closest:.3f} s apart (interval 1 s)"
    assert s.max_in_flight > 1  # origins were fetched at once, not one by one


def test_batches_are_committed_while_the_run_waits_on_the_network(monkeypatch, site, tmp_path: Path) -> None:
    release = threading.Event()

    def held(sock, path, hits) -> None:
        release.wait(60)
        sock.sendall(ok(b"User-agent: *\nAllow: /\n"))

    fast = site(dict(FILES))
    slow = site({"/robots.txt": held})
    with public_net(monkeypatch) as net:
        quick = [net.add(f"q{i}.example.test", f"93.184.219.{i + 1}", fast.server.server_address) for i in range(5)]
        stuck = net.add("stuck.example.test", "93.184.219.100", slow.server.server_address)
        with Store.open(tmp_path / "p.duckdb") as st:
            reader = st.reader()
            config = FetchConfig(host_interval=0.05, deadline=60, read_timeout=60)
            run = threading.Thread(
                target=api.fetch_signals, args=(st, [stuck, *quick]), kwargs={"config": config, "batch_seconds": 0.1}
            )
            run.start()
            try:
                seen = 0
                for _ in range(600):  # the fast origins land in the store while one origin hangs
                    seen = reader.query("SELECT count(DISTINCT origin) FROM observations").column(0)[0].as_py()
                    if seen == 5:
                        break
                    release.wait(0.05)
                running = reader.query("SELECT status FROM runs").column(0).to_pylist()
            finally:
                release.set()
                run.join(120)
            assert seen == 5 and running == ["running"]
            assert st.query("SELECT status FROM runs").column(0).to_pylist() == ["ok"]
            assert st.query("SELECT count(DISTINCT origin) FROM observations").column(0)[0].as_py() == 6


KILL_AFTER = """
import os, signal, sys
from crawlers.http import FetchConfig
from scanner import api
from scanner.store import Store

origins, store = sys.argv[2:], sys.argv[1]
def progress(n, size, seen=[0]):
    seen[0] += n
    if seen[0] == 4:  # origins 1-3 are committed (one per batch); die like a kill -9 would
        os.kill(os.getpid(), signal.SIGKILL)
with Store.open(store) as st:
    api.fetch_signals(st, origins, config=FetchConfig(allow_networks=("127.0.0.0/8",), host_interval=0.05),
                      progress=progress, batch_origins=1, workers=2)
"""


def test_a_killed_run_resumes_with_only_the_missing_origins(site, tmp_path: Path) -> None:
    sites = [site({"/robots.txt": FILES["/robots.txt"]}, host=f"127.0.0.{i + 2}") for i in range(8)]
    origins = [s.origin for s in sites]
    store = tmp_path / "k.duckdb"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER, str(store), *origins], env=env, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    with Store.open(store, read_only=True) as st:
        committed = set(st.query("SELECT DISTINCT origin FROM observations").column(0).to_pylist())
    assert len(committed) == 3
    rerun = [sys.executable, "-m", "scanner", "fetch-signals", *origins, "--allow-network", "127.0.0.0/8"]
    done = subprocess.run(
        [*rerun, "--host-interval", "0.05", "--store", str(store), "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    stats = json.loads(done.stdout)
    assert stats["fetched"] == 5 and stats["skipped_fresh"] == 3
    for s in sites:  # committed origins were not asked again
        assert len(s.hits["/robots.txt"]) == 1 or s.origin not in committed
    with Store.open(store, read_only=True) as st:
        runs = sorted(st.query("SELECT status FROM runs").column(0).to_pylist())
        assert runs == ["interrupted", "ok"]
        assert st.query("SELECT count(DISTINCT origin) FROM observations").column(0)[0].as_py() == 8


def test_progress_bar_shows_done_total_rate_and_eta() -> None:
    from rich.console import Console

    from scanner.cli import origins_bar

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=140)
    with origins_bar("fetch-signals", console=console) as (advance, total):
        total(4)
        for _ in range(3):
            advance(1)
    text = buf.getvalue()
    assert "3/4" in text and "origins" in text and "/s" in text and "ETA" in text


@pytest.mark.parametrize("workers", [1, 3])
def test_pool_size_is_the_bound_on_requests_in_flight(workers: int, monkeypatch, site, tmp_path: Path) -> None:
    s = site(dict(FILES), delay=0.2)
    with public_net(monkeypatch) as net:
        origins = [net.add(f"w{i}.example.test", f"93.184.220.{i + 1}", s.server.server_address) for i in range(6)]
        with Store.open(tmp_path / "p.duckdb") as st:
            stats = api.fetch_signals(st, origins, config=FetchConfig(host_interval=0.05), workers=workers)
    assert stats["fetched"] == 6
    # counted server-side from a request's arrival to its answer's first byte (tests/_sites.py)
    assert s.max_in_flight <= workers, f"{s.max_in_flight} requests in flight with a pool of {workers}"
