"""Ingest benchmark: our `ingest` against datatrove (WarcReader + Trafilatura + JsonlWriter).

    pip install datatrove        # the peer, in the bench environment only
    python bench/ingest_bench.py [--ext ../shared/ext] [--copies 4] [--workers 2]

Input, built once into a temporary folder from real public material: the 181 pages of the
article-extraction benchmark written as WARC response records (gzip per record), `--copies`
times over as many files (distinct URLs), so both tools can use `--workers` processes.
Both run on the same files in the same run; prints docs/s, the ratio ours / datatrove, and the
article-body F1 of each tool's text against the benchmark's ground truth (upstream metric).
Then the raw reader alone (records/s and MB/s, no extraction): FastWARC + our HTTP parsing
against warcio. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scanner import api
from scanner.corpus.fields import FieldMap
from scanner.corpus.warc import iter_entries
from scanner.store import Store
from tests.test_extract import shingle_f1


def build_input(ext: Path, folder: Path, copies: int) -> dict[str, str]:
    """WARC files of real pages; returns URL -> ground-truth article body."""
    bench = ext / "article-extraction-benchmark"
    truth = json.loads(gzip.decompress((bench / "ground-truth.json.gz").read_bytes()))
    by_url: dict[str, str] = {}
    for copy in range(copies):
        with (folder / f"pages-{copy}.warc.gz").open("wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for key in sorted(truth):
                html = gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes())
                url = f"{truth[key]['url']}#copy{copy}"
                headers = StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
                )
                # as Common Crawl does; without it datatrove sniffs types with libmagic and
                # drops most of these pages as not HTML
                record = writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(html),
                    http_headers=headers,
                    warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"},
                )
                writer.write_record(record)
                by_url[url] = truth[key]["articleBody"]
    return by_url


def run_ours(files: list[Path], workdir: Path, workers: int) -> tuple[float, dict[str, str]]:
    store_path = workdir / "bench.duckdb"
    start = time.perf_counter()
    with Store.open(store_path) as store:
        api.ingest(store, [(f, "bench", FieldMap()) for f in files], workers=workers)
    elapsed = time.perf_counter() - start
    with Store.open(store_path, read_only=True) as store:
        rows = store.query("SELECT d.url, t.text FROM documents d LEFT JOIN texts t USING (text_sha256)")
    return elapsed, {r["url"]: r["text"] or "" for r in rows.to_pylist()}


def run_datatrove(folder: Path, workdir: Path, workers: int, tasks: int) -> tuple[float, dict[str, str]]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    out = workdir / "datatrove-out"
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(folder), glob_pattern="*.warc.gz"),
            Trafilatura(),
            JsonlWriter(str(out), compression=None),
        ],
        tasks=tasks,
        workers=workers,
        logging_dir=str(workdir / "datatrove-logs"),
    )
    start = time.perf_counter()
    executor.run()
    elapsed = time.perf_counter() - start
    texts = {}
    for f in out.glob("*.jsonl"):
        for line in f.read_text().splitlines():
            doc = json.loads(line)
            texts[doc["metadata"]["url"]] = doc["text"]
    return elapsed, texts


def reader_speed(files: list[Path]) -> None:
    size = sum(f.stat().st_size for f in files)

    def ours() -> int:
        return sum(len(e.payload) >= 0 for f in files for e in iter_entries(f))

    def warcio() -> int:
        n = 0
        for f in files:
            with f.open("rb") as fh:
                for rec in ArchiveIterator(fh):
                    rec.content_stream().read()
                    n += 1
        return n

    results = {}
    for name, fn in (("ours (FastWARC)", ours), ("warcio", warcio)):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            n = fn()
            best = min(best, time.perf_counter() - t)
        results[name] = best
        print(f"reader   {name:16s} {n / best:10.0f} records/s  {size / best / 1e6:8.1f} MB/s (compressed)")
    print(f"reader   ratio ours/warcio {results['warcio'] / results['ours (FastWARC)']:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = workdir / "warc"
        folder.mkdir()
        truth = build_input(args.ext, folder, args.copies)
        files = sorted(folder.glob("*.warc.gz"))
        n = len(truth)
        ours_time, ours_text = run_ours(files, workdir, args.workers)
        peer_time, peer_text = run_datatrove(folder, workdir, args.workers, tasks=len(files))
        ours_f1, *_ = shingle_f1(truth, ours_text)
        peer_f1, *_ = shingle_f1(truth, peer_text)
        print(f"input: {n} real pages in {len(files)} WARC files, {args.workers} processes each")
        print(f"ingest   ours      {n / ours_time:8.1f} docs/s  F1 {ours_f1:.3f}  (into the DuckDB store)")
        print(f"ingest   datatrove {n / peer_time:8.1f} docs/s  F1 {peer_f1:.3f}  (to JSONL)")
        print(f"ingest   ratio ours/datatrove {peer_time / ours_time:.2f}x")
        reader_speed(files)


if __name__ == "__main__":
    main()
