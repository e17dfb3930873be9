"""Dedup benchmark: our MinHash signatures against datasketch `MinHash.bulk` on the same shingles,
our whole dedup (signatures -> DuckDB band join -> scipy components -> store), and the band join
plus components alone at a larger scale.

    python bench/dedup_bench.py [--docs 20000] [--join-docs 1000000]

The corpus is generated here (`make_corpus`): documents of ~3 KB drawn from a Zipf vocabulary,
20 % of them in planted families of near-duplicates with known edit rates (as in
../shared/spec/dedup-notes.md §2.1). datatrove's and text-dedup's MinHash stages are not run here
(not installed in this environment); the notes record them at 1,292 and 1,259 docs/s on this
kind of machine.
"""

from __future__ import annotations

import argparse
import random
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
from scanner.dedup.minhash import band_keys, shingles, signatures
from scanner.store import Store, reports


def _word(i: int) -> str:
    letters = ""
    i += 26 * 27  # at least three letters
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--join-docs", type=int, default=1_000_000)
    args = ap.parse_args()
    docs = make_corpus(args.docs)
    mb = sum(len(d) for d in docs) / 1e6

    t = time.perf_counter()
    ours = signatures(docs)
    ours_t = time.perf_counter() - t
    t = time.perf_counter()
    theirs = MinHash.bulk([shingles(d) for d in docs], num_perm=128)
    peer_t = time.perf_counter() - t
    assert all(np.array_equal(a, m.hashvalues) for a, m in zip(ours, theirs, strict=True))
    print(f"corpus: {len(docs)} generated documents, {mb:.0f} MB; signatures bit-identical")
    print(
        f"signatures  ours {len(docs) / ours_t:8.0f} docs/s   datasketch bulk {len(docs) / peer_t:8.0f} docs/s   "
        f"ratio ours/datasketch {peer_t / ours_t:.2f}x"
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

        unverified = dedup(store, threshold=0.8, verify=False)  # candidates only, as datatrove
        print(f"dedup       ours without the signature check: {unverified['near_duplicates']} near-duplicates")
        peer = datatrove_dedup(docs, Path(tmp))
        if peer:
            peer_t, removed = peer
            print(
                f"dedup       datatrove {len(docs) / peer_t:8.0f} docs/s (4 MinHash stages, 16×8, spaCy words), "
                f"{removed} removed   ratio ours/datatrove {peer_t / whole:.2f}x   "
                f"duplicates ours {stats['near_duplicates']} vs datatrove {removed}"
            )

        rng = np.random.default_rng(3)
        sigs = rng.integers(0, 2**32, size=(args.join_docs, 128), dtype=np.uint64).astype(np.uint32)
        sigs[1::50] = sigs[0::50][: len(sigs[1::50])]  # planted duplicates: 2 % of documents
        t = time.perf_counter()
        keys = band_keys(sigs, 16, 8)
        table = pa.table(
            {
                "doc": np.repeat(np.arange(len(sigs)), 16),
                "band": np.tile(np.arange(16), len(sigs)),
                "key": keys.reshape(-1),
            }
        )
        edges = reports.band_edges(store, table)
        join = time.perf_counter() - t
        print(
            f"band join   ours {args.join_docs / join:8.0f} docs/s at {args.join_docs} documents "
            f"({edges.num_rows} candidate edges)"
        )


if __name__ == "__main__":
    main()
