"""Dedup benchmark: our MinHash signatures against datasketch `MinHash.bulk` on the same shingles,
our whole dedup (signatures -> DuckDB band join -> scipy components -> store), and the band join
plus components alone at a larger scale.

    python bench/dedup_bench.py [--docs 20000]

The corpus is generated here (`make_corpus`): documents of ~3 KB drawn from a Zipf vocabulary,
20 % of them in planted families of near-duplicates with known edit rates (as in
../shared/spec/dedup-notes.md §2.1). Peers run on the same corpus in the same run when installed:

    pip install datatrove tokenizers spacy orjson          # (the dev extra has datatrove)
    pip install --no-deps text-dedup==0.4.0 && pip install click-option-group ftfy regex xxhash

(text-dedup's declared dependencies pull pyspark and a pinned urllib3; its MinHash script needs
none of them.)
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from datasketch import MinHash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scanner.corpus.records import document_row
from scanner.dedup.clusters import dedup
from scanner.dedup.minhash import fast_shingles, shingle_hash, shingles, signatures
from scanner.store import Store


def _word(i: int) -> str:
    letters = ""
    i += 26**5  # six letters or more: documents of ~3 KB, as in the issue
    while i:
        i, r = divmod(i, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[r]
    return letters


def make_corpus(n: int, seed: int = 5) -> list[str]:
    rnd = random.Random(seed)
    vocab = [_word(i) for i in range(50_000)]  # letters only: datatrove's normaliser folds digits
    weights = [1 / (i + 1) for i in range(len(vocab))]
    docs: list[str] = []
    while len(docs) < n:
        words = rnd.choices(vocab, weights, k=rnd.randint(250, 560))
        docs.append(" ".join(words))
        if rnd.random() < 0.2:  # a family of 1-4 near-duplicates
            for _ in range(rnd.randint(1, 4)):
                rate = 0.0 if rnd.random() < 0.1 else rnd.uniform(0, 0.06 if rnd.random() < 0.7 else 0.2)
                variant = [rnd.choice(vocab) if rnd.random() < rate else w for w in words]
                docs.append(" ".join(variant))
    return docs[:n]


def datatrove_dedup(docs: list[str], tmp: Path) -> tuple[float, int] | None:
    """datatrove's four MinHash stages on the same corpus (needs datatrove, tokenizers, spacy)."""
    try:
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.dedup.minhash import (
            MinhashConfig,
            MinhashDedupBuckets,
            MinhashDedupCluster,
            MinhashDedupFilter,
            MinhashDedupSignature,
        )
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.pipeline.writers import JsonlWriter
    except ImportError as exc:
        print(f"dedup       datatrove not available ({exc}): pip install datatrove tokenizers spacy orjson")
        return None
    import json

    src = tmp / "dt-in"
    src.mkdir()
    (src / "docs.jsonl").write_text("".join(json.dumps({"id": str(i), "text": d}) + "\n" for i, d in enumerate(docs)))
    from datatrove.utils.hashing import HashConfig

    # sha1 (as FineWeb): datatrove's default xxhash64 path fails with the installed xxhash (str input)
    cfg = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8, hash_config=HashConfig(hash_fc="sha1"))
    logs = str(tmp / "dt-logs")
    t = time.perf_counter()
    LocalPipelineExecutor(
        [JsonlReader(str(src)), MinhashDedupSignature(str(tmp / "dt-sig"), config=cfg)], tasks=1, logging_dir=logs + "1"
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupBuckets(str(tmp / "dt-sig"), str(tmp / "dt-buckets"), config=cfg)],
        tasks=cfg.num_buckets,
        workers=1,
        logging_dir=logs + "2",
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupCluster(str(tmp / "dt-buckets"), str(tmp / "dt-remove"), config=cfg)],
        tasks=1,
        logging_dir=logs + "3",
    ).run()
    LocalPipelineExecutor(
        [
            JsonlReader(str(src)),
            MinhashDedupFilter(str(tmp / "dt-remove")),
            JsonlWriter(str(tmp / "dt-out"), compression=None),
        ],
        tasks=1,
        logging_dir=logs + "4",
    ).run()
    elapsed = time.perf_counter() - t
    kept = sum(len(f.read_text().splitlines()) for f in (tmp / "dt-out").glob("*.jsonl"))
    return elapsed, len(docs) - kept


