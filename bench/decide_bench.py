"""Decision benchmark: `provenance decide` over synthetic documents with real robots.txt evidence.

    python bench/decide_bench.py [--ext ../shared/ext] [--docs 1000000] [--origins 10000] [--runs 2] [--no-check]
                                 [--store PATH]

Builds a store in a temporary folder: `--origins` origins, each given one of the 4,231 real
robots.txt files of protego's corpus as evidence (round robin), and `--docs` documents spread
over them with varied paths (each robots.txt compiled as it is stored, as every writer does).
Then times `decide_documents` (policy any-ai-trainer, each document as of its fetch time) and
prints documents/s, the seconds per phase, and the floor (writing the same narrow rows with no
decision work); and `check` on a warm `Checker` (the hook: every
origin's evidence loaded, each URL new), calls/s, next to deciding each URL from the evidence
index afresh. The peer here is the work itself: no other open tool makes these decisions.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tarfile
import tempfile
import time
from collections import OrderedDict
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scanner import api
from scanner.corpus.records import sha256_hex
from scanner.decide import cache, decide, make_policy
from scanner.decide.rules import compile_missing
from scanner.evidence import EvidenceIndex, Observation, write_observations
from scanner.hook.checker import Checker
from scanner.hook.shapes import outcome_fields, readdressed
from scanner.store import Store
from tests._documents import crawled

PATHS = ["/", "/news/2024/a.html", "/search?q=x", "/wp-admin/", "/private/data", "/img/a.jpg", "/about"]


def build(store: Store, ext: Path, n_docs: int, n_origins: int) -> None:
    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in tar if m.isfile()]
    seen = datetime(2025, 1, 1, tzinfo=UTC)
    obs = []
    for i in range(n_origins):
        body = bodies[i % len(bodies)]
        url = f"https://site{i}.example/robots.txt"
        obs.append((body, Observation(sha256_hex(body), "robots.txt", url, seen, "import", 200)))
        if len(obs) >= 2000:
            write_observations(store, obs)
            obs = []
    write_observations(store, obs)
    rnd = random.Random(7)
    batch = []
    for d in range(n_docs):
        origin = rnd.randrange(n_origins)
        batch.append(
            crawled(
                d,
                f"site{origin}.example",
                f"{rnd.choice(PATHS)}{d}",
                seen + timedelta(hours=1),
                source_id="bench",
                raw_bytes=1000,
                token_count=100,
                content_type="text/html",
            )
        )
        if len(batch) >= 100_000:
            store.write_documents(batch)
            batch = []
    store.write_documents(batch)


def write_floor(store: Store) -> tuple[float, float]:
    """Seconds DuckDB takes to write one narrow decision row (doc_id, outcome, set_id) per
    document, the stored shape, with no decision work at all: what bounds `decide` on this
    machine whatever the decisions cost."""
    store.query("CREATE TABLE floor_decisions AS SELECT * FROM decision_rows LIMIT 0")
    outcome = "0" * 32
    t, cpu = time.perf_counter(), time.process_time()
    with store.transaction():
        store.query(
            f"INSERT INTO floor_decisions SELECT doc_id, '{outcome}' AS outcome, 'run' AS set_id FROM documents"
        )
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    store.query("DROP TABLE floor_decisions")
    return elapsed, cpu


def check_floor(urls: list[str], template) -> float:
    """Seconds for the least any memoising `check` does per new URL (no URL split, no rules)."""
    memo: OrderedDict = OrderedDict()

    def answer(url: str, agent=None, *, policy=None, as_of=None):
        key = (url, agent, policy, as_of)
        found = memo.get(key)
        if found is None:
            found = memo[key] = readdressed(outcome_fields(template), url + "#")
        return found

    t = time.perf_counter()
    for url in urls:
        answer(url)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--origins", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1, help="decide runs, each on a fresh copy of the decisions")
    ap.add_argument("--no-check", action="store_true", help="decide only, not the hook's check")
    ap.add_argument(
        "--store",
        type=Path,
        help="keep the filled store here and reuse it when it exists (built for the same --docs and --origins)",
    )
    args = ap.parse_args()
    with ExitStack() as stack:
        path = args.store or Path(stack.enter_context(tempfile.TemporaryDirectory())) / "bench.duckdb"
        reuse = path.exists()
        store = stack.enter_context(Store.open(path))
        if reuse:  # files stored by another compiler version are compiled now, as a fresh build compiles them
            print(f"reused: {path} (recompiled {compile_missing(store)} robots.txt files)")
        else:
            t = time.perf_counter()
            build(store, args.ext, args.docs, args.origins)
            print(
                f"built: {args.docs} documents over {args.origins} origins with real robots.txt "
                f"in {time.perf_counter() - t:.1f} s"
            )
        for run in range(args.runs):
            if run or reuse:  # the same work again: no decisions stored yet, parse caches cold
                store.query("DELETE FROM decision_rows; DELETE FROM decision_sets; DELETE FROM decision_outcomes")
                cache.clear()
            t, cpu = time.perf_counter(), time.process_time()
            stats = api.decide_documents(store, "any-ai-trainer")
            elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
            print(
                f"decide   {args.docs / elapsed:10.0f} documents/s  ({elapsed:.1f} s; "
                f"allowed {stats['allowed']}, "
                f"reserved {stats['reserved']}, unknown {stats['unknown']}; load average {os.getloadavg()[0]:.1f})"
            )
            print(f"         {args.docs / cpu:10.0f} documents/CPU-s ({cpu:.1f} CPU-s, DuckDB's threads included)")
            for name in ("seconds", "cpu_seconds"):
                print(f"         {name} per phase: " + ", ".join(f"{k} {v:.2f}" for k, v in stats[name].items()))
            if "views" in stats:  # read in a thread during `keys`, its CPU counted there
                print(
                    f"         decision views: {stats['views']['files']} files read in "
                    f"{stats['views']['thread_cpu_seconds']:.2f} CPU-s, overlapping the keys"
                )
            floor, floor_cpu = write_floor(store)
            print(
                f"floor    {args.docs / floor:10.0f} documents/s  (DuckDB writing the same {args.docs} narrow decision "
                f"rows with no decision work: {floor:.1f} s, {floor_cpu:.1f} CPU-s; decide / floor time "
                f"{elapsed / floor:.1f}x, CPU {cpu / floor_cpu:.1f}x)"
            )
        if args.no_check:
            return
        index = EvidenceIndex.load(store)
        policy = make_policy("any-ai-trainer")
        checker = Checker(store)
        for i in range(args.origins):  # warm: every origin's evidence and rule sets in memory
            checker.check(f"https://site{i}.example/")
        rnd = random.Random(11)
        picks = [(rnd.randrange(args.origins), rnd.choice(PATHS)) for _ in range(200_000)]
        t = time.perf_counter()
        for i, (site, path) in enumerate(picks):  # first pass: path shapes met for the first time
            checker.check(f"https://site{site}.example{path}{i}")
        first = time.perf_counter() - t
        urls = [f"https://site{site}.example{path}{i}x" for i, (site, path) in enumerate(picks)]  # all new URLs
        t = time.perf_counter()
        for url in urls:
            checker.check(url)
        warm = time.perf_counter() - t
        t = time.perf_counter()
        for url in urls:  # the same URLs again: answered from the memo
            checker.check(url)
        cached = time.perf_counter() - t
        t = time.perf_counter()
        for url in urls[:20_000]:
            decide(url, index.evidence_for(url, None), policy)
        plain = (time.perf_counter() - t) / 20_000 * len(urls)
        floor = check_floor(urls, checker.check(urls[0]))
        print(
            f"check    {len(urls) / warm:10.0f} calls/s warm (Checker: origins and path shapes seen, every URL "
            f"new; policy any-ai-trainer; first pass {len(urls) / first:.0f}/s)   evidence lookup + decide per "
            f"call {len(urls) / plain:8.0f}/s   ratio {plain / warm:.1f}x"
        )
        print(f"check    {len(urls) / cached:10.0f} calls/s with the answers cached (the same URLs again)")
        print(
            f"floor    {len(urls) / floor:10.0f} calls/s  (a function that only memoises each new URL's answer: "
            f"the key, a dict probe, one re-addressed decision; check / floor time {warm / floor:.1f}x)"
        )


if __name__ == "__main__":
    main()
