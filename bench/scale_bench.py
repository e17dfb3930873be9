"""Scale benchmark: ingest -> decide -> dedup on a synthetic corpus, each stage a real CLI process,
printing wall time, the stage's own peak RSS (from wait4, not the parent's) and the store size.

    python bench/scale_bench.py [--docs 100000 1000000] [--memory-limit 4GB] [--workdir DIR]
    python bench/scale_bench.py --write-path [--docs 100000 1000000 10000000]

`--write-path` measures the store writer alone (no extraction): synthetic typed documents with
their texts go through `Store.write_corpus_documents` in ingest's batches of 256; the store is
filled to each size with the same writer in batches of 50,000, and the next 100k rows are timed
there. Seconds per 100k rows at 100k, 1M and 10M documents should not grow.

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


def synthetic_documents(start: int, n: int) -> list:
    """n typed documents (ids as ingest makes them) with a short text each."""
    from scanner.corpus.records import Document, document_id, sha256_hex

    docs = []
    for i in range(start, start + n):
        text = f"document {i} of the write-path bench"
        url = f"https://site{i % 10_000}.example/a/{i}"
        content = sha256_hex(text)
        docs.append(
            Document(
                doc_id=document_id("bench", url, None, content),
                source_id="bench", url=url, origin=f"https://site{i % 10_000}.example", host=f"site{i % 10_000}.example",
                registrable_domain=f"site{i % 10_000}.example", fetched_at=None, content_sha256=content,
                raw_bytes=len(text), text_sha256=sha256_hex(text), token_count=7, modality="text",
                content_type="text/plain", language="en", http_status=200, record_locator=f"bench:{i}", text=text,
            )
        )
    return docs


def write_path(sizes: list[int], workdir: Path | None) -> None:
    """Seconds per 100k rows written by the store writer at each store size (see the module doc)."""
    from scanner.store import Store

    print(f"write path: Store.write_corpus_documents, batches of 256; load {os.getloadavg()[0]:.1f}")
    print(f"{'docs in store':>14} {'s per 100k rows':>16} {'cpu s':>7} {'store MB':>9}")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "w.duckdb"
        with Store.open(path) as store:
            stored = 0
            for size in sorted(sizes):
                while stored < size:  # fill with the same writer, in large batches
                    n = min(50_000, size - stored)
                    store.write_corpus_documents(synthetic_documents(stored, n), "fill")
                    stored += n
                batches = [synthetic_documents(stored + k, 256) for k in range(0, 100_000, 256)]
                wall, cpu = time.perf_counter(), time.process_time()
                written = sum(store.write_corpus_documents(b, "timed") for b in batches)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                stored += written
                again = sum(store.write_corpus_documents(b, "again") for b in batches[:40])  # idempotent
                assert written == sum(len(b) for b in batches) and again == 0
                print(f"{size:>14,} {wall / written * 1e5:>16.2f} {cpu:>7.1f} {path.stat().st_size / 1e6:>9.0f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, nargs="+", default=[100_000])
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--write-path", action="store_true", help="time the store writer alone (see above)")
    args = ap.parse_args()
    if args.write_path:
        write_path(args.docs, args.workdir)
        return
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
