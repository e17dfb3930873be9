"""Scale benchmark: ingest -> decide -> dedup on a synthetic corpus, each stage a real CLI process,
printing wall time, the stage's own peak RSS (from wait4, not the parent's) and the store size.

    python bench/scale_bench.py [--docs 100000 1000000] [--memory-limit 4GB] [--workdir DIR]

Documents are ~3 KB of Zipf-drawn words with 20 % planted near-duplicate families
(bench/dedup_bench.py's `make_corpus`), written as JSONL with URLs over 10k origins. Ingest writes
are checked for flatness: seconds per 100k rows is printed for each size, and should not grow.
The floor printed beside decide is DuckDB writing the same number of narrow rows and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.dedup_bench import make_corpus


def write_corpus(path: Path, n: int) -> int:
    with path.open("w", encoding="utf-8") as f:
        for i, text in enumerate(make_corpus(n)):
            url = f"https://site{i % 10_000}.example/a/{i}"
            f.write(json.dumps({"id": f"doc{i}", "url": url, "text": text, "date": "2025-01-01T00:00:00Z"}) + "\n")
    return path.stat().st_size


def run_stage(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one CLI process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "scanner", *args], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"stage {args[0]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def narrow_floor(n: int) -> float:
    """Seconds for DuckDB to write n (doc id, outcome id, run id) rows: the floor under decide."""
    import duckdb

    con = duckdb.connect(":memory:")
    start = time.perf_counter()
    con.execute(
        "CREATE TABLE t AS SELECT 'doc' || range::VARCHAR AS doc_id, (range % 97)::INTEGER AS outcome, "
        f"'run' AS run_id FROM range({n})"
    )
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, nargs="+", default=[100_000])
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    print(f"machine: {os.cpu_count()} cores; dedup with DuckDB memory_limit={args.memory_limit}")
    print(f"{'docs':>9} {'stage':<7} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'store MB':>9} {'B/doc':>7} note")
    for n in args.docs:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            corpus, store = Path(tmp) / "corpus.jsonl", Path(tmp) / "s.duckdb"
            size = write_corpus(corpus, n)
            common = ["--store", str(store)]
            stages = [
                ("ingest", ["ingest", str(corpus), "--source", "bench", "--workers", "2", *common]),
                ("decide", ["decide", *common]),
                ("dedup", ["dedup", "--memory-limit", args.memory_limit, "--temp-dir", tmp, *common]),
            ]
            for name, cli in stages:
                wall, cpu, rss = run_stage(cli, env)
                store_mb = store.stat().st_size / 1e6
                note = ""
                if name == "ingest":
                    note = f"{wall / n * 1e5:.1f} s per 100k rows; corpus {size / 1e6:.0f} MB"
                elif name == "decide":
                    floor = narrow_floor(n)
                    note = f"{n / wall:,.0f} docs/s; floor (narrow rows alone) {n / floor:,.0f} rows/s"
                print(
                    f"{n:>9} {name:<7} {wall:>8.1f} {cpu:>8.1f} {rss:>8.0f} {store_mb:>9.0f} "
                    f"{store.stat().st_size / n:>7.0f} {note}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
