"""Hook benchmark: `Checker.check` on a warm cache against protego's `can_fetch` on pre-parsed files
for the same URLs; `check_many` throughput; the HTTP service on loopback (latency and batch URLs/s).

    python bench/hook_bench.py [--ext ../shared/ext] [--origins 2000] [--urls 50000] [--requests 2000]

The store holds real robots.txt files of protego's corpus as evidence for `--origins` origins.
Ours does more per call than protego: every signal, the policy, reasons and evidence ids.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tarfile
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from protego import Protego

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scanner.corpus.records import sha256_hex
from scanner.evidence import Observation, write_observations
from scanner.hook.checker import Checker
from scanner.hook.service import create_app
from scanner.store import Store

PATHS = ["/", "/news/a.html", "/search?q=1", "/wp-admin/x", "/img/a.jpg", "/about/team"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--origins", type=int, default=2000)
    ap.add_argument("--urls", type=int, default=50_000)
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    with tarfile.open(args.ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in tar if m.isfile()][: args.origins]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.duckdb"
        with Store.open(path) as store:
            seen = datetime(2025, 1, 1, tzinfo=UTC)
            write_observations(
                store,
                [
                    (
                        b,
                        Observation(
                            sha256_hex(b), "robots.txt", f"https://s{i}.example/robots.txt", seen, "import", 200
                        ),
                    )
                    for i, b in enumerate(bodies)
                ],
            )
        urls = [
            f"https://s{i % len(bodies)}.example{PATHS[i % len(PATHS)]}{i // len(bodies)}" for i in range(args.urls)
        ]
        checker = Checker(path, policy="generic")
        parsed = [Protego.parse(b.decode("utf-8", "replace").lstrip("\ufeff")) for b in bodies]
        for u in urls:  # warm: files parsed, rule sets built, decisions memoised
            checker.check(u)
        t = time.perf_counter()
        for u in urls:
            checker.check(u)
        ours = time.perf_counter() - t
        t = time.perf_counter()
        for i, u in enumerate(urls):
            parsed[i % len(bodies)].can_fetch(u, "*")
        peer = time.perf_counter() - t
        print(f"input: {len(bodies)} origins with real robots.txt, {len(urls)} URLs")
        print(
            f"check (warm)   ours {len(urls) / ours:10.0f}/s   protego can_fetch {len(urls) / peer:10.0f}/s   "
            f"ratio ours/protego {peer / ours:.2f}x"
        )
        fresh = Checker(path, policy="generic")
        t = time.perf_counter()
        fresh.check_many(urls)
        many_cold = time.perf_counter() - t
        t = time.perf_counter()
        fresh.check_many(urls)
        many_warm = time.perf_counter() - t
        print(
            f"check_many     first pass {len(urls) / many_cold:10.0f} URLs/s   "
            f"cached {len(urls) / many_warm:10.0f} URLs/s"
        )

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(checker), host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client() as client:
            for _ in range(200):
                try:
                    client.get(base + "/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            latencies = []
            for i in range(args.requests):
                t = time.perf_counter()
                client.get(base + "/check", params={"url": urls[i % len(urls)]})
                latencies.append((time.perf_counter() - t) * 1000)
            batch = urls[:5000]
            t = time.perf_counter()
            for _ in range(4):
                client.post(base + "/check", json={"urls": batch})
            batched = 4 * len(batch) / (time.perf_counter() - t)
        server.should_exit = True
        q = statistics.quantiles(latencies, n=100)
        print(f"HTTP GET /check  p50 {q[49]:.2f} ms  p99 {q[98]:.2f} ms  ({args.requests} sequential requests)")
        print(f"HTTP POST /check {batched:10.0f} URLs/s in batches of 5,000")


if __name__ == "__main__":
    main()
