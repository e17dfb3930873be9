"""LSH banding: (b, r) for a threshold, band keys, and candidate pairs from the band join.

Two documents are candidates when all r values of one of their b bands are equal. Keys hash a
band's values into 64 bits (with the band number, so one column identifies band and values).
The rows go to DuckDB batch by batch (`scanner/store/dedup_work.py`), which groups them with
spilling, so memory stays flat however large the corpus. Keys are computed where the signatures
are (`scanner.dedup.minhash.sign_part`, in a worker process), so this module imports numpy alone
at the top: a worker never loads Arrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scanner.dedup.minhash import EMPTY, fmix64

if TYPE_CHECKING:
    import pyarrow as pa


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
        return fmix64(acc).reshape(len(sigs), b)


def band_rows(sigs: np.ndarray, docs: np.ndarray, b: int, r: int, keys: np.ndarray | None = None) -> pa.Table:
    """(band, key, doc) rows of a batch of signatures for the band join (`keys`: their band keys,
    if already computed). Rows of signatures with no text (all values at the maximum) are left
    out: an empty document pairs with nothing."""
    import pyarrow as pa

    keys = band_keys(sigs, b, r) if keys is None else keys
    keep = ~(sigs == EMPTY).all(axis=1)
    keys, docs = keys[keep], docs[keep]
    return pa.table(
        {
            "band": np.tile(np.arange(b, dtype=np.int16), len(keys)),
            "key": keys.reshape(-1),
            "doc": np.repeat(docs.astype(np.int64), b),
        }
    )
