"""`provenance dedup`: exact duplicates, then MinHash + LSH near-duplicate clusters in the store.

Signatures are stored, so a later run only computes those of new documents; the band join runs in
DuckDB and connected components in scipy, both over all signatures (cheap next to hashing).
Results are deterministic: cluster ids are the smallest member id, and the representative is the
member with the most tokens, then the earliest fetched, then the smallest id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from scanner.dedup.lsh import bands_for, candidate_edges
from scanner.dedup.minhash import (
    NUM_PERM,
    SEED,
    SHINGLE_WORDS,
    estimated_jaccard,
    permutations,
    signature_pool,
    start_signatures,
)
from scanner.store import Store, reports

BATCH = 10_000  # documents hashed and stored per step (about 30 MB of text)


def params_key(num_perm: int, seed: int, n: int, profile: str = "fast") -> str:
    """What a stored signature was made with: signatures of different keys are never compared."""
    return f"{profile}-affine32/{num_perm}/seed{seed}/words{n}"


def dedup(
    store: Store,
    *,
    threshold: float = 0.8,
    num_perm: int = NUM_PERM,
    seed: int = SEED,
    n: int = SHINGLE_WORDS,
    verify: bool = True,
    profile: str = "fast",
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> dict:
    run_id = store.start_run(
        "dedup", {"threshold": threshold, "num_perm": num_perm, "seed": seed, "words": n, "profile": profile}
    )
    params = params_key(num_perm, seed, n, profile)
    perms = permutations(num_perm, seed)
    computed = 0
    pool = None  # started at the second batch: a small store never pays the workers' start-up
    pending: deque = deque()  # (doc ids, started signatures): the pool hashes while we write

    def write_oldest() -> None:
        doc_ids, started = pending.popleft()
        sigs = started()
        store.insert(
            "dedup_signatures",
            pa.table(
                {
                    "doc_id": doc_ids,
                    "params": pa.repeat(params, len(doc_ids)),
                    "signature": pa.FixedSizeBinaryArray.from_buffers(
                        pa.binary(4 * num_perm), len(sigs), [None, pa.py_buffer(sigs.astype("<u4").tobytes())]
                    ).cast(pa.binary()),
                }
            ),
        )
        if progress:
            progress(len(doc_ids), 0)

    try:
        for k, batch in enumerate(reports.signatures_missing(store, params, BATCH)):
            if k == 1:
                pool = signature_pool(workers)
            pending.append(
                (
                    batch.column("doc_id"),
                    start_signatures(batch.column("text"), num_perm, seed, n, perms, profile, pool),
                )
            )
            computed += batch.num_rows
            if len(pending) > 1:
                write_oldest()
        while pending:
            write_oldest()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    facts = reports.representative_facts(store)
    exact = _exact(store, facts, run_id)
    table = reports.all_signatures(store, params)
    ids = table.column(0).to_pylist()
    sigs = _matrix(table.column(1), num_perm)
    b, r = bands_for(threshold, num_perm)
    near = _near(store, ids, sigs, b, r, threshold if verify else 0.0, facts, run_id)
    stats = {
        "signatures_computed": computed,
        "documents": len(ids),
        "bands": b,
        "rows": r,
        "threshold": threshold,
        **exact,
        **near,
    }
    store.finish_run(run_id, "ok", stats, [])
    return stats


def _matrix(blobs: pa.ChunkedArray, num_perm: int) -> np.ndarray:
    """Stored signature blobs (each num_perm little-endian uint32) as one matrix, without copying
    each blob through Python."""
    if len(blobs) == 0:
        return np.zeros((0, num_perm), dtype=np.uint32)
    blobs = blobs.combine_chunks()
    offsets = np.frombuffer(blobs.buffers()[1], dtype=np.int32)[blobs.offset : blobs.offset + len(blobs) + 1]
    data = np.frombuffer(blobs.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].view("<u4").reshape(len(blobs), num_perm).astype(np.uint32)


def _exact(store: Store, facts: dict, run_id: str) -> dict:
    rows = []
    for members in reports.exact_groups(store):
        rep = _representative(members, facts)
        rows += [
            {
                "method": "exact",
                "doc_id": d,
                "cluster_id": members[0],
                "is_representative": d == rep,
                "similarity": 1.0,
                "run_id": run_id,
            }
            for d in members
        ]
    store.replace_clusters("exact", rows)
    return {
        "exact_clusters": len({r["cluster_id"] for r in rows}),
        "exact_duplicates": sum(not r["is_representative"] for r in rows),
    }


def _near(
    store: Store, ids: list[str], sigs: np.ndarray, b: int, r: int, min_sim: float, facts: dict, run_id: str
) -> dict:
    if len(ids) < 2:
        store.replace_clusters("minhash", [])
        return {"minhash_clusters": 0, "near_duplicates": 0, "candidate_pairs": 0}
    empty = (sigs == np.uint32(0xFFFFFFFF)).all(axis=1)  # no text: never a duplicate of anything
    src, dst = candidate_edges(store, sigs, b, r, skip=empty)
    if len(src) == 0:
        store.replace_clusters("minhash", [])
        return {"minhash_clusters": 0, "near_duplicates": 0, "candidate_pairs": 0}
    sim = estimated_jaccard(sigs[src], sigs[dst])
    ok = sim >= min_sim
    graph = coo_matrix((np.ones(ok.sum()), (src[ok], dst[ok])), shape=(len(ids), len(ids)))
    _, labels = connected_components(graph, directed=False)
    linked = np.unique(np.concatenate([src[ok], dst[ok]]))  # documents with at least one kept edge
    order = linked[np.argsort(labels[linked], kind="stable")]
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    rows = []
    for group in np.split(order, bounds) if len(order) else []:
        by_id = {ids[i]: i for i in group}
        members = sorted(by_id)
        rep = _representative(members, facts)
        rep_sig = sigs[by_id[rep]]
        for d in members:
            rows.append(
                {
                    "method": "minhash",
                    "doc_id": d,
                    "cluster_id": members[0],
                    "is_representative": d == rep,
                    "similarity": float(estimated_jaccard(sigs[by_id[d]], rep_sig)),
                    "run_id": run_id,
                }
            )
    store.replace_clusters("minhash", rows)
    return {
        "minhash_clusters": len({r["cluster_id"] for r in rows}),
        "near_duplicates": sum(not r["is_representative"] for r in rows),
        "candidate_pairs": len(src),
    }


def _representative(members: list[str], facts: dict) -> str:
    """Most tokens, then earliest fetched, then smallest id: stable across runs."""

    def key(d: str):
        tokens, fetched = facts.get(d, (0, None))
        return (-tokens, fetched.timestamp() if fetched else float("inf"), d)

    return min(members, key=key)
