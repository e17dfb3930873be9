"""`provenance decide --engine ray` against the local engine, on the same store, interleaved.

    python bench/decide_ray_bench.py [--ext ../shared/ext] [--docs 100000] [--origins 2000] [--rounds 3]

Builds the store of `bench/decide_bench.py` (real robots.txt files of protego's corpus, synthetic
documents), then for a local Ray cluster of 1 and of 2 CPUs, in each round: clears the decisions,
decides with the local engine, clears them, decides on Ray. Prints documents/s, median and spread
per engine, the Ray/local ratio, and where the Ray run spent its time (export, tasks and merge).
The peer is the local engine: Ray's path must give its rows (tests/test_decide_ray.py) and is
worth its overhead only once the workers outnumber one machine's cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.decide_bench import build
from scanner import api
from scanner.dedup.ray_engine import start
from scanner.store import Store


def _clear(store: Store) -> None:
    store.query("DELETE FROM decision_rows; DELETE FROM decision_sets; DELETE FROM decision_outcomes")


def _timed(store: Store, **kw) -> tuple[float, dict]:
    _clear(store)
    t = time.perf_counter()
    stats = api.decide_documents(store, **kw)
    return time.perf_counter() - t, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--origins", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.duckdb") as store:
        build(store, args.ext, args.docs, args.origins)
        for workers in (1, 2):
            start(None, workers)
            _timed(store, engine="ray")  # warm: workers started, modules imported
            local, distributed, phases = [], [], []
            for _ in range(args.rounds):
                seconds, _ = _timed(store)
                local.append(seconds)
                seconds, stats = _timed(store, engine="ray")
                distributed.append(seconds)
                phases.append(stats["seconds"])
            ray.shutdown()
            for name, runs in (("local", local), (f"ray x{workers}", distributed)):
                rates = [args.docs / s for s in runs]
                print(
                    f"{name:8} {statistics.median(rates):10,.0f} docs/s  "
                    f"(min {min(rates):,.0f}, max {max(rates):,.0f}, {args.rounds} rounds)"
                )
            ratio = [lo / di for lo, di in zip(local, distributed, strict=True)]
            print(f"ray x{workers} / local: {statistics.median(ratio):.2f} (spread {min(ratio):.2f}-{max(ratio):.2f})")
            print(f"ray x{workers} phases (s): {phases}")


if __name__ == "__main__":
    main()
