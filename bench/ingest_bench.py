"""Ingest benchmark: our `ingest` against datatrove (WarcReader + Trafilatura + JsonlWriter).

    python bench/ingest_bench.py [--ext ../shared/ext] [--copies 2] [--workers 2] [--rounds 3]

Input, built once into a temporary folder from real public material: the 181 pages of the
article-extraction benchmark written as WARC response records (gzip per record), `--copies`
times over as many files (distinct URLs), so both tools can use `--workers` processes.
Same extraction settings on both sides: trafilatura with comments excluded, `fast=True`, no
precision bias and no deduplication (datatrove's Trafilatura step is given exactly these, and a
per-page timeout long enough never to drop a page on a loaded machine).

Each round runs, interleaved: ours with trafilatura, datatrove, datatrove given the language
step our ingest runs on every page (lingua on the first 400 characters, as a datatrove filter that
keeps every document; datatrove's own LanguageFilter needs a fastText model from the network), ours
with the resiliparse profile, and the floors: trafilatura alone (the same call on the decoded pages in `--workers`
processes, nothing else) and FastWARC alone (every record read, no HTTP parsing or extraction).
Prints the median and spread (min-max) of pages/s over the rounds, the ratios ours / datatrove
of the medians, the article-body F1 of each tool's text (upstream shingle metric), and how far
ours is above the floor. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fastwarc.warc import ArchiveIterator as FastIterator
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scanner import api
from scanner.corpus.extract import extract_main_text
from scanner.corpus.fields import FieldMap
from scanner.corpus.text_stats import detect_language
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


def run_ours(
    files: list[Path], workdir: Path, workers: int, extractor: str = "trafilatura"
) -> tuple[float, dict[str, str]]:
    store_path = workdir / f"bench-{extractor}.duckdb"
    store_path.unlink(missing_ok=True)
    start = time.perf_counter()
    with Store.open(store_path, hold_lock=False) as store:  # as the CLI opens it
        api.ingest(store, [(f, "bench", FieldMap()) for f in files], workers=workers, extractor=extractor)
    elapsed = time.perf_counter() - start
    with Store.open(store_path, read_only=True) as store:
        rows = store.query("SELECT d.url, t.text FROM documents d LEFT JOIN texts t USING (text_sha256)")
    return elapsed, {r["url"]: r["text"] or "" for r in rows.to_pylist()}


def with_language(doc) -> bool:
    """Our ingest's language step on a datatrove document; keeps every document."""
    doc.metadata["language"] = detect_language(doc.text)
    return True


def run_datatrove(
    folder: Path, workdir: Path, workers: int, tasks: int, language: bool = False
) -> tuple[float, dict[str, str]]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LambdaFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    out = workdir / "datatrove-out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(workdir / "datatrove-logs", ignore_errors=True)
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(folder), glob_pattern="*.warc.gz"),
            Trafilatura(favour_precision=False, deduplicate=False, timeout=60, fast=True),
            *([LambdaFilter(with_language)] if language else []),
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


def _pages(files: list[Path]) -> list[bytes]:
    return [e.payload for f in files for e in iter_entries(f) if e.type == "response"]


def _extract_all(pages: list[bytes]) -> int:
    return sum(extract_main_text(p) is not None for p in pages)


def floor_trafilatura(files: list[Path], workers: int) -> float:
    """Seconds for trafilatura alone, same settings, on the decoded pages in `workers` processes."""
    pages = _pages(files)
    chunks = [pages[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_extract_all, [[b"<html></html>"]] * workers))  # warm: imports, not timed
        start = time.perf_counter()
        list(pool.map(_extract_all, chunks))
        return time.perf_counter() - start


def floor_fastwarc(files: list[Path]) -> float:
    """Seconds for FastWARC alone: every record of every file read, nothing parsed."""
    start = time.perf_counter()
    for f in files:
        with f.open("rb") as fh:
            for rec in FastIterator(fh, parse_http=False):
                rec.reader.read()
    return time.perf_counter() - start


def _line(name: str, pages: int, secs: list[float], extra: str = "") -> float:
    rates = [pages / s for s in secs]
    med = statistics.median(rates)
    print(
        f"{name:28s} {med:8.1f} pages/s  (min {min(rates):.1f}, max {max(rates):.1f} over {len(rates)} rounds){extra}"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = workdir / "warc"
        folder.mkdir()
        truth = build_input(args.ext, folder, args.copies)
        files = sorted(folder.glob("*.warc.gz"))
        n = len(truth)
        names = ("ours", "datatrove", "datatrove+language", "resiliparse", "trafilatura", "fastwarc")
        times: dict[str, list[float]] = {k: [] for k in names}
        texts: dict[str, dict[str, str]] = {}
        for _ in range(args.rounds):
            times["ours"].append((r := run_ours(files, workdir, args.workers))[0])
            texts["ours"] = r[1]
            times["datatrove"].append((r := run_datatrove(folder, workdir, args.workers, tasks=len(files)))[0])
            texts["datatrove"] = r[1]
            times["datatrove+language"].append(run_datatrove(folder, workdir, args.workers, len(files), True)[0])
            times["resiliparse"].append((r := run_ours(files, workdir, args.workers, "resiliparse"))[0])
            texts["resiliparse"] = r[1]
            times["trafilatura"].append(floor_trafilatura(files, args.workers))
            times["fastwarc"].append(floor_fastwarc(files))
        f1 = {k: shingle_f1(truth, v)[0] for k, v in texts.items()}
        print(f"input: {n} real pages in {len(files)} WARC files, {args.workers} processes each, {args.rounds} rounds")
        ours = _line("ours (trafilatura)", n, times["ours"], f"  F1 {f1['ours']:.3f}  into the DuckDB store")
        peer = _line("datatrove (trafilatura)", n, times["datatrove"], f"  F1 {f1['datatrove']:.3f}  to JSONL")
        same = _line("datatrove + our language step", n, times["datatrove+language"], "  to JSONL")
        fast = _line("ours (resiliparse)", n, times["resiliparse"], f"  F1 {f1['resiliparse']:.3f}  into the store")
        floor = _line("floor: trafilatura alone", n, times["trafilatura"])
        _line("floor: FastWARC alone", n, times["fastwarc"])
        print(f"ratio ours/datatrove (trafilatura): {ours / peer:.2f}x")
        print(f"ratio ours/datatrove with the same language step (like for like): {ours / same:.2f}x")
        print(f"ratio ours/datatrove (resiliparse profile vs datatrove's trafilatura): {fast / peer:.2f}x")
        print(f"ours (trafilatura) at {ours / floor:.0%} of the trafilatura-alone floor")
        reader_speed(files)


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


if __name__ == "__main__":
    main()
