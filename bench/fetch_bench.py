"""fetch-signals throughput: our pool against the sequential client (one origin after another,
the pre-pool behaviour), on the same loopback origins in the same run.

    python bench/fetch_bench.py [--origins 2000] [--workers 64] [--rounds 1] [--sequential 4]

Each origin is its own address 127.10.x.y (so its own host for politeness), reached through the
default guard plus `--allow-network 127.0.0.0/8`, the way a user allows a network. Every origin
serves robots.txt, tdmrep.json and ai.txt after 50 ms; a slow 5 % answer after 2 s. The server
runs in its own process (asyncio) and logs every request; the bench checks from that log that no
host got two requests less than the host interval apart. The sequential client is measured on a
few fast and one slow origin and weighted 95/5 (at about 2 s per origin it would take over an
hour for all of them). Both write to a real DuckDB store.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BODIES = {
    "/robots.txt": b"User-agent: *\nAllow: /\n",
    "/.well-known/tdmrep.json": b"[]",
    "/ai.txt": b"User-agent: *\nAllow: /\n",
}


def address(i: int) -> str:
    return f"127.10.{i // 250}.{i % 250 + 1}"


def serve(n: int, port: int, latency: float, slow_latency: float, slow: set[int], conn) -> None:
    """The origins' server (child process): answers, logs (address, arrived, answered)."""
    log: list[tuple[str, float, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.monotonic()
            path = head.split(b" ", 2)[1].decode()
            await asyncio.sleep(slow_latency if i in slow else latency)
            body = BODIES.get(path)
            status = b"200 OK" if body is not None else b"404 Not Found"
            body = body or b""
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )
            await writer.drain()
            log.append((address(i), arrived, time.monotonic()))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = []
        for i in range(n):
            servers.append(await asyncio.start_server(lambda r, w, i=i: handle(r, w, i), address(i), port, backlog=64))
        conn.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        for s in servers:
            s.close()

    asyncio.run(main())
    conn.send(log)


def min_gaps(log: list[tuple[str, float, float]]) -> tuple[float, int]:
    """Smallest time between two requests' arrivals at the same host (the server's clock)."""
    by_host: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for host, arrived, answered in log:
        by_host[host].append((arrived, answered))
    gaps = []
    for spans in by_host.values():
        spans.sort()
        gaps += [b[0] - a[0] for a, b in itertools.pairwise(spans)]
    return (min(gaps) if gaps else float("inf")), len(log)


def run_pool(origins: list[str], workers: int, tmp: Path, tag: str) -> float:
    from crawlers.http import FetchConfig
    from scanner import api
    from scanner.store import Store

    with Store.open(tmp / f"pool-{tag}.duckdb") as store:
        started = time.monotonic()
        stats = api.fetch_signals(
            store, origins, config=FetchConfig(allow_networks=("127.0.0.0/8",)), workers=workers, refresh=True
        )
        elapsed = time.monotonic() - started
    assert stats["fetched"] == len(origins) and stats["robots_outcomes"] == {"parsed": len(origins)}, stats
    return len(origins) / elapsed


def run_sequential(origins: list[str], tmp: Path, tag: str) -> float:
    """Seconds per origin, one origin after another (the client waits for each host's turn)."""
    from crawlers.http import Client, FetchConfig
    from crawlers.origin import RobotsCache, fetch_origin
    from scanner import api
    from scanner.evidence import write_observations
    from scanner.store import Store

    client, cache = Client(FetchConfig(allow_networks=("127.0.0.0/8",))), RobotsCache()
    with Store.open(tmp / f"seq-{tag}.duckdb") as store:
        run_id = store.start_run("fetch-signals", {})
        started = time.monotonic()
        for origin in origins:
            items = [api._fetched_item(f) for f in fetch_origin(client, origin, "ProvenanceScannerBot", cache)]
            write_observations(store, items, run_id)
        elapsed = time.monotonic() - started
        store.finish_run(run_id, "ok", {}, [])
    client.close()
    return elapsed / len(origins)


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:,.1f}"
    return f"floor {min(values):,.1f}, median {statistics.median(values):,.1f}, max {max(values):,.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--origins", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--sequential", type=int, default=4, help="fast origins timed sequentially (plus one slow)")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--slow-latency", type=float, default=2.0)
    ap.add_argument("--slow-share", type=float, default=0.05)
    ap.add_argument("--port", type=int, default=18443)
    args = ap.parse_args()

    n = args.origins
    step = max(1, round(1 / args.slow_share)) if args.slow_share > 0 else n + 1
    slow = set(range(step - 1, n, step))
    # the sequential client gets origins of its own (same server, same latencies): two clients
    # on one host would be two crawlers, and the politeness check is about ours
    extra = list(range(n, n + args.sequential + 1))
    slow.add(extra[-1])
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    total = n + len(extra)
    server = ctx.Process(
        target=serve, args=(total, args.port, args.latency, args.slow_latency, slow, child), daemon=True
    )
    server.start()
    assert parent.recv() == "ready"
    origins = [f"http://{address(i)}:{args.port}" for i in range(n)]
    fast = [f"http://{address(i)}:{args.port}" for i in extra[:-1]]
    slow_origins = [f"http://{address(extra[-1])}:{args.port}"]
    share = len(slow & set(range(n))) / n
    pool_rates, seq_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):  # interleaved: sequential, then the pool, each round
            seq_fast = run_sequential(fast, Path(tmp), f"{r}f")
            seq_slow = run_sequential(slow_origins, Path(tmp), f"{r}s")
            seq_rates.append(1 / ((1 - share) * seq_fast + share * seq_slow))
            pool_rates.append(run_pool(origins, args.workers, Path(tmp), str(r)))
            print(
                f"round {r + 1}: pool {pool_rates[-1]:,.1f} origins/s, sequential {seq_rates[-1]:,.2f} origins/s "
                f"({seq_fast:.2f} s per fast origin, {seq_slow:.2f} s per slow one), "
                f"ratio {pool_rates[-1] / seq_rates[-1]:,.0f}x",
                flush=True,
            )
    parent.send("stop")
    gap, requests = min_gaps(parent.recv())
    server.join(30)
    ratios = [p / s for p, s in zip(pool_rates, seq_rates, strict=True)]
    print(
        f"origins: {n} ({len(slow)} slow), workers {args.workers}, rounds {args.rounds}, requests served {requests:,}"
    )
    print(f"pool origins/s: {spread(pool_rates)}")
    print(f"sequential origins/s: {spread(seq_rates)}")
    print(f"pool / sequential: {spread(ratios)}x")
    print(f"closest two requests to one host (arrival to arrival, server-side): {gap:.3f} s (interval 1 s)")
    if gap < 1.0:
        sys.exit("politeness violated: a host got two requests less than its interval apart")


if __name__ == "__main__":
    main()
