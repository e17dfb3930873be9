"""`provenance dedup`: exact duplicates, then MinHash + LSH near-duplicate clusters in the store.

Signatures are stored, so a later run only computes those of new documents; the band join runs in
DuckDB and connected components in scipy, both over all signatures (cheap next to hashing).
Results are deterministic: cluster ids are the smallest member id, and the representative is the
member with the most tokens, then the earliest fetched, then the smallest id.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from scanner.dedup.minhash import (
    NUM_PERM,
    SEED,
    SHINGLE_WORDS,
    band_keys,
    bands_for,
    estimated_jaccard,
    permutations,
    signatures,
)
from scanner.store import Store, reports

BATCH = 2000


def params_key(num_perm: int, seed: int, n: int) -> str:
    return f"sha1-affine32/{num_perm}/seed{seed}/words{n}"


def dedup(
    store: Store,
    *,
    threshold: float = 0.8,
    num_perm: int = NUM_PERM,
    seed: int = SEED,
    n: int = SHINGLE_WORDS,
    verify: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    run_id = store.start_run("dedup", {"threshold": threshold, "num_perm": num_perm, "seed": seed, "words": n})
    params = params_key(num_perm, seed, n)
    perms = permutations(num_perm, seed)
    computed = 0
    while batch := reports.signatures_missing(store, params, BATCH):
        sigs = signatures([r["text"] for r in batch], num_perm, seed, n, perms)
        store.insert(
            "dedup_signatures",
            [
                {"doc_id": r["doc_id"], "params": params, "signature": s.astype("<u4").tobytes()}
                for r, s in zip(batch, sigs, strict=True)
            ],
        )
        computed += len(batch)
        if progress:
            progress(len(batch), 0)
    facts = reports.representative_facts(store)
    exact = _exact(store, facts, run_id)
    table = reports.all_signatures(store, params)
    ids = table.column(0).to_pylist()
    sigs = (
        np.frombuffer(b"".join(table.column(1).to_pylist()), dtype="<u4").reshape(len(ids), num_perm)
        if ids
        else np.zeros((0, num_perm), dtype=np.uint32)
    )
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
    keys = band_keys(sigs, b, r)
    empty = (sigs == np.uint32(0xFFFFFFFF)).all(axis=1)  # no text: never a duplicate of anything
    doc = np.repeat(np.arange(len(ids)), b)
    band = np.tile(np.arange(b), len(ids))
    keep = ~np.repeat(empty, b)
    table = pa.table({"doc": doc[keep], "band": band[keep], "key": keys.reshape(-1)[keep]})
    edges = reports.band_edges(store, table)
    if edges.num_rows == 0:
        store.replace_clusters("minhash", [])
        return {"minhash_clusters": 0, "near_duplicates": 0, "candidate_pairs": 0}
    src = edges.column(0).to_numpy()
    dst = edges.column(1).to_numpy()
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
