"""LSH banding: (b, r) for a threshold, band keys, and candidate pairs from the band join.

Two documents are candidates when all r values of one of their b bands are equal. Keys hash a
band's values into 64 bits (with the band number, so one column identifies band and values).
Most keys are unique, so before DuckDB groups them a linear-time scatter per band keeps only the
rows whose key prefix is seen at least twice; the `GROUP BY` then works on a few percent of the
rows and gives exactly the pairs it would give on all of them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from scanner.dedup.minhash import _fmix64
from scanner.store import Store, reports


def _weights(n: int) -> np.ndarray:
    """n fixed random odd 64-bit multipliers, one per step of the band hash."""
    return np.random.default_rng(0x5EED).integers(0, 1 << 63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def bands_for(threshold: float, num_perm: int) -> tuple[int, int]:
    """(b, r) with b·r = num_perm and the S-curve's knee (1/b)^(1/r) at or just below the
    threshold: the most rows that still detect pairs at the threshold (0.8 -> 16×8, 0.5 -> 32×4).
    datasketch's optimiser picks 9×13 for 0.8, which misses most pairs at exactly 0.8."""
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        if num_perm % r:
            continue
        b = num_perm // r
        if (1 / b) ** (1 / r) <= threshold:
            best = (b, r)
    return best


def band_keys(sigs: np.ndarray, b: int, r: int) -> np.ndarray:
    """(docs, b) uint64 keys: each band's r values (and the band number) mixed into 64 bits.
    Pairs of uint32 values are read as one uint64, so an 8-row band takes four mixing steps."""
    rows = np.ascontiguousarray(sigs[:, : b * r], dtype=np.uint32).reshape(-1, r)
    words = rows.view(np.uint64) if r % 2 == 0 else rows
    weights = _weights(words.shape[1])
    with np.errstate(over="ignore"):
        acc = np.tile(np.arange(1, b + 1, dtype=np.uint64), len(sigs))  # the band number seeds the hash
        for j in range(words.shape[1]):  # xor, multiply, fold: one value at a time
            acc ^= words[:, j].astype(np.uint64, copy=False)
            acc *= weights[j]
            acc ^= acc >> np.uint64(29)
        return _fmix64(acc).reshape(len(sigs), b)


def maybe_shared(keys: np.ndarray) -> np.ndarray:
    """(docs, b) mask of rows whose key may occur twice in its band: a superset of the shared
    keys, found in linear time by scattering row numbers into a table indexed by key prefix
    (about n/16 unrelated rows survive)."""
    n, b = keys.shape
    bits = int(min(27, max(16, np.ceil(np.log2(max(n, 2))) + 4)))
    slot = np.empty(1 << bits, dtype=np.int32)
    hit = np.zeros(1 << bits, dtype=bool)
    order = np.arange(n, dtype=np.int32)
    out = np.empty((n, b), dtype=bool)
    for band in range(b):
        idx = (keys[:, band] >> np.uint64(64 - bits)).astype(np.intp)
        slot[idx] = order  # the last row per prefix wins
        taken = idx[slot[idx] != order]  # prefixes with an earlier row too
        hit[taken] = True
        out[:, band] = hit[idx]
        hit[taken] = False
    return out


def candidate_edges(store: Store, sigs: np.ndarray, b: int, r: int, skip: np.ndarray | None = None):
    """Star edges (bucket's smallest row -> each other member) of the band join, as two numpy
    arrays of row numbers. `skip` marks rows that never pair (empty texts)."""
    keys = band_keys(sigs, b, r)
    mask = maybe_shared(keys)
    if skip is not None:
        mask[skip] = False
    doc, band = np.nonzero(mask)
    table = pa.table({"doc": doc.astype(np.int64), "band": band.astype(np.int16), "key": keys[doc, band]})
    edges = reports.band_edges(store, table)
    return edges.column(0).to_numpy(), edges.column(1).to_numpy()