def textdedup_dedup(docs: list[str], tmp: Path) -> tuple[float, int] | None:
    """text-dedup 0.4.0's MinHash script (xxh3, 16×8, one process) on the same corpus."""
    try:
        import datasets
        import text_dedup  # noqa: F401
    except ImportError as exc:
        print(f"dedup       text-dedup not available ({exc}): see this file's docstring")
        return None
    datasets.Dataset.from_dict({"text": docs}).save_to_disk(str(tmp / "td-in"))
    args = ["--path", str(tmp / "td-in"), "--local", "--output", str(tmp / "td-out"), "--column", "text"]
    args += ["--b", "16", "--r", "8", "--num_perm", "128", "--ngram", "5", "--hash_func", "xxh3", "--num_proc", "1"]
    args += ["--min_length", "0", "--cache_dir", str(tmp / "td-cache")]
    env = {**os.environ, "COLUMNS": "250"}  # rich must not wrap its timer lines
    run = subprocess.run([sys.executable, "-m", "text_dedup.minhash", *args], capture_output=True, text=True, env=env)
    log = run.stdout + run.stderr
    total = re.search(r"Total\s*:\s*([0-9.]+)s", log)  # its own timer: excludes interpreter start-up
    after = re.search(r"After\s*:\s*([0-9]+)", log)
    if run.returncode or not total or not after:
        print(f"dedup       text-dedup failed: {log[-500:]}")
        return None
    return float(total.group(1)), len(docs) - int(after.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    args = ap.parse_args()
    docs = make_corpus(args.docs)
    mb = sum(len(d) for d in docs) / 1e6
    print(f"corpus: {len(docs)} generated documents, {mb:.0f} MB")

    column = pa.array(docs, pa.large_string())  # as the store hands texts to `provenance dedup`
    t = time.perf_counter()
    ours = signatures(column)
    ours_t = time.perf_counter() - t
    t = time.perf_counter()
    ours_sha1 = signatures(column, profile="sha1")
    sha1_t = time.perf_counter() - t
    t = time.perf_counter()
    theirs = MinHash.bulk([shingles(d) for d in docs], num_perm=128)
    peer_t = time.perf_counter() - t
    assert all(np.array_equal(a, m.hashvalues) for a, m in zip(ours_sha1, theirs, strict=True))
    for i in range(0, len(docs), max(1, len(docs) // 100)):  # the fast profile, through datasketch itself
        m = MinHash(num_perm=128, hashfunc=shingle_hash)
        m.update_batch(fast_shingles(docs[i]))
        assert np.array_equal(m.hashvalues, ours[i])
    print("signatures  bit-identical: sha1 profile = MinHash.bulk; fast profile = MinHash(hashfunc=shingle_hash)")
    rate = len(docs) / ours_t
    print(
        f"signatures  ours (fast) {rate:8.0f} docs/s   ours (sha1) {len(docs) / sha1_t:8.0f} docs/s   "
        f"datasketch bulk {len(docs) / peer_t:8.0f} docs/s   ratio ours/datasketch {peer_t / ours_t:.1f}x "
        f"(sha1 profile {peer_t / sha1_t:.1f}x)"
    )

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "d.duckdb") as store:
        store.insert("texts", [{"text_sha256": f"{i:064x}", "text": d} for i, d in enumerate(docs)])
        store.insert(
            "documents",
            [
                document_row(
                    doc_id=f"{i:032x}",
                    source_id="bench",
                    content_sha256=f"{i:064x}",
                    raw_bytes=len(d),
                    text_sha256=f"{i:064x}",
                    token_count=len(d.split()),
                )
                for i, d in enumerate(docs)
            ],
        )
        t = time.perf_counter()
        stats = dedup(store, threshold=0.8)
        whole = time.perf_counter() - t
        print(
            f"dedup       ours {len(docs) / whole:8.0f} docs/s end to end (store -> clusters), "
            f"{stats['near_duplicates']} near-duplicates in {stats['minhash_clusters']} clusters"
        )
        unverified = dedup(store, threshold=0.8, verify=False)["near_duplicates"]  # candidates only, as peers
        print(f"dedup       ours without the signature check (as the peers): {unverified} near-duplicates")
        for name, peer in (
            ("datatrove", datatrove_dedup(docs, Path(tmp))),
            ("text-dedup", textdedup_dedup(docs, Path(tmp))),
        ):
            if peer:
                peer_t, removed = peer
                print(
                    f"dedup       {name} {len(docs) / peer_t:8.0f} docs/s, {removed} removed   "
                    f"ratio ours/{name} {peer_t / whole:.1f}x   duplicates ours {unverified} vs {removed} "
                    f"({100 * (unverified - removed) / max(removed, 1):+.1f} %)"
                )


if __name__ == "__main__":
    main()
